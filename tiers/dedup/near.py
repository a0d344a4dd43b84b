"""Near-duplicate clusters in one process, with numpy: the local engine's version of jobs/dedup.py.

Same steps, same decisions, so both engines drop the same documents:

1. `sketch`: MinHash signature, band keys and sorted shingle-hash set of each text.
2. `candidate_pairs`: in each (band, key) bucket ordered by document position, every member links to
   the bucket's first member and to the member before it.
3. `verified_pairs`: signature agreement decides a pair outside `estimate_margin`; the exact Jaccard of
   the shingle sets decides the pairs in between.
4. `component_roots`: connected components, each document pointing at the smallest position in its
   component.

Documents are addressed by position; callers order them by id (reference documents first), so the
smallest position is the smallest id, as on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from tiers import kernels
from tiers.dedup.minhash import band_keys, estimate_margin, optimal_bands, signatures
from tiers.text import LoweredBatch, batch_shingle_hashes


class MinHashSettings(Protocol):
    """The `l1.dedup.minhash` settings these steps read (tiers.config.MinHashConfig has them)."""

    ngram: int
    num_perm: int
    seed: int
    bands: int
    rows: int
    threshold: float | None
    verify: str
    jaccard_threshold: float


def band_layout(config: MinHashSettings) -> tuple[int, int]:
    """(bands, rows): derived from `threshold` when it is set, else as configured."""
    if config.threshold is not None:
        return optimal_bands(config.threshold, config.num_perm)
    return config.bands, config.rows


@dataclass
class Sketches:
    """Per text with at least one shingle (`present` gives their positions among the texts): its
    signature, band keys and sorted shingle-hash set, sketch i's set being
    `set_values[set_offsets[i]:set_offsets[i + 1]]`."""

    present: np.ndarray
    signatures: np.ndarray
    keys: np.ndarray
    set_values: np.ndarray
    set_offsets: np.ndarray

    def shingle_set(self, i: int) -> np.ndarray:
        return self.set_values[self.set_offsets[i] : self.set_offsets[i + 1]]

    def followed_by(self, other: "Sketches") -> "Sketches":
        """These sketches then `other`'s, as sketches of positions 0 to n - 1."""
        return Sketches(
            np.arange(len(self.present) + len(other.present)),
            np.vstack([self.signatures, other.signatures]),
            np.vstack([self.keys, other.keys]),
            np.concatenate([self.set_values, other.set_values]),
            np.concatenate([self.set_offsets[:-1], other.set_offsets + self.set_offsets[-1]]),
        )


def sketch(texts: Sequence[str | None] | LoweredBatch, config: MinHashSettings) -> Sketches:
    bands, rows = band_layout(config)
    flat, counts = batch_shingle_hashes(texts, config.ngram)
    matrix = signatures(flat, counts, config.num_perm, config.seed)
    present = np.flatnonzero(counts > 0)
    matrix = matrix[present]
    values, sizes = kernels.sorted_sets(flat, counts[present])
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return Sketches(present, matrix, band_keys(matrix, bands, rows), values, offsets)


def candidate_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (src, dst) positions with dst < src, from the band keys (documents x bands)."""
    docs, bands = keys.shape
    positions = np.arange(docs)
    found = []
    for band in range(bands):
        order = np.lexsort((positions, keys[:, band]))
        sorted_keys, members = keys[order, band], positions[order]
        new_bucket = np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
        roots = members[np.maximum.accumulate(np.where(new_bucket, np.arange(docs), 0))]
        previous = np.concatenate([[-1], members[:-1]])
        to_root = members != roots
        to_previous = to_root & ~new_bucket & (previous != roots)
        found.append(members[to_root].astype(np.int64) * docs + roots[to_root])
        found.append(members[to_previous].astype(np.int64) * docs + previous[to_previous])
    pairs = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    return pairs // max(docs, 1), pairs % max(docs, 1)


def agreement(signature_matrix: np.ndarray, src: np.ndarray, dst: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Share of equal signature positions of each pair."""
    out = np.empty(len(src), dtype=np.float64)
    width = signature_matrix.shape[1]
    for start in range(0, len(src), chunk):
        stop = start + chunk
        same = signature_matrix[src[start:stop]] == signature_matrix[dst[start:stop]]
        out[start:stop] = same.sum(axis=1) / width
    return out


def verified_pairs(sketches: Sketches, src: np.ndarray, dst: np.ndarray, config: MinHashSettings) -> np.ndarray:
    """Mask of the candidate pairs whose Jaccard reaches `config.jaccard_threshold` (see `config.verify`)."""
    if config.verify == "none":
        return np.ones(len(src), dtype=bool)
    estimate = agreement(sketches.signatures, src, dst)
    if config.verify == "signature":
        return estimate >= config.jaccard_threshold
    low, high = estimate_margin(config.jaccard_threshold, config.num_perm)
    keep = estimate >= high
    unsure = np.flatnonzero((estimate >= low) & (estimate < high))
    exact = kernels.pair_jaccard(
        sketches.set_values, sketches.set_offsets, src[unsure].astype(np.int64), dst[unsure].astype(np.int64)
    )
    keep[unsure] = exact >= config.jaccard_threshold
    return keep


def component_roots(nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For each of `nodes` positions, the smallest position in its connected component."""
    return kernels.component_minimum(nodes, np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64))
