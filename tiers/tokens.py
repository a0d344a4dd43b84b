"""Token counting with a real tokenizer, loaded offline (ground floor: no Spark).

A tokenizer is named by a *spec*:

- `gguf:smollm2` (the default): the tokenizer embedded in the SmolLM2-135M-Instruct GGUF, shipped in the
  package as `tiers/assets/smollm2_tokenizer.json` (rebuilt from the GGUF by `tokenizer_from_gguf`; Apache-2.0,
  see tiers/assets/NOTICE.md), so counting needs nothing beyond the base install;
- `gguf:PATH`: the tokenizer embedded in any byte-level BPE GGUF (`tokenizer.ggml.model = gpt2`);
- `PATH` ending in `.json`: a Hugging Face `tokenizer.json` on local disk.

A GGUF's vocabulary and merges are read with the `gguf` package and rebuilt as a `tokenizers` BPE model
with the pre-tokenizer that llama.cpp applies for the GGUF's `tokenizer.ggml.pre`. Texts are counted
as plain text: special tokens written inside a text (`<|im_start|>`) are not parsed as one token, and
no BOS/EOS is added (llama.cpp's `tokenize(text, add_bos=False, special=False)`).

`count_tokens` does not run the whole tokenizer on every text when the tokenizer has the shape these
GGUFs get (byte-level BPE behind the GPT-2 split, optionally with each digit split off first; no
normalizer, added tokens, post-processor specials, truncation or padding): BPE sees one pre-token at a
time, so a text's count is the sum of its pre-tokens' counts. The split and the counts run in compiled
code (tiers/pretokens.py) with the tokenizer's own vocabulary and merges, each distinct pre-token counted
once while it stays cached. The split needs each character's class (letter, number, white space, other):
it is taken from `unicodedata` the first time a text holds the character, and kept only when the
tokenizer's own pre-tokenizer splits a probe of it (`_probe`) the same way (Unicode versions differ
between Python and the tokenizer's regex engine). A text holding a character that fails this check is
encoded whole, and so is every text of any other tokenizer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from tiers import pretokens
from tiers.bpe import BytePairCounts
from tiers.resources import materialize

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

DEFAULT_TOKENIZER = "gguf:smollm2"
SMOLLM2_TOKENIZER = "tiers/assets/smollm2_tokenizer.json"  # in the package (or the spark-submit zip)
GGUF_PREFIX = "gguf:"
# llama.cpp's pre-tokenizer names (tokenizer.ggml.pre) whose splitting `tokenizers` reproduces:
# gpt2's regex, with or without each digit split off first.
DIGITS_FIRST = {"smollm": True, "gpt-2": False, "gpt2": False, "default": False}
# Oniguruma's \s for Unicode text (tab to carriage return, U+0085, Zl, Zp, Zs) is the White_Space property;
# its 25 characters spelt out, rather than left to Python's idea of white space.
_SPACE = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACES = frozenset(re.findall(f"[{_SPACE}]", "".join(map(chr, range(0x3001)))))
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
# Distinct pre-tokens kept with their counts.
_CACHE_SIZE = 1 << 18
# Texts are counted in runs of about this many characters, so that only one run's code points are held at a time.
_RUN_CHARS = 1 << 22
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
        raise TokenizerError(
            f"{path}: tokenizer.ggml.model is {kind!r}; only byte-level BPE ('gpt2') GGUFs are supported"
        )
    if pre not in DIGITS_FIRST:
        raise TokenizerError(
            f"{path}: pre-tokenizer {pre!r} is not supported (supported: {', '.join(sorted(DIGITS_FIRST))}); "
            "name a tokenizer.json instead"
        )
    tokens = _gguf_strings(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in _gguf_strings(reader, "tokenizer.ggml.merges")]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if DIGITS_FIRST[pre]
        else byte_level
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def resolve_spec(spec: str) -> tuple[str, str]:
    """('gguf' | 'json', absolute path) for a tokenizer spec; raises TokenizerError when nothing is there."""
    if spec == DEFAULT_TOKENIZER:
        try:
            return "json", str(materialize(SMOLLM2_TOKENIZER, Path(tempfile.gettempdir()) / "tiers-assets"))
        except FileNotFoundError:
            raise TokenizerError(
                f"tokenizer {spec!r}: the package's own copy ({SMOLLM2_TOKENIZER}) is missing"
            ) from None
    if spec.startswith(GGUF_PREFIX):
        target, kind = spec[len(GGUF_PREFIX) :], "gguf"
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
    if (
        config.get("normalizer") is not None
        or config.get("added_tokens")
        or config.get("truncation") is not None
        or config.get("padding") is not None
        or (post is not None and post.get("type") != "ByteLevel")
        or model.get("type") != "BPE"
        or model.get("dropout") is not None
    ):
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


def unicode_class(char: str) -> int:
    """The class of `char` in the GPT-2 split, by Python's Unicode database."""
    if char in _SPACES:
        return pretokens.SPACE
    major = unicodedata.category(char)[0]
    return pretokens.LETTER if major == "L" else pretokens.NUMBER if major == "N" else pretokens.OTHER


class _SplitCounter:
    """Token counts summed over pre-tokens split and counted in compiled code (tiers/pretokens.py), for a
    tokenizer `_split_shape` recognises; characters are classed by `classify` and checked against the
    tokenizer, as the module docstring says."""

    def __init__(
        self,
        tokenizer: "Tokenizer",
        digits_first: bool,
        byte_pairs: BytePairCounts,
        classify: Callable[[str], int] = unicode_class,
    ):
        self._tokenizer = tokenizer
        self._classify = classify
        self._pieces = pretokens.PreTokenCounts(byte_pairs, digits_first, _CACHE_SIZE)
        self._lock = threading.Lock()  # the compiled loops release the GIL and write the shared cache
        self._check([chr(code) for code in range(128)])

    def _chars(self, *classes: int) -> set[str]:
        return set(map(chr, np.flatnonzero(np.isin(self._pieces.classes, classes)).tolist()))

    @property
    def agreed(self) -> set[str]:
        """Characters checked and split here as the tokenizer splits them."""
        return self._chars(pretokens.LETTER, pretokens.NUMBER, pretokens.SPACE, pretokens.OTHER)

    @property
    def disagreed(self) -> set[str]:
        """Characters whose texts are encoded whole."""
        return self._chars(pretokens.REFUSED)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each pre-token of `text`, every character of which has a class."""
        ends = self._pieces.piece_ends(pretokens.code_points([text])[0]).tolist()
        return list(zip([0, *ends], ends))

    def pieces(self, text: str) -> list[str]:
        """The pre-tokens of `text`, every character of which has been checked."""
        return [text[start:end] for start, end in self._spans(text)]

    def _same_split(self, text: str) -> bool:
        try:
            theirs = [span for _, span in self._tokenizer.pre_tokenizer.pre_tokenize_str(text)]
        except UnicodeEncodeError:  # a lone surrogate: left to encode_batch to refuse
            return False
        return theirs == self._spans(text)

    def _check(self, chars: list[str]) -> None:
        """Classes new characters, then keeps each class only where a probe of the character splits as the
        tokenizer splits it, probing in batches and halving a batch that disagrees; REFUSED otherwise."""
        classes = self._pieces.classes
        for char in chars:
            classes[ord(char)] = self._classify(char)
        pending = [chars[start : start + _PROBE_BATCH] for start in range(0, len(chars), _PROBE_BATCH)]
        while pending:
            batch = pending.pop()
            if self._same_split("".join(map(_probe, batch))):
                continue
            if len(batch) > 1:
                pending += [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
            else:
                classes[ord(batch[0])] = pretokens.REFUSED
                log.debug("U+%04X: texts holding it are encoded whole", ord(batch[0]))

    def _run_counts(self, texts: Sequence[str]) -> list[int | None]:
        codes, bounds = pretokens.code_points(list(texts))
        self._check(list(map(chr, self._pieces.unseen(codes).tolist())))
        return [None if count < 0 else count for count in self._pieces.counts(codes, bounds).tolist()]

    def counts(self, texts: Sequence[str]) -> list[int | None]:
        """Tokens per text; None for a text holding a character the tokenizer classes differently."""
        counts: list[int | None] = []
        with self._lock:
            for run in _runs(texts):
                counts += self._run_counts(run)
        return counts

    def count(self, text: str) -> int | None:
        """Tokens in `text`; None when it holds a character the tokenizer classes differently."""
        return self.counts([text])[0]


def _counting_shape(tokenizer: "Tokenizer") -> tuple[bool | None, BytePairCounts | None]:
    """(`_split_shape`, the compiled BPE tables) of a tokenizer. The tables of a tokenizer whose shape is
    recognised are kept under TOKENIZER_CACHE, named by a digest of the tokenizer's JSON and by whether
    digits are split off first: reading them back costs a tenth of parsing that JSON and building them."""
    serialized = tokenizer.to_str()
    key = hashlib.sha256(serialized.encode()).hexdigest()[:16]
    cached = {
        digits_first: TOKENIZER_CACHE / f"{key}.bpe{'-digits' if digits_first else ''}.npz"
        for digits_first in (True, False)
    }
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
    counter = _SplitCounter(tokenizer, digits_first, byte_pairs)
    if not counter.agreed.issuperset(map(chr, range(128))):
        log.warning(
            "tokenizer %s: the compiled split differs from the tokenizer's on ASCII; texts are encoded whole", spec
        )
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
