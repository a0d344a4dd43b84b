"""Clusters inside connected components, by the rule that holds per document: a document is dropped as a
near duplicate only if the exact Jaccard of its shingle set with the document it names as kept reaches
the threshold.

Components (verified edges, `near.component_roots`) only say where to look; they chain, so they never
decide a drop. Inside each component:

- When its pairs fit `max_comparisons` (n (n - 1) / 2 of them), every pair is compared and the pairs at
  or above the threshold form its near graph. Reference members (already in L1) are kept first, each
  absorbing its unassigned neighbours; then, while members are unassigned, the one with the most
  unassigned neighbours is kept (ties: the first in order) and absorbs them (a greedy dominating set:
  few kept documents, each drop next to its kept one).
- A larger component is walked in order instead: the first unassigned member is kept and absorbs the
  later unassigned members at or above the threshold, and so on, until `max_comparisons` comparisons
  are spent (a chain of n documents in k clusters costs about n * k); its members kept after that are
  marked `capped`, so the job summary says so. Never quadratic past the budget.

Reference members are never absorbed. The signature agreement screens each comparison: below the lower
end of `estimate_margin` a pair is not near (a pair at the threshold lands there with a probability of
about 3e-6, which costs only recall); above the upper end it is near without the exact check; every
absorption computes the exact Jaccard, which each drop records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from tiers.dedup.minhash import estimate_margin
from tiers.dedup.near import Sketches
from tiers.kernels import set_jaccard


@dataclass
class Clusters:
    """Per position: `kept` is the position of the document it is kept as or dropped for (itself when
    kept); `jaccard` the exact Jaccard with that document (1.0 when kept); `capped` marks members of a
    component whose comparison budget ran out."""

    kept: np.ndarray
    jaccard: np.ndarray
    capped: np.ndarray

    def dropped(self) -> np.ndarray:
        """Positions dropped as near duplicates, ascending."""
        return np.flatnonzero(self.kept != np.arange(len(self.kept)))


@numba.njit(cache=True, nogil=True)
def _agree(signature_matrix: np.ndarray, a: int, b: int) -> int:
    same = 0
    for p in range(signature_matrix.shape[1]):
        if signature_matrix[a, p] == signature_matrix[b, p]:
            same += 1
    return same


@numba.njit(cache=True, nogil=True)
def _absorb(
    center: int,
    member: int,
    values: np.ndarray,
    offsets: np.ndarray,
    threshold: float,
    kept: np.ndarray,
    jaccard: np.ndarray,
) -> bool:
    value = set_jaccard(values, offsets, center, member)
    if value < threshold:
        return False
    kept[member] = center
    jaccard[member] = value
    return True


@numba.njit(cache=True, nogil=True)
def _by_cover(
    members: np.ndarray,
    signature_matrix: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    fixed: np.ndarray,
    min_agree: int,
    sure_agree: int,
    threshold: float,
    kept: np.ndarray,
    jaccard: np.ndarray,
) -> None:
    """One component, all pairs compared: reference members first absorb their neighbours; then, while
    members are unassigned, the one with the most unassigned neighbours (ties: the first) is kept and
    absorbs them (greedy dominating set over the pairs at or above the threshold)."""
    m = len(members)
    near = np.zeros((m, m), dtype=np.bool_)
    for a in range(m):
        for b in range(a + 1, m):
            if fixed[members[a]] and fixed[members[b]]:
                continue
            same = _agree(signature_matrix, members[a], members[b])
            if same < min_agree:
                continue
            if same < sure_agree and set_jaccard(values, offsets, members[a], members[b]) < threshold:
                continue
            near[a, b] = True
            near[b, a] = True
    assigned = np.zeros(m, dtype=np.bool_)
    cover = np.ones(m, dtype=np.int64)
    for a in range(m):
        for b in range(m):
            if near[a, b]:
                cover[a] += 1
    for a in range(m):
        if fixed[members[a]]:
            assigned[a] = True
    for a in range(m):
        if not assigned[a]:
            continue
        for b in range(m):
            if near[a, b]:
                cover[b] -= 1
    for a in range(m):
        if not fixed[members[a]]:
            continue
        for b in range(m):
            if near[a, b] and not assigned[b]:
                if _absorb(members[a], members[b], values, offsets, threshold, kept, jaccard):
                    assigned[b] = True
                    for x in range(m):
                        if near[b, x]:
                            cover[x] -= 1
    while True:
        best = -1
        for a in range(m):
            if not assigned[a] and (best < 0 or cover[a] > cover[best]):
                best = a
        if best < 0:
            break
        assigned[best] = True
        for x in range(m):
            if near[best, x]:
                cover[x] -= 1
        for b in range(m):
            if near[best, b] and not assigned[b]:
                if _absorb(members[best], members[b], values, offsets, threshold, kept, jaccard):
                    assigned[b] = True
                    for x in range(m):
                        if near[b, x]:
                            cover[x] -= 1


@numba.njit(cache=True, nogil=True)
def _in_order(
    members: np.ndarray,
    signature_matrix: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    fixed: np.ndarray,
    min_agree: int,
    threshold: float,
    budget: int,
    kept: np.ndarray,
    jaccard: np.ndarray,
    capped: np.ndarray,
) -> None:
    """One component too large to compare all pairs: members in order, the first unassigned one kept,
    absorbing the later unassigned members at or above the threshold, until `budget` comparisons are spent;
    the members kept after that are marked `capped`."""
    m = len(members)
    assigned = np.zeros(m, dtype=np.bool_)
    for i in range(m):
        if assigned[i]:
            continue
        assigned[i] = True
        center = members[i]
        if budget < 0:
            capped[center] = True
            continue
        for k in range(i + 1, m):
            member = members[k]
            if assigned[k] or fixed[member]:
                continue
            budget -= 1
            if budget < 0:
                capped[center] = True
                break
            if _agree(signature_matrix, center, member) < min_agree:
                continue
            if _absorb(center, member, values, offsets, threshold, kept, jaccard):
                assigned[k] = True


@numba.njit(cache=True, nogil=True)
def _greedy(
    order: np.ndarray,
    starts: np.ndarray,
    signature_matrix: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    fixed: np.ndarray,
    min_agree: int,
    sure_agree: int,
    threshold: float,
    max_comparisons: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes = signature_matrix.shape[0]
    kept = np.arange(nodes)
    jaccard = np.ones(nodes, dtype=np.float64)
    capped = np.zeros(nodes, dtype=np.bool_)
    for c in range(len(starts) - 1):
        members = order[starts[c] : starts[c + 1]]
        m = len(members)
        if m < 2:
            continue
        if m * (m - 1) // 2 <= max_comparisons:
            _by_cover(
                members, signature_matrix, values, offsets, fixed, min_agree, sure_agree, threshold, kept, jaccard
            )
        else:
            _in_order(
                members,
                signature_matrix,
                values,
                offsets,
                fixed,
                min_agree,
                threshold,
                max_comparisons,
                kept,
                jaccard,
                capped,
            )
    return kept, jaccard, capped


def clusters(
    components: np.ndarray,
    sketches: Sketches,
    threshold: float,
    max_comparisons: int,
    fixed: np.ndarray | None = None,
) -> Clusters:
    """Clusters of the sketched positions 0 to n - 1, `components[i]` being position i's component label
    (any integer; singletons may carry their own). `fixed` marks reference documents: always kept, never
    absorbed. Members are visited by position, so callers order positions as the rule's order."""
    nodes = len(components)
    fixed = np.zeros(nodes, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    order = np.lexsort((np.arange(nodes), components)) if nodes else np.empty(0, dtype=np.int64)
    labels = components[order]
    starts = np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]])) if nodes else np.empty(0, np.int64)
    starts = np.append(starts, nodes).astype(np.int64)
    width = sketches.signatures.shape[1] if nodes else 1
    low, high = estimate_margin(threshold, width)
    min_agree, sure_agree = int(np.ceil(low * width - 1e-9)), int(np.ceil(high * width - 1e-9))
    kept, jaccard, capped = _greedy(
        order.astype(np.int64),
        starts,
        np.ascontiguousarray(sketches.signatures),
        np.ascontiguousarray(sketches.set_values),
        np.ascontiguousarray(sketches.set_offsets, dtype=np.int64),
        fixed,
        min_agree,
        sure_agree,
        float(threshold),
        int(max_comparisons),
    )
    return Clusters(kept, jaccard, capped)
