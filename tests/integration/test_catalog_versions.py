"""Each tier has one current version (issue 12): re-selecting L2 replaces the selection, history stays."""

from __future__ import annotations

from jobs.l1_to_l2 import run_l1_to_l2
from tests.helpers import TEST_OVERRIDES, open_catalog
from tiers.catalog import Catalog
from tiers.config import load_config


def current_l2(root) -> dict:
    with open_catalog(root) as con:
        one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        return {
            "rows": one("SELECT count(*) FROM l2")[0],
            "distinct": one("SELECT count(DISTINCT doc_id) FROM l2")[0],
            "runs": one("SELECT count(DISTINCT run_id) FROM l2")[0],
            "in_both": one(
                "SELECT count(*) FROM l2 JOIN drops USING (doc_id) WHERE drops.stage = 'quality_classifier'"
            )[0],
            "l1": one("SELECT count(*) FROM l1")[0],
            "quality_drops": one("SELECT count(*) FROM drops WHERE stage = 'quality_classifier'")[0],
            "history": one("SELECT count(*) FROM membership_history WHERE tier = 'L2' AND superseded_by IS NOT NULL")[
                0
            ],
        }


def test_reselecting_l2_replaces_the_selection_and_keeps_history(spark, pipeline_run):
    root, results = pipeline_run
    l1_run = results["l0_to_l1"].run_id
    stricter = run_l1_to_l2(spark, load_config(None, [*TEST_OVERRIDES, "l2.threshold=0.7"]), str(root), l1_run)
    after = current_l2(root)
    assert after["rows"] == after["distinct"] == stricter.counts["l2"] and after["runs"] == 1
    assert after["in_both"] == 0 and after["rows"] + after["quality_drops"] == after["l1"]
    assert after["history"] > 0
    assert Catalog(root).status()["tiers"]["L2"]["documents"] == stricter.counts["l2"]

    back = run_l1_to_l2(spark, load_config(None, TEST_OVERRIDES), str(root), l1_run)
    assert back.skipped and back.run_id == results["l1_to_l2"].run_id
    restored = current_l2(root)
    assert restored["rows"] == restored["distinct"] == results["l1_to_l2"].counts["l2"]
    assert restored["rows"] + restored["quality_drops"] == restored["l1"]
