"""Text helpers shared by operators and dedup: word runs, their hashes, word n-gram shingles and their
hashes, and punctuation sets. One neutral module, so neither imports the other.

Tokens are maximal runs of ASCII letters and digits or non-ASCII characters in the lower-cased
UTF-8 text; shingles are word n-grams. A word's 64-bit hash is a polynomial over its bytes (from
prefix sums over one buffer for a whole batch of documents) passed through the MurmurHash3
finalizer; a shingle's 32-bit hash combines the hashes of its words. No Python call per word.
"""
from __future__ import annotations

import re

import numpy as np

TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "…", ":", ";")

_WORD = re.compile(rb"[0-9a-z\x80-\xff]+")
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[[*range(ord("0"), ord("9") + 1), *range(ord("a"), ord("z") + 1), *range(0x80, 0x100)]] = True
_P = 0x9E3779B97F4A7C15
_P_INV = pow(_P, -1, 1 << 64)
_POWERS: dict[int, np.ndarray] = {}
_COMBINE = np.uint64(0x100000001B3)


def tokens(text: str) -> list[str]:
    return [w.decode("utf-8", "replace") for w in _WORD.findall(text.lower().encode("utf-8"))]


def shingles(text: str, n: int) -> list[str]:
    words = tokens(text)
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def _pow_table(base: int, size: int) -> np.ndarray:
    """base^j mod 2^64 for j < size, by doubling."""
    table = np.empty(size, dtype=np.uint64)
    table[0] = 1
    filled = 1
    with np.errstate(over="ignore"):
        while filled < size:
            count = min(filled, size - filled)
            table[filled : filled + count] = table[:count] * np.uint64(pow(base, filled, 1 << 64))
            filled += count
    return table


def _powers(length: int) -> tuple[np.ndarray, np.ndarray]:
    """P^j and P^-j mod 2^64 for j < length, cached and grown as needed."""
    if _P not in _POWERS or len(_POWERS[_P]) < length:
        size = max(length, 2 * len(_POWERS.get(_P, ())), 1 << 16)
        _POWERS[_P], _POWERS[_P_INV] = _pow_table(_P, size), _pow_table(_P_INV, size)
    return _POWERS[_P][:length], _POWERS[_P_INV][:length]


def _fmix64(h: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xFF51AFD7ED558CCD)
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xC4CEB9FE1A85EC53)
        return h ^ (h >> np.uint64(33))


def word_runs(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, 64-bit hashes) of the word runs in a UTF-8 byte buffer."""
    word = _WORD_BYTE[buffer]
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    if len(word) and word[0]:
        edges = np.concatenate([[0], edges])
    if len(word) and word[-1]:
        edges = np.concatenate([edges, [len(word)]])
    starts, ends = edges[0::2], edges[1::2]
    powers, inverse = _powers(len(buffer) + 1)
    prefix = np.zeros(len(buffer) + 1, dtype=np.uint64)
    terms = buffer.astype(np.uint64)
    terms += np.uint64(1)
    terms *= powers[: len(buffer)]
    np.cumsum(terms, out=prefix[1:])
    raw = prefix[ends]
    raw -= prefix[starts]
    raw *= inverse[starts]
    return starts, ends, _fmix64(raw)


def _ngram_hashes(word_hashes: np.ndarray, n: int) -> np.ndarray:
    count = len(word_hashes) - n + 1
    h = np.zeros(max(count, 0), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _COMBINE + word_hashes[k : k + count]
    return (h >> np.uint64(32)).astype(np.uint32)


def batch_shingle_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """All shingle hashes of many texts: (flat uint32 array, shingles per text).

    A text with fewer than n words has one shingle (all its words); an empty text has none.
    """
    encoded = [t.lower().encode("utf-8") for t in texts]
    buffer = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)
    doc_starts = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]]) if encoded else np.empty(0, dtype=np.int64)
    starts, _, hashes = word_runs(buffer)
    doc_of_word = np.searchsorted(doc_starts, starts, side="right") - 1
    words_per_doc = np.bincount(doc_of_word, minlength=len(texts))
    grams = _ngram_hashes(hashes, n)
    valid = doc_of_word[: len(grams)] == doc_of_word[n - 1 :] if len(grams) else np.zeros(0, dtype=bool)
    counts = np.maximum(words_per_doc - n + 1, 0)
    short = np.flatnonzero((words_per_doc > 0) & (words_per_doc < n))
    if len(short) == 0:
        return grams[valid], counts
    first_word = np.concatenate([[0], np.cumsum(words_per_doc)[:-1]])
    pieces, position = [], 0
    valid_grams = grams[valid]
    for doc in short:
        before = int(counts[:doc].sum())
        pieces.append(valid_grams[position:before])
        pieces.append(_ngram_hashes(hashes[first_word[doc] : first_word[doc] + words_per_doc[doc]], int(words_per_doc[doc])))
        position = before
    pieces.append(valid_grams[position:])
    counts[short] = 1
    return np.concatenate(pieces), counts


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """32-bit hashes of the word n-gram shingles of one text (duplicates kept; min is unaffected)."""
    return batch_shingle_hashes([text], n)[0]


def shingle_hash32(shingle: str | bytes) -> int:
    """The hash of one shingle given as its space-joined words: datasketch's `hashfunc` for our family."""
    data = shingle if isinstance(shingle, bytes) else shingle.encode("utf-8")
    _, _, hashes = word_runs(np.frombuffer(data, dtype=np.uint8))
    return int(_ngram_hashes(hashes, len(hashes))[0])
