"""A quality classifier that cannot select fails L2 with a message; one that can passes (issue 12).

Before these checks, the bootstrap model scored every English document between 0.5000032 and
0.5000117 and L2 was silently "all English L1".
"""

from __future__ import annotations

import json

import pytest

from classifiers.train import training_params
from jobs.l1_to_l2 import ClassifierRejected, check_spread, run_l1_to_l2
from tests.helpers import TEST_OVERRIDES, open_catalog
from tiers.config import ClassifierTrainConfig, load_config


def test_small_seed_sets_get_enough_epochs_and_a_small_hash_table():
    config = ClassifierTrainConfig()
    small, large = training_params(config, 300), training_params(config, 5_000_000)
    assert small["epoch"] == 50 and small["minCount"] == 1 and small["bucket"] == 60_000
    assert (large["epoch"], large["minCount"], large["bucket"]) == (3, 5, 2_000_000)
    assert training_params(ClassifierTrainConfig(scale_to_seeds=False), 300)["epoch"] == 3


def test_scores_in_a_narrow_band_are_refused():
    config = load_config(None, ["l2.min_score_spread=0.05"])
    with pytest.raises(ClassifierRejected, match=r"between 0.5000032 and 0.5000117"):
        check_spread({"en": (0.5000032, 0.5000117, 145)}, config)
    check_spread({"en": (0.1, 0.9, 145)}, config)


def test_the_bootstrap_model_separates_held_out_seeds_and_spreads_its_scores(pipeline_run):
    root, results = pipeline_run
    with open_catalog(root) as con:
        metrics = json.loads(
            con.execute(
                "SELECT metrics_json FROM models WHERE lang = 'en' ORDER BY created_at DESC LIMIT 1"
            ).fetchone()[0]
        )
        scores = con.execute(
            "SELECT quantile_cont(quality_score, 0.05), quantile_cont(quality_score, 0.95) "
            "FROM l2_scores WHERE model_lang = 'en'"
        ).fetchone()
        without_model = dict(
            con.execute(
                "SELECT coalesce(lang, 'unknown'), count(*) FROM l1 WHERE coalesce(lang, '') <> 'en' GROUP BY 1"
            ).fetchall()
        )
    assert metrics["roc_auc"] >= 0.7 and metrics["n"] >= 60, metrics
    assert metrics["train_params"]["epoch"] > 3
    assert scores[1] - scores[0] >= 0.05, scores
    assert without_model and results["l1_to_l2"].counts["no_model_languages"] == without_model


def test_seeds_that_are_alike_fail_l2_and_name_the_problem(spark, pipeline_run, tmp_path):
    root, results = pipeline_run
    seeds = tmp_path / "alike.yaml"
    seeds.write_text(
        "languages:\n  en:\n"
        "    positive:\n      - sql: \"SELECT text FROM l1 WHERE lang = 'en' AND hash(doc_id) % 2 = 0\"\n"
        "    negative:\n      - sql: \"SELECT text FROM l1 WHERE lang = 'en' AND hash(doc_id) % 2 = 1\"\n"
    )
    config = load_config(None, [*TEST_OVERRIDES, f"l2.seeds={json.dumps(str(seeds))}"])
    with open_catalog(root) as con:
        before = con.execute("SELECT count(*) FROM runs WHERE status = 'committed'").fetchone()[0]
    with pytest.raises(ClassifierRejected, match=r"held-out ROC AUC .* < l2.min_auc 0.7"):
        run_l1_to_l2(spark, config, str(root), results["l0_to_l1"].run_id, force=True)
    with open_catalog(root) as con:
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'committed'").fetchone()[0] == before
