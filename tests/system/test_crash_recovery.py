"""A job killed mid-run (SIGKILL to the driver and its JVM) registers nothing; a re-run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import DOLMA, RESILIPARSE_WARC, REPO, TEST_OVERRIDES
from tiers.catalog import Catalog

pytestmark = pytest.mark.shared_data


def ingest_command(root):
    args = [
        sys.executable,
        "-m",
        "jobs.ingest",
        "--input",
        str(DOLMA),
        "--input",
        str(RESILIPARSE_WARC),
        "--root",
        str(root),
    ]
    for override in TEST_OVERRIDES:
        args += ["--set", override]
    return args


def test_killed_ingest_leaves_no_registered_output_and_a_rerun_completes(tmp_path):
    root = tmp_path / "root"
    proc = subprocess.Popen(
        ingest_command(root), cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    staging = root / "_staging"
    deadline = time.time() + 120
    while time.time() < deadline and not (staging.exists() and any(staging.iterdir())):
        assert proc.poll() is None, "job ended before it could be killed"
        time.sleep(0.05)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    catalog = Catalog(root)
    _, runs = catalog.query("SELECT status FROM runs")
    assert runs == [("running",)]
    _, outputs = catalog.query("SELECT count(*) FROM outputs")
    assert outputs == [(0,)]
    _, members = catalog.query("SELECT count(*) FROM membership")
    assert members == [(0,)]

    done = subprocess.run(ingest_command(root), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _, runs = catalog.query("SELECT status, error FROM runs ORDER BY started_at")
    assert [r[0] for r in runs] == ["failed", "committed"]
    assert "abandoned" in runs[0][1]
    _, members = catalog.query("SELECT count(DISTINCT doc_id) FROM membership WHERE tier = 'L0'")
    assert members == [(697 + 10 + 10 + 10 + 22 + 15 + 16,)]
    assert not any(staging.iterdir())
