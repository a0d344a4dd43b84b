"""Dedup's connected components (in one task, and in star rounds over the cluster) against a plain
union-find, on adversarial graphs."""

from __future__ import annotations

import random

import pytest

from jobs.dedup import ONE_TASK_EDGES, connected_components
from tiers.dedup.unionfind import components


def ids(n: int, rng: random.Random) -> list[str]:
    """Node ids in a shuffled order, so a graph's shape and the order of its ids are unrelated."""
    names = [f"n{i:06d}" for i in range(n)]
    rng.shuffle(names)
    return names


def graphs() -> dict[str, list[tuple[str, str]]]:
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
        "many pieces": [(f"p{i:05d}a", f"p{i:05d}b") for i in range(300)] + list(zip(chain[:50], chain[1:51])),
    }


@pytest.mark.parametrize("one_task_edges", [ONE_TASK_EDGES, 0], ids=["one task", "star rounds"])
@pytest.mark.parametrize("name", list(graphs()))
def test_components_equal_union_find(spark, name, one_task_edges):
    edges = [(a, b) for a, b in graphs()[name] if a != b]
    frame = spark.createDataFrame(edges, "src string, dst string").repartition(4)
    found = connected_components(spark, frame, one_task_edges=one_task_edges)
    result = {row.node: row.component for row in found.collect()}
    assert result == components(edges)
