"""The near-dedup rule in one place, over numpy columns: candidate pairs -> verified edges -> components
-> clusters (tiers/dedup/clusters.py). The local engine runs it on a whole run; the Spark body runs the
same steps (`near.bucket_links`, `near.screen`, `clusters.clusters`) on the rows a task holds.

Positions are the rule's order: reference documents (already in L1) first, then new documents by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tiers.dedup.clusters import Clusters, clusters
from tiers.dedup.near import MinHashSettings, Sketches, candidate_pairs, component_roots, verified_pairs


class RuleSettings(MinHashSettings, Protocol):
    max_cluster_comparisons: int


@dataclass
class NearResult:
    """Per position: its component (smallest position reachable by verified edges) and its cluster."""

    components: np.ndarray
    clusters: Clusters
    candidates: int
    edges: int


def near_clusters(
    sketches: Sketches, references: int, config: RuleSettings, excluded: np.ndarray | None = None
) -> NearResult:
    """The rule over sketches whose first `references` positions are reference documents: pairs of two
    reference documents were decided by an earlier run and are not formed again. Positions in `excluded`
    (exact duplicates, already dropped) take part in no pair."""
    nodes = len(sketches.signatures)
    src, dst = candidate_pairs(sketches.keys)
    new_pair = src >= references
    if excluded is not None and len(excluded):
        out = np.zeros(nodes, dtype=bool)
        out[excluded] = True
        new_pair &= ~out[src] & ~out[dst]
    src, dst = src[new_pair], dst[new_pair]
    keep = verified_pairs(sketches, src, dst, config)
    components = component_roots(nodes, src[keep], dst[keep])
    fixed = np.arange(nodes) < references
    found = clusters(components, sketches, config.jaccard_threshold, config.max_cluster_comparisons, fixed)
    return NearResult(components, found, len(src), int(keep.sum()))
