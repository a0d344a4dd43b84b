"""A real Spark standalone cluster on 127.0.0.1 (one master, N workers) for the cluster test and benchmark.

The pip package of pyspark has no start-master.sh; `spark-class` starts the daemons. Each daemon runs in
its own process session and is stopped by its PID.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tiers.llm.server import free_port


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


@dataclass
class Cluster:
    master: str  # spark://127.0.0.1:PORT
    env: dict[str, str]  # SPARK_HOME, SPARK_LOCAL_IP, PYSPARK_PYTHON for spark-submit
    spark_home: Path


@contextmanager
def standalone_cluster(
    work: Path, workers: int = 2, cores: int = 1, memory: str = "2g", timeout: float = 120
) -> Iterator[Cluster]:
    """Start a master and `workers` workers of `cores` cores each; stop them all on exit."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(work / "worker"),
    }
    port = free_port()
    spark_class = str(spark_home / "bin" / "spark-class")

    def daemon(args: list[str], log_name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [spark_class, *args],
            env=env,
            stdout=open(logs / log_name, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    master_args = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
    procs = [daemon([*master_args, "--webui-port", str(free_port())], "master.log")]
    try:
        wait_for_port(port, timeout)
        for i in range(workers):
            worker = ["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1"]
            worker += ["--cores", str(cores), "--memory", memory, "--webui-port", str(free_port())]
            procs.append(daemon(worker, f"worker{i}.log"))
        deadline = time.time() + timeout
        master_log = logs / "master.log"
        while time.time() < deadline and master_log.read_text().count("Registering worker") < workers:
            time.sleep(0.5)
        registered = master_log.read_text().count("Registering worker")
        if registered != workers:
            raise RuntimeError(f"{registered} of {workers} workers registered:\n{master_log.read_text()[-2000:]}")
        yield Cluster(f"spark://127.0.0.1:{port}", env, spark_home)
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=30)
