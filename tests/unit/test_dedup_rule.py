"""The per-document near-dedup rule (tiers/dedup/rule.py, clusters.py) on shapes that chain: every drop
names a kept document whose Jaccard with it, measured here on plain Python sets of word 5-grams, reaches
the threshold, and the clusters are those of a brute-force greedy over those sets."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.dedup_shapes import THRESHOLD, bridged, chain, greedy, jaccard, star
from tiers.config import MinHashConfig
from tiers.dedup.near import sketch
from tiers.dedup.rule import near_clusters


def run(texts: list[str], fixed: int = 0, **settings):
    config = MinHashConfig(**settings)
    return near_clusters(sketch(texts, config), fixed, config)


def check_drops(texts: list[str], kept: np.ndarray, measured: np.ndarray) -> None:
    for doc in np.flatnonzero(kept != np.arange(len(texts))):
        target = int(kept[doc])
        assert kept[target] == target, "a drop names a document that is itself dropped"
        truth = jaccard(texts[doc], texts[target])
        assert truth >= THRESHOLD
        assert measured[doc] == pytest.approx(truth, abs=0.01)


def test_chain_of_60_keeps_several_and_drops_only_near_the_kept_document():
    texts = chain(random.Random(3), 60)
    assert jaccard(texts[0], texts[1]) > 0.8 and jaccard(texts[0], texts[-1]) < 0.05
    result = run(texts)
    assert len(set(result.components.tolist())) == 1, "the chain is one component (what chained before)"
    kept = result.clusters.kept
    check_drops(texts, kept, result.clusters.jaccard)
    assert kept.tolist() == greedy(texts)
    assert (kept == np.arange(60)).sum() >= 10


def test_star_with_the_smallest_id_on_a_leaf():
    texts = star(random.Random(5), 8)
    result = run(texts)
    check_drops(texts, result.clusters.kept, result.clusters.jaccard)
    assert result.clusters.kept.tolist() == greedy(texts)


def test_two_clusters_bridged_by_one_document_stay_two():
    texts = bridged(random.Random(7))
    assert jaccard(texts[0], texts[2]) < THRESHOLD <= min(jaccard(texts[0], texts[1]), jaccard(texts[1], texts[2]))
    result = run(texts)
    assert len(set(result.components.tolist())) == 1
    kept = result.clusters.kept
    check_drops(texts, kept, result.clusters.jaccard)
    assert kept.tolist() == greedy(texts)
    assert kept[2] != 0 and kept[0] != 2, "the two ends, below the threshold, never name each other"


def test_exact_copies_inside_a_chain():
    texts = chain(random.Random(11), 20)
    texts = texts[:8] + [texts[7], texts[7]] + texts[8:]
    result = run(texts)
    check_drops(texts, result.clusters.kept, result.clusters.jaccard)
    assert result.clusters.kept.tolist() == greedy(texts)
    kept = result.clusters.kept
    assert kept[8] == kept[9] and kept[8] in (kept[7], 7), "copies share the fate of the text they copy"


def test_reference_documents_are_kept_and_never_absorbed():
    texts = chain(random.Random(13), 12)
    old = [texts[5], texts[0]]  # positions 0 and 1: already in L1, in the rule's order
    result = run(old + texts, fixed=2)
    kept = result.clusters.kept
    assert kept[0] == 0 and kept[1] == 1
    check_drops(old + texts, kept, result.clusters.jaccard)
    assert kept.tolist() == greedy(old + texts, fixed=2)


def test_a_component_over_the_cap_stops_and_says_so():
    texts = chain(random.Random(3), 60)
    full = run(texts)
    capped = run(texts, max_cluster_comparisons=100)
    found = capped.clusters
    assert found.capped.any()
    check_drops(texts, found.kept, found.jaccard)
    assert len(found.dropped()) < len(full.clusters.dropped()), "past the cap, documents stay"
    assert found.kept[found.capped].tolist() == np.flatnonzero(found.capped).tolist()
    assert not full.clusters.capped.any()
