"""Text helpers shared by operators and dedup: word runs, their hashes, word n-gram shingles and their
hashes, and punctuation sets. One neutral module, so neither imports the other.

Tokens are maximal runs of ASCII letters and digits or non-ASCII characters in the lower-cased
UTF-8 text; shingles are word n-grams. A word's 64-bit hash is a polynomial over its bytes passed
through the MurmurHash3 finalizer; a shingle's 32-bit hash combines the hashes of its words. The loops
are compiled (tiers/kernels.py) over one buffer for a whole batch of documents: no Python call per word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tiers import kernels

TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "…", ":", ";")

_WORD = re.compile(rb"[0-9a-z\x80-\xff]+")


def tokens(text: str) -> list[str]:
    return [w.decode("utf-8", "replace") for w in _WORD.findall(text.lower().encode("utf-8"))]


def shingles(text: str, n: int) -> list[str]:
    words = tokens(text)
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class LoweredBatch:
    """Many texts lower-cased and UTF-8 encoded into one buffer: text i is `buffer[bounds[i]:bounds[i + 1]]`."""

    buffer: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str | None]) -> "LoweredBatch":
        encoded = [t.lower().encode("utf-8") if t else b"" for t in texts]
        bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=bounds[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), bounds)


def word_runs(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, 64-bit hashes) of the word runs in a UTF-8 byte buffer."""
    return kernels.word_runs(buffer)


def batch_shingle_hashes(texts: Sequence[str | None] | LoweredBatch, n: int) -> tuple[np.ndarray, np.ndarray]:
    """All shingle hashes of many texts: (flat uint32 array, shingles per text).

    A text with fewer than n words has one shingle (all its words); an empty text has none.
    """
    batch = texts if isinstance(texts, LoweredBatch) else LoweredBatch.of(texts)
    return kernels.shingle_hashes(batch.buffer, batch.bounds, n)


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """32-bit hashes of the word n-gram shingles of one text (duplicates kept; min is unaffected)."""
    return batch_shingle_hashes([text], n)[0]


def shingle_hash32(shingle: str | bytes) -> int:
    """The hash of one shingle given as its space-joined words: datasketch's `hashfunc` for our family."""
    data = shingle if isinstance(shingle, bytes) else shingle.encode("utf-8")
    flat, _ = kernels.shingle_hashes(np.frombuffer(data, dtype=np.uint8), np.array([0, len(data)]), len(data) + 1)
    return int(flat[0])
