"""SIGTERM during `tiers run l2-to-l3`: the managed server is stopped, the run is failed, staging is gone.

The managed server here is a small real HTTP server process on 127.0.0.1 that answers the start-up
probe at once and then holds every chat request for a minute, so the job is surely mid-stage when the
signal arrives. It writes its PID to a file so the test can check that it is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tiers.llm.server import free_port

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]

SLOW_SERVER = """
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, pid_file = int(sys.argv[1]), sys.argv[2]
open(pid_file, "w").write(str(os.getpid()))
answered = []

class Handler(BaseHTTPRequestHandler):
    def _send(self, body):
        data = json.dumps(body).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        self._send({"data": [{"id": "slow"}]})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if answered:
            time.sleep(60)
        answered.append(1)
        self._send({"choices": [{"message": {"role": "assistant", "content": "red, orange, yellow"}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3}})
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_during_l2_to_l3_stops_the_server_and_fails_the_run(pipeline_run, tmp_path):
    root, _ = pipeline_run
    script, pid_file = tmp_path / "slow_server.py", tmp_path / "server.pid"
    script.write_text(SLOW_SERVER)
    command = f"{{python}} {script} {{port}} {pid_file}"
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l2-to-l3",
            "--root",
            str(root),
            "--force",
            "--set",
            "spark.master=local[1]",
            "--set",
            f"llm.server.command={json.dumps(command)}",
            "--set",
            f"llm.server.port={free_port()}",
            "--set",
            "llm.server.model_path=unused.gguf",
            "--set",
            "llm.retries=0",
            "--set",
            "l3.calibration=null",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (root / "_staging").exists() or not pid_file.exists():
            assert job.poll() is None, job.stdout.read()
            time.sleep(0.5)
        time.sleep(8)
        server_pid = int(pid_file.read_text())
        assert alive(server_pid) and job.poll() is None
        job.send_signal(signal.SIGTERM)
        output, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0, output
    deadline = time.time() + 30
    while alive(server_pid) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(server_pid), "the managed server outlived the job"
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        last = con.execute(
            "SELECT run_id, status, error FROM runs WHERE job = 'l2_to_l3' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert last[1] == "failed", last
    assert last[2].startswith("stopped by SIGTERM"), last
    assert not (root / "_staging" / last[0]).exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    if int(handle.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the JVM through /proc")
def test_sigterm_while_the_spark_session_starts_leaves_no_jvm(tmp_path):
    """The signal lands while the driver waits for Spark's JVM to come up: the JVM goes with the job."""
    from tests.helpers import DOLMA_CC

    job = subprocess.Popen(
        [sys.executable, "-m", "cli", "ingest", "--input", str(DOLMA_CC), "--root", str(tmp_path / "root")]
        + ["--set", "engine.kind=spark", "--set", "spark.master=local[1]"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, launched = time.time() + 120, []
        while time.time() < deadline and not launched:
            assert job.poll() is None, job.stdout.read()
            launched = _children(job.pid)
            time.sleep(0.05)
        assert launched, "the job started no Spark process"
        time.sleep(0.5)  # inside the start: the JVM is booting
        jvms = _children(job.pid)
        job.send_signal(signal.SIGTERM)
        output, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0, output
    deadline = time.time() + 30
    while any(alive(pid) for pid in jvms) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in jvms), f"Spark's JVM outlived the job: {jvms}"


def test_a_stop_between_creating_staging_and_registering_the_run_leaves_no_folder(tmp_path, monkeypatch):
    """A stop signal raised while the run is being registered (a fake: the instant cannot be hit by a real
    signal on demand, so the registration raises KeyboardInterrupt), then a folder a killed process left."""
    from jobs.runner import STAGING, JobRun
    from tiers.catalog import Catalog

    catalog = Catalog(tmp_path / "root")
    catalog.migrate()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(catalog, "start_run", interrupted)
        with pytest.raises(KeyboardInterrupt):
            with JobRun(catalog, "stopped", {"inputs": ["a"]}):
                pass
    assert list((catalog.root / STAGING).iterdir()) == []
    left = catalog.root / STAGING / "ingest-20260101T000000-abcdef"
    left.mkdir()
    (left / "part-0.parquet").write_bytes(b"half")
    with JobRun(catalog, "next", {"inputs": ["b"]}) as run:
        assert not left.exists()
        assert Path(run.staging).is_dir()
