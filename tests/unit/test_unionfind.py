"""Union-find (the reference for dedup's connected components) and the LSH S-curve helpers."""

from __future__ import annotations

import random

import numpy as np

from tiers.dedup.minhash import candidate_probability, estimate_margin
from tiers.dedup.unionfind import UnionFind, components


def brute_components(nodes: list[int], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Components by repeated relaxation (slow, obviously right)."""
    label = {n: n for n in nodes}
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            low = min(label[a], label[b])
            if label[a] != low or label[b] != low:
                label[a] = label[b] = low
                changed = True
    return label


def test_union_find_matches_brute_force_on_random_graphs():
    rng = random.Random(5)
    for _ in range(50):
        nodes = list(range(rng.randint(2, 80)))
        edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(rng.randint(1, 60))]
        seen = {n for e in edges for n in e}
        expected = {n: c for n, c in brute_components(nodes, edges).items() if n in seen}
        assert components(edges) == expected


def test_root_is_the_smallest_member_whatever_the_union_order():
    uf = UnionFind()
    for a, b in [("z", "y"), ("y", "x"), ("q", "z"), ("m", "n")]:
        uf.union(a, b)
    assert uf.find("z") == "q" and uf.find("x") == "q" and uf.find("n") == "m"
    assert uf.components() == {"z": "q", "y": "q", "x": "q", "q": "q", "m": "m", "n": "m"}


def test_s_curve_and_margin():
    assert candidate_probability(0.7, 22, 5) > 0.98 > candidate_probability(0.7, 14, 8)
    assert candidate_probability(0.3, 22, 5) < 0.06
    curve = candidate_probability(np.linspace(0, 1, 11), 22, 5)
    assert np.all(np.diff(curve) >= 0) and curve[0] == 0 and curve[-1] == 1
    low, high = estimate_margin(0.7, 112)
    assert 0.5 < low < 0.7 < high < 0.9
