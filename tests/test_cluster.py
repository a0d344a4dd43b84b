"""spark-submit of the ingest job to a real standalone master with two workers on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jobs.ingest import run_ingest
from jobs.packaging import build_pyfiles
from tests.conftest import DOLMA, REPO, RESILIPARSE_WARC, WHIRLWIND
from tiers.catalog import Catalog

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
INPUTS = [str(DOLMA / "warc__sample-0000.warc.gz"), str(RESILIPARSE_WARC), str(WHIRLWIND), str(DOLMA / "provided__documents__000.json.gz")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_WORKER_DIR": str(tmp_path_factory.mktemp("work"))}
    port, ui = free_port(), free_port()
    spark_class = str(spark_home / "bin" / "spark-class")
    logs = tmp_path_factory.mktemp("logs")
    procs = [subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
        env=env, stdout=open(logs / "master.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )]
    try:
        wait_for_port(port)
        for i in range(2):
            procs.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "2g", "--webui-port", str(free_port())],
                env=env, stdout=open(logs / f"worker{i}.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
            ))
        deadline = time.time() + 60
        while time.time() < deadline and (logs / "master.log").read_text().count("Registering worker") < 2:
            time.sleep(0.5)
        assert (logs / "master.log").read_text().count("Registering worker") == 2, (logs / "master.log").read_text()[-2000:]
        yield f"spark://127.0.0.1:{port}", env, spark_home
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=30)


def test_spark_submit_to_standalone_matches_a_local_run(standalone_cluster, spark, test_config, tmp_path):
    master, env, spark_home = standalone_cluster
    pyfiles = build_pyfiles(tmp_path / "dist")
    cluster_root = tmp_path / "cluster"
    args = [str(spark_home / "bin" / "spark-submit"), "--master", master, "--py-files", str(pyfiles),
            "--conf", "spark.executor.memory=1g", str(REPO / "jobs" / "ingest.py"), "--root", str(cluster_root)]
    for path in INPUTS:
        args += ["--input", path]
    submitted = subprocess.run(args, env={**env, "PYTHONPATH": ""}, cwd=tmp_path, capture_output=True, text=True, timeout=420)
    assert submitted.returncode == 0, (submitted.stdout + submitted.stderr)[-4000:]
    assert "spark://127.0.0.1" in submitted.stderr

    local_root = tmp_path / "local"
    local = run_ingest(spark, test_config, INPUTS, str(local_root))

    def snapshot(root):
        catalog = Catalog(root)
        _, runs = catalog.query("SELECT job, status, counts_json, config_hash FROM runs")
        path = catalog.committed_outputs(kind="L0")[0].path
        table = ds.dataset(path, format="parquet").to_table(columns=["doc_id", "text", "url", "file", "offset"])
        return runs, sorted(zip(*[table.column(c).to_pylist() for c in table.column_names]))

    cluster_runs, cluster_rows = snapshot(cluster_root)
    local_runs, local_rows = snapshot(local_root)
    assert [r[:2] for r in cluster_runs] == [("ingest", "committed")]
    assert cluster_runs[0][2:] == local_runs[0][2:]
    assert cluster_rows == local_rows and len(local_rows) == local.counts["l0"]
