"""spark-submit of the whole l0-to-l2 chain to a real standalone master with two workers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jobs.packaging import build_pyfiles
from tests.helpers import PIPELINE_INPUTS, REPO, TEST_OVERRIDES
from tiers.catalog import Catalog
from tiers.llm.server import free_port

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.shared_data]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(tmp_path_factory.mktemp("work")),
    }
    port, ui = free_port(), free_port()
    spark_class = str(spark_home / "bin" / "spark-class")
    logs = tmp_path_factory.mktemp("logs")
    procs = [
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            env=env,
            stdout=open(logs / "master.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ]
    try:
        wait_for_port(port)
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        spark_class,
                        "org.apache.spark.deploy.worker.Worker",
                        f"spark://127.0.0.1:{port}",
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "1",
                        "--memory",
                        "2g",
                        "--webui-port",
                        str(free_port()),
                    ],
                    env=env,
                    stdout=open(logs / f"worker{i}.log", "w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.time() + 60
        while time.time() < deadline and (logs / "master.log").read_text().count("Registering worker") < 2:
            time.sleep(0.5)
        assert (logs / "master.log").read_text().count("Registering worker") == 2, (logs / "master.log").read_text()[
            -2000:
        ]
        yield f"spark://127.0.0.1:{port}", env, spark_home
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=30)


def _tier_snapshot(root, results: dict[str, str]) -> dict[str, object]:
    """Documents per tier, scores and drop reasons of the given runs (kind -> run id)."""
    catalog = Catalog(root)

    def rows(kind: str, run_id: str, columns: list[str]) -> list[tuple]:
        files = [
            str(f) for o in catalog.committed_outputs(kind=kind, run_id=run_id) for f in Path(o.path).rglob("*.parquet")
        ]
        table = ds.dataset(files, format="parquet").to_table(columns=columns)
        return sorted(zip(*[table.column(c).to_pylist() for c in columns]))

    return {
        "L0": rows("L0", results["ingest"], ["doc_id", "text", "url", "offset"]),
        "L1": rows("L1", results["l0_to_l1"], ["doc_id", "text", "lang"]),
        "L1 drops": rows("drops", results["l0_to_l1"], ["doc_id", "stage", "reason"])
        + rows("drops", results["l1_filter"], ["doc_id", "stage", "reason"]),
        "scores": [
            (d, lang, round(score, 5) if score is not None else None)
            for d, lang, score in rows("l2_scores", results["l2_score"], ["doc_id", "model_lang", "quality_score"])
        ],
        "L2": rows("L2", results["l1_to_l2"], ["doc_id"]),
    }


def test_l0_to_l2_under_spark_submit_on_a_standalone_cluster_matches_a_local_run(
    standalone_cluster, pipeline_run, tmp_path
):
    """All stages through spark-submit (models trained on the driver, shipped with addFile, conf/ and seeds
    read from inside the --py-files zip) give the same tiers as the local run of the same inputs."""
    master, env, spark_home = standalone_cluster
    pyfiles = build_pyfiles(tmp_path / "dist")
    cluster_root = tmp_path / "cluster"
    args = [
        str(spark_home / "bin" / "spark-submit"),
        "--master",
        master,
        "--py-files",
        str(pyfiles),
        "--conf",
        "spark.executor.memory=1g",
        str(REPO / "jobs" / "pipeline.py"),
        "l0-to-l2",
        "--root",
        str(cluster_root),
    ]
    for path in PIPELINE_INPUTS:
        args += ["--input", path]
    for override in TEST_OVERRIDES:
        if not override.startswith("spark."):
            args += ["--set", override]
    submitted = subprocess.run(
        args, env={**env, "PYTHONPATH": ""}, cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert submitted.returncode == 0, (submitted.stdout + submitted.stderr)[-4000:]
    assert "spark://127.0.0.1" in submitted.stderr

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
