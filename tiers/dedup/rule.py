"""The near-dedup rule in one place, over numpy columns: candidate pairs -> verified edges -> components
-> clusters (tiers/dedup/clusters.py). The local engine runs it on a whole run, the first three steps in
one pass (`near.verified_components`: the same components); the Spark body runs the same steps
(`near.bucket_links`, `near.screen`, `clusters.clusters`) on the rows a task holds.

Positions are the rule's order: reference documents (already in L1) first, then new documents by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tiers.dedup.clusters import Clusters, clusters
from tiers.dedup.near import MinHashSettings, Sketches, band_links, verified_components


class RuleSettings(MinHashSettings, Protocol):
    max_cluster_comparisons: int


@dataclass
class NearResult:
    """Per position: its component (smallest position reachable by verified edges) and its cluster;
    `candidates`: bucket links formed (a pair once per band it shares); `edges`: verified links that
    joined two components (`near.verified_components` verifies only links between unconnected ends)."""

    components: np.ndarray
    clusters: Clusters
    candidates: int
    edges: int


def near_clusters(
    sketches: Sketches, references: int, config: RuleSettings, excluded: np.ndarray | None = None
) -> NearResult:
    """The rule over sketches whose first `references` positions are reference documents: pairs of two
    reference documents were decided by an earlier run and are not formed again. Positions in `excluded`
    (exact duplicates, already dropped) are left out of the buckets, as the Spark body leaves them out of
    its sketches, so a bucket links the same members on both engines."""
    nodes = len(sketches.signatures)
    taking = np.ones(nodes, dtype=bool)
    if excluded is not None:
        taking[excluded] = False
    rows = np.flatnonzero(taking)
    src, dst = band_links(sketches.keys[rows])
    src, dst = rows[src], rows[dst]
    new_pair = src >= references
    linked = verified_components(sketches, src[new_pair], dst[new_pair], config)
    fixed = np.arange(nodes) < references
    found = clusters(linked.roots, sketches, config.jaccard_threshold, config.max_cluster_comparisons, fixed)
    return NearResult(linked.roots, found, int(new_pair.sum()), linked.joined)
