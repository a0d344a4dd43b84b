"""L0 to L1 is two committed jobs: a new dedup setting (or a crash in dedup) re-runs dedup only (issue 9)."""

from __future__ import annotations

import duckdb

from jobs.pipeline import run_l0_to_l1
from tests.helpers import DOLMA, TEST_OVERRIDES
from tiers.config import load_config


def test_a_new_dedup_threshold_reuses_the_committed_operators(spark, test_config, tmp_path):
    root, inputs = str(tmp_path / "root"), [str(DOLMA)]
    first = run_l0_to_l1(spark, test_config, inputs, root)["l0_to_l1"]
    looser = load_config(None, [*TEST_OVERRIDES, "l1.dedup.minhash.threshold=0.6"])
    again = run_l0_to_l1(spark, looser, inputs, root)["l0_to_l1"]
    assert again.counts["filter_skipped"] is True and again.counts["filter_run"] == first.counts["filter_run"]
    assert again.run_id != first.run_id and not again.skipped
    assert again.counts["operators"] == first.counts["operators"]
    assert again.counts["l0_in"] == again.counts["l1"] + again.counts["dropped"]
    assert again.counts["dedup_dropped"] >= first.counts["dedup_dropped"]
    with duckdb.connect(f"{root}/catalog.duckdb", read_only=True) as con:
        jobs = [
            job
            for (job,) in con.execute("SELECT job FROM runs WHERE status = 'committed' ORDER BY started_at").fetchall()
        ]
    assert jobs == ["ingest", "l1_filter", "l1_dedup", "l1_dedup"]
