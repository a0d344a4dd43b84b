"""Candidate links and components (tiers/dedup/near.py): the bucket links against a brute-force listing,
the one-pass components against the step-by-step ones (distinct pairs, verified, then union-find), and
a copy that only the window links reach."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.dedup_shapes import THRESHOLD, chain, jaccard, star, words
from tiers.config import MinHashConfig
from tiers.dedup.near import (
    BUCKET_WINDOW,
    bucket_links,
    candidate_pairs,
    component_roots,
    sketch,
    verified_components,
    verified_pairs,
)
from tiers.dedup.rule import near_clusters


def links_of(new_bucket: np.ndarray, window: int) -> set[tuple[int, int]]:
    members, targets, further = bucket_links(new_bucket, window)
    found = set(zip(members.tolist(), targets.tolist()))
    found |= {(m, f) for m, f in zip(members.tolist(), further.tolist()) if f >= 0}
    return found


@pytest.mark.parametrize("window", [1, 3, 16])
def test_bucket_links_are_the_first_member_and_the_window_before(window):
    rng = random.Random(window)
    sizes = [rng.choice([1, 1, 2, 3, 5, 17, 40]) for _ in range(60)]
    new_bucket = np.concatenate([[True] + [False] * (s - 1) for s in sizes]).astype(bool)
    expected, start = set(), 0
    for size in sizes:
        for row in range(start + 1, start + size):
            expected.add((row, start))
            expected |= {(row, row - d) for d in range(1, window + 1) if row - d >= start}
        start += size
    assert links_of(new_bucket, window) == expected


def test_bucket_links_per_member_are_bounded_by_the_window():
    members, targets, further = bucket_links(np.array([True] + [False] * 999), 16)
    per_member = np.bincount(members) + np.bincount(members[further >= 0], minlength=1000)
    assert per_member.max() == 17


def family_texts(seed: int) -> list[str]:
    """Stars, chains and unrelated texts shuffled together, so buckets mix documents above and below the
    threshold of each other."""
    rng = random.Random(seed)
    texts = star(rng, 12) + chain(rng, 25, share=0.04) + [" ".join(words(rng, 300)) for _ in range(20)]
    texts += chain(rng, 15, share=0.02)
    rng.shuffle(texts)
    return texts


@pytest.mark.parametrize("verify", ["exact", "signature", "none"])
def test_one_pass_components_equal_the_step_by_step_ones(verify):
    config = MinHashConfig(verify=verify)
    sketches = sketch(family_texts(3), config)
    src, dst = candidate_pairs(sketches.keys)
    keep = verified_pairs(sketches, src, dst, config)
    expected = component_roots(len(sketches.signatures), src[keep], dst[keep])
    # the links in band order, with repeats: the order in which `verified_components` meets them
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(src))
    linked = verified_components(sketches, np.repeat(src[shuffled], 2), np.repeat(dst[shuffled], 2), config)
    assert linked.roots.tolist() == expected.tolist()
    assert linked.joined == len(expected) - len(np.unique(expected))
    assert linked.joined <= linked.checked < 2 * len(src)


def test_a_copy_reached_only_through_the_window_is_dropped():
    """In one bucket (every document made to share one band key), in id order: an unrelated text, the
    original, another unrelated text, then a copy of the original. The copy's first and previous bucket
    members are both unrelated to it; only the link two members back reaches the original."""
    rng = random.Random(11)
    original = words(rng, 400)
    copy = list(original)
    copy[100:110] = words(rng, 10)
    texts = [" ".join(words(rng, 400)), " ".join(original), " ".join(words(rng, 400)), " ".join(copy)]
    assert jaccard(texts[3], texts[1]) >= THRESHOLD
    assert max(jaccard(texts[3], texts[0]), jaccard(texts[3], texts[2]), jaccard(texts[1], texts[0])) < 0.1
    config = MinHashConfig(bands=1, rows=5)
    sketches = sketch(texts, config)
    sketches.keys = np.zeros((4, 1), dtype=np.int64)
    one_bucket = np.array([True, False, False, False])
    assert (3, 1) not in links_of(one_bucket, 1)
    result = near_clusters(sketches, 0, config)
    assert result.clusters.kept.tolist() == [0, 1, 2, 1]
    assert result.clusters.jaccard[3] == pytest.approx(jaccard(texts[3], texts[1]), abs=0.01)


def test_exact_duplicates_take_no_place_in_a_bucket():
    """One bucket, in id order: an unrelated text, the original, `BUCKET_WINDOW` exact copies of the
    unrelated text (excluded: already dropped), then a copy of the original. Left out of the bucket (as
    the Spark body sketches only the survivors), the copies do not push the original out of the copy's
    window, and the rule decides as over the three survivors alone."""
    rng = random.Random(13)
    unrelated, original = " ".join(words(rng, 400)), words(rng, 400)
    copy = list(original)
    copy[200:210] = words(rng, 10)
    texts = [unrelated, " ".join(original)] + [unrelated] * BUCKET_WINDOW + [" ".join(copy)]
    config = MinHashConfig(bands=1, rows=5)
    sketches = sketch(texts, config)
    sketches.keys = np.zeros((len(texts), 1), dtype=np.int64)
    excluded = np.arange(2, 2 + BUCKET_WINDOW)
    last = len(texts) - 1
    found = near_clusters(sketches, 0, config, excluded).clusters
    assert found.kept[last] == 1
    survivors = np.array([0, 1, last])
    alone = near_clusters(sketches.take(survivors), 0, config).clusters
    assert survivors[alone.kept].tolist() == found.kept[survivors].tolist()
    assert found.kept[excluded].tolist() == excluded.tolist()
