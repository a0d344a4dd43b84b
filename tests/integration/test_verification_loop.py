"""The verification loop on real data with a tiny model on the CPU: under the default metric (bits per
byte of the evaluation items' correct continuations) and against a same-size control, a clean pool (gold
article bodies) ranks above a spam pool (the resiliparse pages), experiments, their per-benchmark deltas
and the pairwise comparison are recorded, base models are cached and reused, and fixed seeds repeat."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip(
    "torch", reason="the verification loop needs torch (scripts/setup.sh dev installs the CPU build)"
)

from tests.helpers import RESILIPARSE_WARC, SCRAPINGHUB, SHARED_DATA, dolma_texts  # noqa: E402
from tiers.catalog import Catalog  # noqa: E402
from tiers.config import ClassifierTrainConfig  # noqa: E402
from tiers.io.readers import FileStats, ReaderOptions, read_file  # noqa: E402
from verification.experiment import VerifyConfig  # noqa: E402
from verification.benchmarks import BENCHMARKS  # noqa: E402
from verification.loop import LoopConfig, run_loop  # noqa: E402
from verification.metrics import load_material  # noqa: E402
from verification.model import ModelConfig  # noqa: E402

CONFIG = LoopConfig(
    ModelConfig(2, 64, 4, 96),
    base_steps=150,
    verify=VerifyConfig(seeds=(0, 1, 2), anneal_steps=40, batch_size=16),
    rounds=2,
    train=ClassifierTrainConfig(bucket=20000, min_count=1),
)


@pytest.fixture(scope="module")
def data():
    gold = [v["articleBody"] for _, v in sorted(json.loads((SCRAPINGHUB / "ground-truth.json").read_text()).items())]
    spam = [
        o.row["text"] for o in read_file(str(RESILIPARSE_WARC), "warc", ReaderOptions(), FileStats()) if o.kind == "l0"
    ]
    raw = [t for t in dolma_texts() if len(t) > 200]
    return {
        "pools": {"gold_articles": gold[:90], "spam_pages": spam},
        "default": raw[:300],
        "negatives": raw[300:],
        "material": load_material("benchmark_bpb", SHARED_DATA / "eval", list(BENCHMARKS), 100),
    }


def test_clean_pool_ranks_above_spam_and_experiments_are_recorded(tmp_path, data):
    torch.set_num_threads(1)
    catalog = Catalog(tmp_path)
    catalog.migrate()
    result = run_loop(
        data["pools"], data["default"], data["negatives"], data["material"], tmp_path / "models", CONFIG, catalog
    )
    assert result.ranking == ["gold_articles", "spam_pages"]
    assert "spam_pages" not in result.accepted
    assert CONFIG.verify.metric == "benchmark_bpb"
    _, parts = catalog.query(
        "SELECT pool, count(DISTINCT part), count(*) FILTER (WHERE ci_low <= delta AND delta <= ci_high) "
        "FROM experiment_parts WHERE round = 0 GROUP BY pool ORDER BY pool"
    )
    assert parts == [
        ("gold_articles", len(BENCHMARKS), len(BENCHMARKS)),
        ("spam_pages", len(BENCHMARKS), len(BENCHMARKS)),
    ]
    _, rows = catalog.query(
        "SELECT pool, round, delta, ci_low, ci_high, accepted, seconds, tokens_per_arm, baseline_json, "
        "candidate_json, config_json FROM experiments ORDER BY round, pool"
    )
    assert {r[0] for r in rows} >= {"gold_articles", "spam_pages"}
    for row in rows:
        assert all(value is not None for value in row)
        assert len(json.loads(row[8])) == len(json.loads(row[9])) == 6  # 2 bases x 3 anneal seeds
        assert row[3] <= row[2] <= row[4]
    _, pairs = catalog.query("SELECT better, worse, ci_low <= delta AND delta <= ci_high FROM experiment_pairs")
    assert pairs == [("gold_articles", "spam_pages", True)]
    assert result.order.startswith("gold_articles")
    candidates = {r[0]: json.loads(r[9]) for r in rows if r[1] == 0}
    expected = sum(candidates["gold_articles"]) / 6 - sum(candidates["spam_pages"]) / 6
    assert result.pairs[0].delta == pytest.approx(expected)
    from tiers.apps.report.data import collect

    panels = {p.key: p for section in collect(tmp_path).sections for p in section.panels}
    table = panels["experiment_pairs"].table
    assert table is not None and [row[1:3] for row in table.rows] == [("gold_articles", "spam_pages")]
    assert table.rows[0][3] == pytest.approx(expected, abs=1e-4)
    _, models = catalog.query("SELECT json_extract_string(seeds_json, '$.source') FROM models")
    accepted_in_catalog = {r[0] for r in rows if r[5]}
    assert set(result.accepted) <= accepted_in_catalog
    assert bool(result.model_path) == bool(result.accepted) == (("verification",) in models)
    assert bool(result.accepted) == any(r[1] >= 1 for r in rows)  # a second round runs only on a trained classifier


def test_same_result_twice_with_fixed_seeds(tmp_path, data):
    torch.set_num_threads(1)
    pools = {"spam_pages": data["pools"]["spam_pages"]}
    first = run_loop(pools, data["default"], data["negatives"], data["material"], tmp_path / "a", CONFIG)
    second = run_loop(pools, data["default"], data["negatives"], data["material"], tmp_path / "b", CONFIG)
    cached = run_loop(pools, data["default"], data["negatives"], data["material"], tmp_path / "a", CONFIG)
    assert not first.bases_cached and not second.bases_cached and cached.bases_cached
    assert first.experiments[0].candidate == second.experiments[0].candidate == cached.experiments[0].candidate
    assert first.experiments[0].control == second.experiments[0].control == cached.experiments[0].control
    assert len(list((tmp_path / "a").glob("verification-bases-*.pt"))) == 1


def test_the_loops_classifier_becomes_the_default_for_l2(tmp_path, data):
    from classifiers.registry import resolve_models
    from tiers.config import L2Config, LanguageModelConfig

    torch.set_num_threads(1)
    catalog = Catalog(tmp_path)
    catalog.migrate()
    pools = {"gold_articles": data["pools"]["gold_articles"]}
    result = run_loop(pools, data["default"], data["negatives"], data["material"], tmp_path / "models", CONFIG, catalog)
    assert result.accepted == ["gold_articles"] and result.model_path
    models = resolve_models(catalog, L2Config(models={"en": LanguageModelConfig()}))
    assert models["en"].path == result.model_path
