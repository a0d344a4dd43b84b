"""MinHash signatures against datasketch; exact and near-duplicate dedup on Spark over real texts."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasketch import MinHash

import jobs.dedup as dedup_module
from jobs.dedup import (
    exact_duplicates,
    exact_twins,
    near_assignments,
    near_duplicates,
    remove_dropped,
    sketch_frame,
    text_hashes,
)
from tests.dedup_shapes import chain, star
from tests.helpers import SCRAPINGHUB, dolma_texts
from tiers.config import MinHashConfig
from tiers.dedup.minhash import jaccard, optimal_bands, signatures
from tiers.dedup.near import sketch
from tiers.dedup.rule import near_clusters
from tiers.text import batch_shingle_hashes, shingle_hash32, shingle_hashes, shingles


def edit(text: str, rate: float, rng: random.Random) -> str:
    """Replace a share `rate` of the words with fresh words (controlled near-duplicate)."""
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * rate)):
        words[i] = f"edit{rng.randrange(10**9)}"
    return " ".join(words)


def shingle_jaccard(a: str, b: str) -> float:
    return jaccard(set(shingles(a, 5)), set(shingles(b, 5)))


@pytest.fixture(scope="module")
def articles() -> list[str]:
    gold = json.loads((SCRAPINGHUB / "ground-truth.json").read_text())
    return [item["articleBody"] for _, item in sorted(gold.items()) if len(item["articleBody"].split()) > 300]


def test_signatures_equal_datasketch_minhash_over_the_same_shingles():
    texts = [t for t in dolma_texts() if t][:60] + ["one two", "a b c d e f g"]
    ours = signatures(*batch_shingle_hashes(texts, 5), num_perm=112, seed=1)
    for text, row in zip(texts, ours):
        reference = MinHash(num_perm=112, seed=1, hashfunc=shingle_hash32)
        reference.update_batch(shingles(text, 5))
        assert np.array_equal(reference.hashvalues.astype(np.uint32), row)
    other_seed = signatures(*batch_shingle_hashes(texts[:1], 5), num_perm=112, seed=7)
    one_by_one = [shingle_hashes(t, 5) for t in texts]
    flat, counts = batch_shingle_hashes(texts, 5)
    assert np.array_equal(np.concatenate(one_by_one), flat) and list(counts) == [len(h) for h in one_by_one]
    assert not np.array_equal(other_seed[0], ours[0])


def test_band_layout_from_a_threshold():
    bands, rows = optimal_bands(0.72, 112)
    assert bands * rows <= 112
    assert 0.6 < (1 / bands) ** (1 / rows) < 0.85


def near_dedup(spark, docs, config: MinHashConfig):
    """(kept, drops) of the near-dedup rule on Spark, without exact dedup first."""
    dropped = near_duplicates(near_assignments(spark, config, sketch_frame(docs, config).localCheckpoint()), docs)
    dropped = dropped.localCheckpoint()
    return remove_dropped(docs, dropped), dropped


def exact_dedup(docs):
    dropped = exact_duplicates(exact_twins(text_hashes(docs))).localCheckpoint()
    return remove_dropped(docs, dropped), dropped


def frame(spark, texts: list[str], prefix: str = "d"):
    rows = [(f"{prefix}{i:05d}", t, "test") for i, t in enumerate(texts)]
    return spark.createDataFrame(rows, "doc_id string, text string, source string")


def test_near_duplicate_recall_and_precision_on_controlled_edits(spark, articles):
    rng = random.Random(7)
    texts, pairs = list(articles), []
    for i, base in enumerate(articles):
        rate = rng.choice([0.005, 0.01, 0.02, 0.03, 0.12, 0.2, 0.3])
        copy = edit(base, rate, rng)
        pairs.append((i, len(texts), shingle_jaccard(base, copy)))
        texts.append(copy)
    kept, dropped = near_dedup(spark, frame(spark, texts), MinHashConfig())
    cluster_of = {f"d{i:05d}": f"d{i:05d}" for i in range(len(texts))}
    for row in dropped.collect():
        cluster_of[row.doc_id] = json.loads(row.details)["cluster"]
    high = [(a, b) for a, b, j in pairs if j >= 0.8]
    low = [(a, b) for a, b, j in pairs if j <= 0.5]
    assert len(high) > 30 and len(low) > 30
    merged = lambda a, b: cluster_of[f"d{a:05d}"] == cluster_of[f"d{b:05d}"]  # noqa: E731
    recall = sum(merged(a, b) for a, b in high) / len(high)
    assert recall >= 0.95, recall
    assert not any(merged(a, b) for a, b in low)
    assert kept.count() + dropped.count() == len(texts)


def test_signature_verification_keeps_recall_and_precision(spark, articles):
    rng = random.Random(3)
    texts, pairs = list(articles[:80]), []
    for i, base in enumerate(articles[:80]):
        copy = edit(base, rng.choice([0.005, 0.01, 0.2, 0.3]), rng)
        pairs.append((i, len(texts), shingle_jaccard(base, copy)))
        texts.append(copy)
    _, dropped = near_dedup(spark, frame(spark, texts), MinHashConfig(verify="signature"))
    removed = {row.doc_id for row in dropped.collect()}
    high = [b for a, b, j in pairs if j >= 0.8]
    low = [b for a, b, j in pairs if j <= 0.5]
    assert sum(f"d{b:05d}" in removed for b in high) / len(high) >= 0.95
    assert not any(f"d{b:05d}" in removed for b in low)


def test_natural_duplicates_in_the_dolma_sample(spark):
    texts = dolma_texts()
    docs = frame(spark, texts)
    kept, exact = exact_dedup(docs)
    exact_rows = exact.collect()
    groups = {}
    for row in exact_rows:
        groups.setdefault(json.loads(row.details)["kept"], []).append(row.doc_id)
    sizes = sorted(len(members) + 1 for members in groups.values())
    assert sizes == [2, 3, 7, 27]
    nonempty = kept.filter("length(trim(text)) > 0")
    near_kept, near = near_dedup(spark, nonempty, MinHashConfig())
    near_rows = near.collect()
    assert len(near_rows) == 1
    row = near_rows[0]
    kept_id = json.loads(row.details)["kept"]
    a, b = texts[int(row.doc_id[1:])], texts[int(kept_id[1:])]
    assert shingle_jaccard(a, b) > 0.95
    assert "ballads" in (a + b).lower() or "bodleian" in (a + b).lower()


def test_a_chain_is_one_component_of_several_clusters_in_spark(spark, articles):
    rng = random.Random(11)
    chain = [articles[0]]
    for _ in range(10):
        chain.append(edit(chain[-1], 0.01, rng))
    assert shingle_jaccard(chain[0], chain[-1]) < 0.7 <= min(shingle_jaccard(a, b) for a, b in zip(chain, chain[1:]))
    big = [edit(articles[1], 0.005, rng) for _ in range(150)]
    texts = chain + big + articles[2:20]
    kept, dropped = near_dedup(spark, frame(spark, texts), MinHashConfig())
    text_of = {f"d{i:05d}": t for i, t in enumerate(texts)}
    clusters, components = {}, {}
    for row in dropped.collect():
        details = json.loads(row.details)
        assert details["cluster"] == details["kept"]
        clusters.setdefault(details["kept"], set()).add(row.doc_id)
        components.setdefault(details["component"], set()).add(row.doc_id)
        truth = shingle_jaccard(text_of[row.doc_id], text_of[details["kept"]])
        assert truth >= 0.7 and details["jaccard"] == pytest.approx(truth, abs=0.01)
    chain_ids = {f"d{i:05d}" for i in range(len(chain))}
    big_ids = {f"d{i:05d}" for i in range(len(chain), len(chain) + len(big))}
    assert components[min(chain_ids)] <= chain_ids
    assert clusters[min(big_ids)] == big_ids - {min(big_ids)}
    kept_ids = {r.doc_id for r in kept.select("doc_id").collect()}
    kept_chain = kept_ids & chain_ids
    assert len(kept_chain) >= 2, "the chain's far end is not dropped through it"
    assert min(big_ids) in kept_ids and not (kept_ids & big_ids) - {min(big_ids)}


@pytest.mark.parametrize("broadcast", [True, False], ids=["placements broadcast", "sketches shuffled twice"])
@pytest.mark.parametrize("cap", [20_000_000, 150])
def test_spark_tasks_decide_what_the_local_rule_decides_including_over_the_cap(spark, cap, broadcast, monkeypatch):
    if not broadcast:
        monkeypatch.setattr(dedup_module, "BROADCAST_DOCUMENTS", 0)
    texts = chain(random.Random(23), 60) + star(random.Random(2), 6)
    config = MinHashConfig(max_cluster_comparisons=cap)
    _, dropped = near_dedup(spark, frame(spark, texts), config)
    on_spark = {row.doc_id: json.loads(row.details) for row in dropped.collect()}
    local = near_clusters(sketch(texts, config), 0, config)
    ids = [f"d{i:05d}" for i in range(len(texts))]
    expected = {
        ids[p]: {"kept": ids[local.clusters.kept[p]], "component": ids[local.components[p]]}
        for p in local.clusters.dropped().tolist()
    }
    assert {d: {"kept": v["kept"], "component": v["component"]} for d, v in on_spark.items()} == expected
    assert local.clusters.capped.any() == (cap == 150)
