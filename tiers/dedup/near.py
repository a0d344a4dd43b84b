"""The near-dedup steps over numpy columns, shared by both engines (tiers/dedup/rule.py composes them
for one process; jobs/dedup.py runs each inside Spark tasks):

1. `sketch`: MinHash signature, band keys and sorted shingle-hash set of each text.
2. `bucket_links` / `candidate_pairs`: in each (band, key) bucket ordered by document position, every
   member links to the bucket's first member and to the member before it.
3. `screen` / `verified_pairs`: signature agreement decides a pair outside `estimate_margin`; the exact
   Jaccard of the shingle sets decides the pairs in between.
4. `component_roots`: connected components, each document pointing at the smallest position in its
   component; tiers/dedup/clusters.py then decides the drops inside each component.

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

    def take(self, rows: np.ndarray) -> "Sketches":
        """The sketches at `rows` (positions among these sketches), as sketches of positions 0 to len(rows) - 1."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.set_offsets[rows]
        sizes = self.set_offsets[rows + 1] - starts
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        gather = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1])
        return Sketches(self.present[rows], self.signatures[rows], self.keys[rows], self.set_values[gather], offsets)

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


def bucket_links(new_bucket: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate links of rows sorted by bucket, then by member order (`new_bucket[i]`: row i opens a
    bucket): every member links to its bucket's first member and to the member before it (two links per
    member keep the count linear in the bucket size). Returns (member rows, first-member rows, previous
    rows), the previous row being -1 where it is the first member itself."""
    rows = len(new_bucket)
    index = np.arange(rows)
    first = np.maximum.accumulate(np.where(new_bucket, index, 0)) if rows else index
    linked = index != first
    previous = np.where(linked & (index - 1 != first), index - 1, -1)
    return index[linked], first[linked], previous[linked]


def candidate_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (src, dst) positions with dst < src, from the band keys (documents x bands)."""
    docs, bands = keys.shape
    positions = np.arange(docs)
    found = []
    for band in range(bands):
        order = np.lexsort((positions, keys[:, band]))
        sorted_keys = keys[order, band]
        members, firsts, previous = bucket_links(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
        src = order[members].astype(np.int64)
        found.append(src * docs + order[firsts])
        has_previous = previous >= 0
        found.append(src[has_previous] * docs + order[previous[has_previous]])
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


def screen(estimate: np.ndarray, config: MinHashSettings) -> tuple[np.ndarray, np.ndarray]:
    """(sure, unsure) masks of pairs by their signature estimate: under verify=exact an estimate outside
    `estimate_margin` decides a pair and the ones in between need the exact check; verify=signature
    decides every pair by its estimate; verify=none keeps every pair."""
    if config.verify == "none":
        return np.ones(len(estimate), dtype=bool), np.zeros(len(estimate), dtype=bool)
    if config.verify == "signature":
        return estimate >= config.jaccard_threshold, np.zeros(len(estimate), dtype=bool)
    low, high = estimate_margin(config.jaccard_threshold, config.num_perm)
    return estimate >= high, (estimate >= low) & (estimate < high)


def verified_pairs(sketches: Sketches, src: np.ndarray, dst: np.ndarray, config: MinHashSettings) -> np.ndarray:
    """Mask of the candidate pairs whose Jaccard reaches `config.jaccard_threshold` (see `screen`)."""
    estimate = agreement(sketches.signatures, src, dst) if config.verify != "none" else np.zeros(len(src))
    keep, unsure = screen(estimate, config)
    unsure = np.flatnonzero(unsure)
    exact = kernels.pair_jaccard(
        sketches.set_values, sketches.set_offsets, src[unsure].astype(np.int64), dst[unsure].astype(np.int64)
    )
    keep[unsure] = exact >= config.jaccard_threshold
    return keep


def component_roots(nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For each of `nodes` positions, the smallest position in its connected component."""
    return kernels.component_minimum(nodes, np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64))
