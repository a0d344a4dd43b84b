"""Clusters inside connected components, by the rule that holds per document: a document is dropped as a
near duplicate only if the exact Jaccard of its shingle set with the document it names as kept reaches
the threshold.

Components (verified edges, `near.component_roots`) only say where to look. Inside each component,
members are visited in order (reference documents first, then by id): the first unassigned member is
kept and absorbs every later unassigned member whose exact Jaccard with it reaches the threshold; the
members it does not absorb repeat the step. A document reached only through other documents (a chain)
therefore starts its own cluster instead of being dropped for a document it does not resemble.
Reference documents (already in L1) are always kept and are never absorbed.

The signature agreement screens each comparison first: below the lower end of `estimate_margin` a pair
is rejected (a pair at the threshold lands there with a probability of about 3e-6, which costs only
recall); every other pair gets the exact check, so every drop carries its measured Jaccard.

Work is bounded: a component may spend at most `max_comparisons` member comparisons (a chain of n
documents with k clusters costs about n * k); once its budget is spent, its members not yet assigned
stay, each its own cluster, and are counted as `capped` so the job summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from tiers.dedup.minhash import estimate_margin
from tiers.dedup.near import Sketches


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
def _set_jaccard(values: np.ndarray, offsets: np.ndarray, a: int, b: int) -> float:
    i, i_end = offsets[a], offsets[a + 1]
    j, j_end = offsets[b], offsets[b + 1]
    union = (i_end - i) + (j_end - j)
    common = 0
    while i < i_end and j < j_end:
        if values[i] == values[j]:
            common += 1
            i += 1
            j += 1
        elif values[i] < values[j]:
            i += 1
        else:
            j += 1
    union -= common
    return common / union if union else 1.0


@numba.njit(cache=True, nogil=True)
def _greedy(
    order: np.ndarray,
    starts: np.ndarray,
    signature_matrix: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    fixed: np.ndarray,
    min_agree: int,
    threshold: float,
    max_comparisons: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes = signature_matrix.shape[0]
    width = signature_matrix.shape[1]
    kept = np.arange(nodes)
    jaccard = np.ones(nodes, dtype=np.float64)
    capped = np.zeros(nodes, dtype=np.bool_)
    assigned = np.zeros(nodes, dtype=np.bool_)
    for c in range(len(starts) - 1):
        first, stop = starts[c], starts[c + 1]
        budget = max_comparisons
        for i in range(first, stop):
            center = order[i]
            if assigned[center]:
                continue
            assigned[center] = True
            if budget < 0:
                capped[center] = True
                continue
            for k in range(i + 1, stop):
                member = order[k]
                if assigned[member] or fixed[member]:
                    continue
                budget -= 1
                if budget < 0:
                    capped[center] = True
                    break
                same = 0
                for p in range(width):
                    if signature_matrix[center, p] == signature_matrix[member, p]:
                        same += 1
                if same < min_agree:
                    continue
                value = _set_jaccard(values, offsets, center, member)
                if value >= threshold:
                    assigned[member] = True
                    kept[member] = center
                    jaccard[member] = value
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
    low, _ = estimate_margin(threshold, width)
    min_agree = int(np.ceil(low * width - 1e-9))
    kept, jaccard, capped = _greedy(
        order.astype(np.int64),
        starts,
        np.ascontiguousarray(sketches.signatures),
        np.ascontiguousarray(sketches.set_values),
        np.ascontiguousarray(sketches.set_offsets, dtype=np.int64),
        fixed,
        min_agree,
        float(threshold),
        int(max_comparisons),
    )
    return Clusters(kept, jaccard, capped)
