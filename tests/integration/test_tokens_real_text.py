"""`count_tokens` on real web text (../shared/data; moved from tests/unit/test_tokens_fast.py, issue 28):
every count equals the length of the tokenizer's own encoding."""

from __future__ import annotations

import pytest

import tests.unit.test_tokens_fast as fast_counts
from tiers import tokens
from tiers.tokens import count_tokens

tokenizer, counter = fast_counts.tokenizer, fast_counts.counter  # the unit tests' fixtures
adversarial, encoded, fast_share = fast_counts.adversarial, fast_counts.encoded, fast_counts.fast_share


@pytest.mark.shared_data
def test_real_web_text(tokenizer, counter):
    from tests.helpers import dolma_texts

    texts = [text for text in dolma_texts() if text]
    assert len(texts) >= 600
    assert fast_share(counter, texts) > 0.95
    counts, expected = count_tokens(texts), encoded(tokenizer, texts)
    for text, count, want in zip(texts, counts, expected):
        assert count == want, text[:200]
    assert sum(expected) > 500_000


@pytest.mark.shared_data
def test_compiled_byte_pair_counts_equal_the_model_on_every_byte_and_real_pieces(tokenizer):
    import json

    from tests.helpers import dolma_texts
    from tiers.bpe import BytePairCounts

    byte_pairs = BytePairCounts.of(json.loads(tokenizer.to_str())["model"], tokens._BYTE_LEVEL_CHARS)
    split = tokens._split_counter(tokens.DEFAULT_TOKENIZER).pieces
    pieces = sorted(
        {piece for text in [*dolma_texts()[:200], *adversarial(300, seed=4)] if text for piece in split(text)}
    )
    pieces += [bytes([b]).decode("latin-1") for b in range(256)] + ["a\x04b", "\x00", " \x1f\x1f", "a" * 300]

    def model_count(piece: str) -> int:
        return len(
            tokenizer.model.tokenize(piece.encode("utf-8").decode("latin-1").translate(tokens._BYTE_LEVEL_TABLE))
        )

    assert byte_pairs.counts(pieces) == [model_count(piece) for piece in pieces]
