"""A missing input is a typed error: exit 2 with one line, from the CLI and from a spark-submit entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], columns: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": str(columns)},
    )


def flat(done: subprocess.CompletedProcess) -> str:
    """Output with rich's wrapping and box drawing undone, so assertions do not depend on the terminal width."""
    text = (done.stdout + done.stderr).replace("│", " ")
    return " ".join(text.split())


def test_cli_without_committed_l1_exits_2_at_any_terminal_width(tmp_path):
    for columns in (60, 200):
        done = run(
            [
                "-m",
                "cli",
                "run",
                "l1-to-l2",
                "--root",
                str(tmp_path / f"empty{columns}"),
                "--set",
                "spark.master=local[1]",
            ],
            columns,
        )
        assert done.returncode == 2, flat(done)
        assert "no committed L1 run in" in flat(done)
        assert "Traceback" not in done.stdout + done.stderr


def test_job_entry_point_without_committed_l2_exits_2(tmp_path):
    done = run(["-m", "jobs.l2_to_l3", "--root", str(tmp_path / "empty"), "--set", "spark.master=local[1]"], 120)
    assert done.returncode == 2, flat(done)
    assert "no committed L2 output" in flat(done)
