"""Union-find over hashable node ids, smallest id as each set's representative.

Used inside one Spark task (the local pass of `jobs/dedup.py`'s connected components, bounded by the
edges of one partition) and as the reference the distributed algorithm is tested against.
"""

from __future__ import annotations

from typing import Hashable, Iterable


class UnionFind:
    """Disjoint sets with path halving; `find` returns the smallest member of the set."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, node: Hashable) -> Hashable:
        parent = self.parent
        if node not in parent:
            parent[node] = node
            return node
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: Hashable, b: Hashable) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # the smaller id stays the root, so a set's root is always its smallest member
            if root_b < root_a:
                root_a, root_b = root_b, root_a
            self.parent[root_b] = root_a

    def components(self) -> dict[Hashable, Hashable]:
        """node -> smallest node of its set, for every node seen."""
        return {node: self.find(node) for node in list(self.parent)}


def components(edges: Iterable[tuple[Hashable, Hashable]]) -> dict[Hashable, Hashable]:
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    return uf.components()
