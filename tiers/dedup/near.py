"""The near-dedup steps over numpy columns, shared by both engines (tiers/dedup/rule.py composes them
for one process; jobs/dedup.py runs each inside Spark tasks):

1. `sketch`: MinHash signature, band keys and sorted shingle-hash set of each text.
2. `bucket_links` / `candidate_pairs`: in each (band, key) bucket ordered by document position, every
   member links to the bucket's first member and to the `BUCKET_WINDOW` members before it.
3. `screen` / `verified_pairs`: signature agreement decides a pair outside `estimate_margin`; the exact
   Jaccard of the shingle sets decides the pairs in between.
4. `component_roots`: connected components, each document pointing at the smallest position in its
   component; tiers/dedup/clusters.py then decides the drops inside each component.
   `verified_components` does 2-4 in one pass for one process: the same components, verifying only the
   links between documents not yet connected.

Documents are addressed by position; callers order them by id (reference documents first), so the
smallest position is the smallest id, as on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numba
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


BUCKET_WINDOW = 16
"""Members before it that each bucket member links to (besides the first): a bucket mixes copies and the
documents near the threshold of them, and a link that fails verification must not cut a copy off from
the copies it matches (with the member before it only, 1.8 % of the removals of the copies-of-original
dense corpus were missed). Bounds the links at `BUCKET_WINDOW + 1` per member and band."""


def bucket_links(new_bucket: np.ndarray, window: int = BUCKET_WINDOW) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate links of rows sorted by bucket, then by member order (`new_bucket[i]`: row i opens a
    bucket): every member links to its bucket's first member and to the `window` members before it.
    Returns (member rows, linked rows, further linked rows): the links are (member, linked) and
    (member, further) where further is not -1; the first block pairs each member with its bucket's first
    member and the member before it, the later blocks with the members 2 to `window` before it."""
    rows = len(new_bucket)
    index = np.arange(rows)
    first = np.maximum.accumulate(np.where(new_bucket, index, 0)) if rows else index
    linked = index != first
    previous = np.where(linked & (index - 1 != first), index - 1, -1)
    members, targets, further = [index[linked]], [first[linked]], [previous[linked]]
    deep = np.flatnonzero(index - first > 2)
    for distance in range(2, window + 1):
        deep = deep[deep - distance > first[deep]]
        members.append(deep)
        targets.append(deep - distance)
        further.append(np.full(len(deep), -1))
    return np.concatenate(members), np.concatenate(targets), np.concatenate(further)


def band_links(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) of every bucket link of every band (`bucket_links`), dst < src, repeats included."""
    docs, bands = keys.shape
    positions = np.arange(docs)
    src_parts, dst_parts = [], []
    for band in range(bands):
        order = np.lexsort((positions, keys[:, band]))
        sorted_keys = keys[order, band]
        members, targets, further = bucket_links(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
        has_further = further >= 0
        src_parts += [order[members], order[members[has_further]]]
        dst_parts += [order[targets], order[further[has_further]]]
    if not src_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(src_parts).astype(np.int64), np.concatenate(dst_parts).astype(np.int64)


def candidate_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (src, dst) positions with dst < src, from the band keys (documents x bands)."""
    docs = keys.shape[0]
    src, dst = band_links(keys)
    pairs = np.unique(src * docs + dst)
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


VERIFY_MODES = {"none": 0, "signature": 1, "exact": 2}


@numba.njit(cache=True, nogil=True)
def _root(parent: np.ndarray, a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@numba.njit(cache=True, nogil=True)
def _link_components(
    nodes: int,
    src: np.ndarray,
    dst: np.ndarray,
    signature_matrix: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    mode: int,
    threshold: float,
    low: float,
    high: float,
) -> tuple[np.ndarray, int, int]:
    """Union-find over the links in order, a link verified (as `screen` and `verified_pairs` decide) only
    when its ends are not yet connected; the smaller root is always kept. Returns (roots, links verified,
    links joining two components)."""
    parent = np.arange(nodes)
    width = signature_matrix.shape[1]
    checked = joined = 0
    for e in range(len(src)):
        a = _root(parent, src[e])
        b = _root(parent, dst[e])
        if a == b:
            continue
        checked += 1
        if mode > 0:
            same = 0
            for p in range(width):
                if signature_matrix[src[e], p] == signature_matrix[dst[e], p]:
                    same += 1
            estimate = same / width
            if mode == 1:
                if estimate < threshold:
                    continue
            elif estimate < low:
                continue
            elif estimate < high and kernels.set_jaccard(values, offsets, src[e], dst[e]) < threshold:
                continue
        joined += 1
        if a < b:
            parent[b] = a
        else:
            parent[a] = b
    for node in range(nodes):
        parent[node] = _root(parent, node)
    return parent, checked, joined


@dataclass
class LinkedComponents:
    """`roots[i]`: the smallest position connected to i by verified links; `checked`: links verified
    (their ends not yet connected); `joined`: verified links that joined two components."""

    roots: np.ndarray
    checked: int
    joined: int


def verified_components(
    sketches: Sketches, src: np.ndarray, dst: np.ndarray, config: MinHashSettings
) -> LinkedComponents:
    """`component_roots` of the links (src, dst) that `verified_pairs` keeps, in one pass: a link between
    documents already connected is not verified (it cannot change the components), so a pair repeated
    across bands, or inside a family of copies, costs a union-find lookup."""
    low, high = estimate_margin(config.jaccard_threshold, config.num_perm)
    roots, checked, joined = _link_components(
        len(sketches.signatures),
        np.asarray(src, dtype=np.int64),
        np.asarray(dst, dtype=np.int64),
        np.ascontiguousarray(sketches.signatures),
        np.ascontiguousarray(sketches.set_values),
        np.ascontiguousarray(sketches.set_offsets, dtype=np.int64),
        VERIFY_MODES[config.verify],
        float(config.jaccard_threshold),
        float(low),
        float(high),
    )
    return LinkedComponents(roots, int(checked), int(joined))
