"""spark-submit to a real standalone master with two one-core workers on 127.0.0.1: the l0-to-l2 chain against
a local run, and l0-to-l1 on one worker against two."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from bench.standalone import standalone_cluster as standalone
from jobs.packaging import build_pyfiles
from tests.helpers import PIPELINE_INPUTS, REPO, TEST_OVERRIDES
from tiers.catalog import Catalog

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """A master and two one-core workers on 127.0.0.1 (bench/standalone.py), for the whole module."""
    with standalone(tmp_path_factory.mktemp("standalone"), workers=2, cores=1, memory="2g") as cluster:
        yield cluster.master, cluster.env, cluster.spark_home


def _tier_snapshot(root, results: dict[str, str], with_l2: bool = True) -> dict[str, object]:
    """Documents per tier, drop reasons, and with `with_l2` scores and L2, of the given runs (kind -> run id)."""
    catalog = Catalog(root)

    def rows(kind: str, run_id: str, columns: list[str]) -> list[tuple]:
        files = [
            str(f) for o in catalog.committed_outputs(kind=kind, run_id=run_id) for f in Path(o.path).rglob("*.parquet")
        ]
        table = ds.dataset(files, format="parquet").to_table(columns=columns)
        return sorted(zip(*[table.column(c).to_pylist() for c in columns]))

    tiers = {
        "L0": rows("L0", results["ingest"], ["doc_id", "text", "url", "offset"]),
        "L1": rows("L1", results["l0_to_l1"], ["doc_id", "text", "lang"]),
        "L1 drops": rows("drops", results["l0_to_l1"], ["doc_id", "stage", "reason", "details"])
        + rows("drops", results["l1_filter"], ["doc_id", "stage", "reason"]),
    }
    if not with_l2:
        return tiers
    return {
        **tiers,
        "scores": [
            (d, lang, round(score, 5) if score is not None else None)
            for d, lang, score in rows("l2_scores", results["l2_score"], ["doc_id", "model_lang", "quality_score"])
        ],
        "L2": rows("L2", results["l1_to_l2"], ["doc_id"]),
    }


def _submit(cluster, dist: Path, root: Path, chain: str, cores: int | None = None) -> tuple[str, int]:
    """spark-submit `jobs/pipeline.py chain` over the pipeline inputs; (its stderr, executors it was given)."""
    master, env, spark_home = cluster
    events = root.parent / f"{root.name}-events"
    events.mkdir(parents=True)
    args = [str(spark_home / "bin" / "spark-submit"), "--master", master, "--py-files", str(build_pyfiles(dist))]
    args += ["--conf", "spark.executor.memory=1g", "--conf", "spark.eventLog.enabled=true"]
    args += ["--conf", f"spark.eventLog.dir={events}", "--conf", "spark.eventLog.rolling.enabled=false"]
    args += ["--conf", "spark.eventLog.compress=false"]
    if cores is not None:
        args += ["--conf", f"spark.cores.max={cores}"]
    args += [str(REPO / "jobs" / "pipeline.py"), chain, "--root", str(root)]
    for path in PIPELINE_INPUTS:
        args += ["--input", path]
    for override in TEST_OVERRIDES:
        if not override.startswith("spark."):
            args += ["--set", override]
    submitted = subprocess.run(
        args, env={**env, "PYTHONPATH": ""}, cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert submitted.returncode == 0, (submitted.stdout + submitted.stderr)[-4000:]
    (log,) = list(events.iterdir())
    executors = sum('"Event":"SparkListenerExecutorAdded"' in line for line in log.read_text().splitlines())
    return submitted.stderr, executors


def _committed_runs(root: Path) -> dict[str, str]:
    _, runs = Catalog(root).query("SELECT job, run_id FROM runs WHERE status = 'committed'")
    return dict(runs)


@pytest.fixture(scope="module")
def two_worker_run(standalone_cluster, tmp_path_factory):
    """l0-to-l2 submitted to the two-worker cluster: (data root, its stderr, executors it was given)."""
    work = tmp_path_factory.mktemp("two-workers")
    stderr, executors = _submit(standalone_cluster, work / "dist", work / "cluster", "l0-to-l2")
    return work / "cluster", stderr, executors


def test_l0_to_l2_under_spark_submit_on_a_standalone_cluster_matches_a_local_run(two_worker_run, pipeline_run):
    """All stages through spark-submit (models trained on the driver, shipped with addFile, conf/ and seeds
    read from inside the --py-files zip) give the same tiers as the local run of the same inputs."""
    cluster_root, stderr, executors = two_worker_run
    assert "spark://127.0.0.1" in stderr
    assert executors == 2

    _, cluster_runs = Catalog(cluster_root).query("SELECT job, status, run_id FROM runs ORDER BY started_at")
    assert [(job, status) for job, status, _ in cluster_runs] == [
        ("ingest", "committed"),
        ("l1_filter", "committed"),
        ("l1_dedup", "committed"),
        ("l2_score", "committed"),
        ("l2_select", "committed"),
    ]
    cluster_ids = {job: run_id for job, _, run_id in cluster_runs}
    cluster_ids["l1_to_l2"], cluster_ids["l0_to_l1"] = cluster_ids["l2_select"], cluster_ids["l1_dedup"]
    local_root, local = pipeline_run
    local_ids = {stage: result.run_id for stage, result in local.items()}
    local_ids["l2_score"] = local["l1_to_l2"].counts["score_run"]
    local_ids["l1_filter"] = local["l0_to_l1"].counts["filter_run"]
    cluster, here = _tier_snapshot(cluster_root, cluster_ids), _tier_snapshot(local_root, local_ids)
    for key in here:
        assert cluster[key] == here[key], key
    assert len(here["L2"]) == local["l1_to_l2"].counts["l2"] > 0


def test_one_worker_writes_what_two_workers_write(standalone_cluster, two_worker_run, tmp_path):
    """l0-to-l1 limited to one executor core (spark.cores.max=1: one worker) writes the same L0, L1 and
    drops as the two-worker run: the outputs do not depend on how the work is spread."""
    two_root, _, two_executors = two_worker_run
    one_root = tmp_path / "one"
    _, one_executors = _submit(standalone_cluster, tmp_path / "dist", one_root, "l0-to-l1", cores=1)
    assert (one_executors, two_executors) == (1, 2)
    snapshots = []
    for root in (one_root, two_root):
        runs = _committed_runs(root)
        ids = {"ingest": runs["ingest"], "l0_to_l1": runs["l1_dedup"], "l1_filter": runs["l1_filter"]}
        snapshots.append(_tier_snapshot(root, ids, with_l2=False))
    assert snapshots[0] == snapshots[1]
    assert snapshots[0]["L1"] and snapshots[0]["L1 drops"]
