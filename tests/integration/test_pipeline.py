"""`l0-to-l2` end to end on real samples: counts conserved through L0, L1, L2; scores; re-selection."""

from __future__ import annotations


import numpy as np
import pyarrow.dataset as ds

from classifiers.model import QualityModel
from jobs.l1_to_l2 import run_l1_to_l2
from jobs.pipeline import run_l0_to_l2
from tests.helpers import TEST_OVERRIDES
from tiers.catalog import Catalog
from tiers.config import load_config

from tests.helpers import PIPELINE_INPUTS as INPUTS


def table(path, columns=None):
    return ds.dataset(path, format="parquet").to_table(columns=columns)


def test_counts_are_conserved_through_every_tier(pipeline_run):
    root, results = pipeline_run
    catalog = Catalog(root)
    ingest, l1, l2 = results["ingest"], results["l0_to_l1"], results["l1_to_l2"]
    assert ingest.counts["records_in"] == ingest.counts["l0"] + ingest.counts["quarantine"]
    assert l1.counts["l0_in"] == ingest.counts["l0"] == l1.counts["l1"] + l1.counts["dropped"]
    assert l2.counts["l1_in"] == l1.counts["l1"] == l2.counts["l2"] + l2.counts["dropped"]
    _, rows = catalog.query(
        "SELECT tier, count(DISTINCT doc_id) FROM membership WHERE tier IN ('L0', 'L1', 'L2') GROUP BY tier"
    )
    assert dict(rows) == {"L0": ingest.counts["l0"], "L1": l1.counts["l1"], "L2": l2.counts["l2"]}
    _, rows = catalog.query(
        "SELECT count(*) FROM l0 WHERE doc_id NOT IN (SELECT doc_id FROM l1) AND doc_id NOT IN "
        "(SELECT doc_id FROM drops WHERE stage <> 'quality_classifier')"
    )
    assert rows == [(0,)]
    _, rows = catalog.query(
        "SELECT count(*) FROM (SELECT doc_id FROM drops GROUP BY doc_id, run_id HAVING count(*) > 1)"
    )
    assert rows == [(0,)]
    _, rows = catalog.query("SELECT count(*) FROM l1 WHERE parent_ids[1] <> doc_id")
    assert rows == [(0,)]
    assert l1.counts["operators"]["langid"]["docs_in"] > 0


def test_every_drop_has_a_stage_and_a_reason_and_dedup_names_the_kept_doc(pipeline_run):
    root, _ = pipeline_run
    catalog = Catalog(root)
    _, rows = catalog.query("SELECT count(*) FROM drops WHERE stage IS NULL OR reason IS NULL")
    assert rows == [(0,)]
    _, rows = catalog.query(
        "SELECT count(*), count(*) FILTER (WHERE json_extract_string(details, '$.kept') IN (SELECT doc_id FROM l1)) "
        "FROM drops WHERE stage IN ('exact_dedup', 'minhash_dedup')"
    )
    total, pointing_to_l1 = rows[0]
    assert total >= 1 and total == pointing_to_l1


def test_spark_scores_equal_local_scores(pipeline_run):
    root, results = pipeline_run
    catalog = Catalog(root)
    scores = table(catalog.committed_outputs(kind="l2_scores")[0].path).to_pandas().set_index("doc_id")
    l1 = table(catalog.committed_outputs(kind="L1")[0].path, ["doc_id", "text", "lang"]).to_pandas()
    english = l1[l1.lang == "en"]
    assert len(english) > 20
    _, rows = catalog.query("SELECT path FROM models WHERE lang = 'en'")
    local = QualityModel(rows[0][0]).score(english.text.tolist())
    spark_scores = scores.loc[english.doc_id, "quality_score"].to_numpy()
    assert np.allclose(local, spark_scores, atol=1e-6)
    others = scores.loc[l1[~l1.lang.isin(["en", "zh"])].doc_id, "quality_score"]
    assert others.isna().all()


def test_a_new_threshold_reselects_without_rescoring(spark, test_config, pipeline_run):
    root, results = pipeline_run
    stricter = load_config(None, [*TEST_OVERRIDES, "l2.threshold=0.8"])
    result = run_l1_to_l2(spark, stricter, str(root), results["l0_to_l1"].run_id)
    assert result.counts["scoring_skipped"] is True
    assert result.counts["score_run"] == results["l1_to_l2"].counts["score_run"]
    assert result.counts["l2"] <= results["l1_to_l2"].counts["l2"]
    selected = (
        table(Catalog(root).committed_outputs(kind="L2")[-1].path, ["quality_score"]).column("quality_score").to_numpy()
    )
    assert (selected >= 0.8).all()
    assert result.counts["l1_in"] == result.counts["l2"] + result.counts["dropped"]


def test_rerunning_the_same_command_skips_every_stage(spark, test_config, pipeline_run):
    root, results = pipeline_run
    again = run_l0_to_l2(spark, test_config, INPUTS, str(root))
    assert again["ingest"].skipped and again["l0_to_l1"].skipped
    assert again["l1_to_l2"].counts["scoring_skipped"] is True
    assert again["l1_to_l2"].run_id == results["l1_to_l2"].run_id


def test_status_reports_the_funnel(pipeline_run):
    root, results = pipeline_run
    report = Catalog(root).status()
    assert (
        report["tiers"]["L0"]["documents"] > report["tiers"]["L1"]["documents"] > report["tiers"]["L2"]["documents"] > 0
    )
    stages = {stage for stage, _, _ in report["drops"]}
    assert {"length", "langid", "exact_dedup", "quality_classifier"} <= stages
