"""MinHash signatures (compiled in tiers/kernels.py) in datasketch's hash family.

The permutations are datasketch's default scheme ("affine32", datasketch >= 2.0): each 32-bit shingle
hash is pre-mixed with the MurmurHash3 finalizer, then `a_k * h + b_k mod 2^32` with `(a_k, b_k)` drawn
from `np.random.RandomState(seed)` exactly as datasketch draws them. So
`datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)` updated with the same shingles gives the
same signature (tested).

Shingles and their hashes come from `tiers/text.py`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tiers import kernels

_COMBINE = np.uint64(0x100000001B3)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 parameters: odd `a`, any `b`, drawn in datasketch's order."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures(flat: np.ndarray, counts: np.ndarray, num_perm: int, seed: int = 1) -> np.ndarray:
    """Signatures (docs x num_perm, uint32) from flat shingle hashes and shingles per doc; empty docs get all-max rows."""
    a, b = permutations(num_perm, seed)
    return kernels.signatures(np.ascontiguousarray(flat, dtype=np.uint32), np.asarray(counts, dtype=np.int64), a, b)


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
            fp = np.trapezoid(1 - (1 - xs_low**r) ** b, xs_low)
            fn = np.trapezoid(1 - (1 - (1 - xs_high**r) ** b), xs_high)
            cost = fp_weight * fp + fn_weight * fn
            if cost < best_cost:
                best, best_cost = (b, r), cost
    return best


def candidate_probability(jaccard_value: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """The LSH S-curve: probability that a pair at this Jaccard shares at least one of `bands` bands of `rows`."""
    return 1.0 - (1.0 - np.asarray(jaccard_value, dtype=float) ** rows) ** bands


def estimate_margin(threshold: float, num_perm: int, z: float = 3.5) -> tuple[float, float]:
    """(low, high): a signature estimate outside this interval decides a pair on its own.

    The estimate of a pair at Jaccard `threshold` is binomial with standard deviation
    sqrt(t (1 - t) / num_perm); `z` of those on either side leaves a chance of about 3e-6 that a pair
    on the wrong side of the threshold is decided without the exact check.
    """
    sigma = float(np.sqrt(threshold * (1 - threshold) / num_perm))
    return max(0.0, threshold - z * sigma), min(1.0, threshold + z * sigma)


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
