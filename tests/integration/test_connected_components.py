"""Dedup's connected components (in one task, and in star rounds over the cluster) against a plain
union-find, on adversarial graphs."""

from __future__ import annotations

import random

import pytest

from jobs.dedup import ONE_TASK_EDGES, connected_components
from tiers.dedup.unionfind import components


def ids(n: int, rng: random.Random, first: int = 0) -> list[int]:
    """Node positions `first` to `first + n - 1` in a shuffled order, so a graph's shape and the order of
    its nodes are unrelated."""
    names = list(range(first, first + n))
    rng.shuffle(names)
    return names


def graphs() -> dict[str, list[tuple[int, int]]]:
    rng = random.Random(17)
    chain = ids(400, rng)
    sorted_chain = sorted(ids(300, rng), reverse=True)  # the smallest id at the far end
    star = ids(500, rng)
    tree = ids(255, rng)
    random_nodes = ids(600, rng)
    clique = ids(25, rng)
    return {
        "chain": list(zip(chain, chain[1:])),
        "descending chain": list(zip(sorted_chain, sorted_chain[1:])),
        "star around a large id": [(star[0], other) for other in star[1:]],
        "binary tree": [(tree[i], tree[(i - 1) // 2]) for i in range(1, len(tree))],
        "clique": [(a, b) for i, a in enumerate(clique) for b in clique[i + 1 :]],
        "sparse random": [(rng.choice(random_nodes), rng.choice(random_nodes)) for _ in range(500)],
        "many pieces": [(10_000 + 2 * i, 10_001 + 2 * i) for i in range(300)] + list(zip(chain[:50], chain[1:51])),
        "positions far apart": [(1 << 40, 3), (3, 1 << 34), (7 << 33, 1 << 40)],
    }


@pytest.mark.parametrize("one_task_edges", [ONE_TASK_EDGES, 0], ids=["one task", "star rounds"])
@pytest.mark.parametrize("name", list(graphs()))
def test_components_equal_union_find(spark, name, one_task_edges):
    edges = [(a, b) for a, b in graphs()[name] if a != b]
    frame = spark.createDataFrame(edges, "src long, dst long").repartition(4)
    found = connected_components(spark, frame, one_task_edges=one_task_edges)
    result = {row.node: row.component for row in found.collect()}
    assert result == components(edges)
