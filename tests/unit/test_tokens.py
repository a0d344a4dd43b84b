"""The SmolLM2 tokenizer rebuilt from the GGUF gives llama.cpp's own token ids (an independent
implementation reading the same file), and a tokenizer.json named in config counts the same."""

from __future__ import annotations

import pytest

from tiers.tokens import TokenizerError, count_tokens, encode, load_tokenizer, resolve_spec

SAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "Prices rose 12.5% in 2023, from $1,234 to $1,388.",
    "naïve café — ünïcödé, Straße, 日本語のテキスト, русский текст, emoji 😀👍🏽",
    "  leading spaces,   runs of   spaces\n\n\nnewlines\t\ttabs and trailing   ",
    "it's we'll they've I'm you'd she's DON'T",
    "def f(x):\n    return {'a': [1, 2, 3]}  # code\n",
    "<|im_start|>user\nhello<|im_end|> special tokens are plain text here",
    "http://example.com/path?query=1&b=2 user@example.org",
    "",
]


@pytest.fixture(scope="module")
def reference():
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python (extra `llm`) is the reference encoder")
    from tiers.llm.local_model import smollm2_gguf

    return llama_cpp.Llama(smollm2_gguf(), vocab_only=True, verbose=False)


def test_ids_equal_llama_cpp(reference):
    for text in SAMPLES:
        expected = reference.tokenize(text.encode("utf-8"), add_bos=False, special=False) if text else []
        assert encode(text) == expected, text


def test_batch_counts_equal_reference(reference):
    texts = SAMPLES * 3 + [None]
    expected = [len(reference.tokenize(t.encode("utf-8"), add_bos=False, special=False)) if t else 0 for t in texts]
    assert count_tokens(texts) == expected
    assert sum(expected) > 100


def test_tokenizer_json_spec(tmp_path):
    path = tmp_path / "tokenizer.json"
    load_tokenizer().save(str(path))
    assert count_tokens(SAMPLES, str(path)) == count_tokens(SAMPLES)


def test_bad_specs(tmp_path):
    with pytest.raises(TokenizerError, match="no file"):
        resolve_spec(str(tmp_path / "missing.json"))
    with pytest.raises(TokenizerError, match="allowed"):
        resolve_spec("bert-base-uncased")


def test_the_default_tokenizer_ships_in_the_package():
    """No extra needed: the default spec names the packaged tokenizer.json, and it counts."""
    from tiers.resources import PACKAGE

    kind, path = resolve_spec("gguf:smollm2")
    assert (kind, path) == ("json", str(PACKAGE / "assets" / "smollm2_tokenizer.json"))
    assert count_tokens(["The quick brown fox jumps over the lazy dog."])[0] > 5


def test_the_packaged_tokenizer_is_the_ggufs_own(reference):
    """The shipped file is what `tokenizer_from_gguf` rebuilds from the llm extra's GGUF, byte for byte."""
    from pathlib import Path

    from tiers.llm.local_model import smollm2_gguf
    from tiers.tokens import tokenizer_from_gguf

    shipped = Path(resolve_spec("gguf:smollm2")[1]).read_text(encoding="utf-8")
    assert tokenizer_from_gguf(smollm2_gguf()).to_str() == shipped
