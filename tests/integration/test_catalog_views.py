"""Tier and output-kind views exist before anything is committed, with the columns real files have
(issue 28): a query over a tier that a root lacks runs and returns nothing."""

from __future__ import annotations

from tests.helpers import open_catalog
from tiers.catalog import Catalog
from tiers.catalog.views import KIND_SCHEMAS, TIER_SCHEMAS


def _columns(con, view: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {view}").fetchall()}


def test_a_root_without_tiers_answers_queries_over_every_view(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.migrate()
    assert catalog.query("SELECT run_id FROM l1") == (["run_id"], [])
    assert catalog.query("SELECT doc_id, text, n_tokens FROM l0") == (["doc_id", "text", "n_tokens"], [])
    assert catalog.query("SELECT doc_id, parent_id, text FROM l3") == (["doc_id", "parent_id", "text"], [])
    assert catalog.query("SELECT count(*) FROM l2 JOIN l2_scores USING (doc_id)") == (["count_star()"], [(0,)])
    for view in [*(tier.lower() for tier in TIER_SCHEMAS), *KIND_SCHEMAS, "allocation", "membership"]:
        assert catalog.query(f"SELECT * FROM {view}")[1] == []


def test_empty_views_have_the_columns_of_the_files_the_jobs_write(pipeline_run, tmp_path):
    root, _ = pipeline_run
    Catalog(tmp_path).migrate()
    with open_catalog(root) as written, open_catalog(tmp_path) as empty:
        for view in ["l0", "l1", "l2", "drops", "quarantine", "l2_scores"]:
            real, bare = _columns(written, view), _columns(empty, view)
            assert real, view
            assert {name: real.get(name) for name in bare} == bare, view
