"""L1 to L2 on the local engine writes what the Spark engine writes (issue 32), under both policies for
languages without a model (issue 25).

One root is promoted to L1 on the local engine, copied twice, and each copy promoted to L2 by one
engine: the scores, L2 and the drops must hold the same rows, and the comparison is not empty (both
engines select some English documents, drop others below the threshold and route other languages to
the policy)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jobs.engine import Execution
from jobs.l1_to_l2 import run_l1_to_l2
from jobs.pipeline import run_l0_to_l1
from tests.helpers import PIPELINE_INPUTS, TEST_OVERRIDES, open_catalog
from tiers.config import load_config

pytestmark = pytest.mark.shared_data
KINDS = ["l2_scores", "L2", "drops"]


def _rows(root: Path, kind: str, job_prefix: str = "") -> list[tuple]:
    files = sorted(str(p) for p in (root / kind).rglob("*.parquet") if job_prefix in str(p))
    if not files:
        return []
    table = ds.dataset(files, format="parquet").to_table()
    table = table.drop_columns([c for c in ("run_id",) if c in table.column_names])
    rows = []
    for row in table.to_pylist():
        if row.get("details"):
            row["details"] = json.loads(row["details"])
        rows.append(tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in row.items())))
    return sorted(rows)


@pytest.fixture(scope="module")
def l1_root(tmp_path_factory):
    if not all(Path(p).exists() for p in PIPELINE_INPUTS):
        pytest.skip("the samples are not in ../shared/data")
    root = tmp_path_factory.mktemp("l2-engines") / "base"
    config = load_config(None, TEST_OVERRIDES + ["engine.kind=local"])
    results = run_l0_to_l1(Execution(config), config, PIPELINE_INPUTS, str(root))
    return root, results["l0_to_l1"].run_id


@pytest.fixture(scope="module", params=["drop", "keep"])
def promoted(request, spark, l1_root):
    base, l1_run = l1_root
    policy = [f"l2.languages_without_model={request.param}"]
    roots = {}
    for kind in ("spark", "local"):
        root = base.parent / f"{kind}-{request.param}"
        shutil.copytree(base, root)
        config = load_config(None, TEST_OVERRIDES + policy + [f"engine.kind={kind}"])
        engine = Execution(config, spark if kind == "spark" else None)
        roots[kind] = (root, run_l1_to_l2(engine, config, str(root), l1_run))
        if kind == "local":
            assert not engine.spark_started, "the local engine started Spark"
    return request.param, roots


@pytest.mark.parametrize("kind", KINDS)
def test_local_l2_writes_what_spark_writes(promoted, kind):
    _, roots = promoted
    on_spark, local = _rows(roots["spark"][0], kind, "l2_"), _rows(roots["local"][0], kind, "l2_")
    assert on_spark, f"nothing to compare in {kind}"
    assert on_spark == local


def test_policy_decides_where_unscored_languages_go(promoted):
    policy, roots = promoted
    root, result = roots["local"]
    with open_catalog(root) as con:
        l1 = con.execute("SELECT count(*) FROM l1").fetchone()[0]
        unscored = con.execute("SELECT count(*) FROM l2_scores WHERE quality_score IS NULL").fetchone()[0]
        in_l2 = con.execute("SELECT count(*) FROM l2 WHERE quality_score IS NULL").fetchone()[0]
        reasons = dict(
            con.execute("SELECT reason, count(*) FROM drops WHERE stage = 'quality_classifier' GROUP BY 1").fetchall()
        )
        l2 = con.execute("SELECT count(*) FROM l2").fetchone()[0]
    assert unscored > 0 and reasons.get("below_quality_threshold", 0) > 0
    assert l2 + sum(reasons.values()) == l1
    assert sum(result.counts["no_model_languages"].values()) == unscored
    if policy == "drop":
        assert in_l2 == 0 and reasons["no_model_for_language"] == unscored
    else:
        assert in_l2 == unscored and "no_model_for_language" not in reasons
