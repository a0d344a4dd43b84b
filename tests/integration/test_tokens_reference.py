"""Token counts of the real Dolma sample texts equal llama.cpp's encoding of the same GGUF."""

from __future__ import annotations

import pytest

from tests.helpers import dolma_texts
from tiers.tokens import count_tokens


def test_dolma_counts_equal_llama_cpp():
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python (extra `llm`) is the reference encoder")
    from tiers.llm.local_model import smollm2_gguf

    reference = llama_cpp.Llama(smollm2_gguf(), vocab_only=True, verbose=False)
    texts = dolma_texts()[:400]
    expected = [len(reference.tokenize(t.encode("utf-8"), add_bos=False, special=False)) for t in texts]
    assert count_tokens(texts) == expected
