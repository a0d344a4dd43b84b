"""MinHash signatures, vectorized with numpy, in datasketch's hash family.

The permutations are datasketch's default scheme ("affine32", datasketch >= 2.0): each 32-bit shingle
hash is pre-mixed with the MurmurHash3 finalizer, then `a_k * h + b_k mod 2^32` with `(a_k, b_k)` drawn
from `np.random.RandomState(seed)` exactly as datasketch draws them. So
`datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)` updated with the same shingles gives the
same signature (tested). Shingles are word n-grams of lower-cased `\\w+` tokens; a shingle's 32-bit
hash combines the xxh64 hashes of its words, so each word is hashed once per document.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import xxhash

WORD = re.compile(r"\w+", re.UNICODE)
_COMBINE = np.uint64(0x100000001B3)
_MASK32 = np.uint64(0xFFFFFFFF)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
EMPTY = np.uint32(0xFFFFFFFF)


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _word_hashes(words: list[str]) -> np.ndarray:
    return np.fromiter((xxhash.xxh64_intdigest(w.encode()) for w in words), dtype=np.uint64, count=len(words))


def _combine(word_hashes: np.ndarray, n: int) -> np.ndarray:
    """32-bit hash of every n-gram (all words when fewer than n) from 64-bit word hashes."""
    count = len(word_hashes) - n + 1
    if count <= 0:
        if len(word_hashes) == 0:
            return np.empty(0, dtype=np.uint32)
        n, count = len(word_hashes), 1
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _COMBINE + word_hashes[k : k + count]
    return (h >> np.uint64(32)).astype(np.uint32)


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """32-bit hashes of the word n-gram shingles of a text (duplicates kept; min is unaffected)."""
    return _combine(_word_hashes(tokens(text)), n)


def shingle_hash32(shingle: str | bytes) -> int:
    """The hash of one shingle given as its space-joined words: datasketch's `hashfunc` for our family."""
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8")
    words = shingle.split(" ")
    return int(_combine(_word_hashes(words), len(words))[0])


def shingles(text: str, n: int) -> list[str]:
    words = tokens(text)
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 parameters: odd `a`, any `b`, drawn in datasketch's order."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def signatures(hash_lists: list[np.ndarray], num_perm: int, seed: int = 1, chunk: int = 16384) -> np.ndarray:
    """Signatures (docs x num_perm, uint32) for many documents at once; empty docs get all-max rows."""
    a, b = permutations(num_perm, seed)
    out = np.full((len(hash_lists), num_perm), EMPTY, dtype=np.uint32)
    lengths = np.fromiter((len(h) for h in hash_lists), dtype=np.int64, count=len(hash_lists))
    nonempty = np.flatnonzero(lengths)
    if len(nonempty) == 0:
        return out
    flat = np.concatenate([hash_lists[i] for i in nonempty])
    offsets = np.concatenate([[0], np.cumsum(lengths[nonempty])[:-1]])
    mixed = _fmix32(flat)
    with np.errstate(over="ignore"):
        for start in range(0, len(flat), chunk):
            stop = min(start + chunk, len(flat))
            phv = mixed[start:stop, None] * a[None, :] + b[None, :]
            first = np.searchsorted(offsets, start, side="right") - 1
            last = np.searchsorted(offsets, stop - 1, side="right") - 1
            local = np.clip(offsets[first : last + 1] - start, 0, None)
            mins = np.minimum.reduceat(phv, local, axis=0)
            rows = nonempty[first : last + 1]
            out[rows] = np.minimum(out[rows], mins)
    return out


def band_keys(signature_matrix: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """64-bit key per (doc, band): a hash of that band's `rows` values (docs x bands, int64)."""
    docs = signature_matrix.shape[0]
    used = signature_matrix[:, : bands * rows].reshape(docs, bands, rows).astype(np.uint64)
    h = np.full((docs, bands), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            h = (h ^ used[:, :, r]) * _COMBINE
            h = h ^ (h >> np.uint64(29))
    return h.view(np.int64)


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimizing weighted false-positive and false-negative areas around `threshold`."""
    xs_low = np.linspace(0.0, threshold, 200)
    xs_high = np.linspace(threshold, 1.0, 200)
    best, best_cost = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.trapezoid(1 - (1 - xs_low ** r) ** b, xs_low)
            fn = np.trapezoid(1 - (1 - (1 - xs_high ** r) ** b), xs_high)
            cost = fp_weight * fp + fn_weight * fn
            if cost < best_cost:
                best, best_cost = (b, r), cost
    return best


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
