"""Data and user text reach the terminal as written (issue 26): rich markup in them is escaped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.allocation_roots import Doc, build_root

REPO = Path(__file__).resolve().parents[2]
BRACKETED = "Paris is big [citation needed] ok [bold]not bold[/bold] [red]"


def tiers(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300"},
    )


def test_catalog_sql_prints_brackets_in_texts(tmp_path):
    build_root(tmp_path / "root", [Doc("d1", BRACKETED, 12, score=0.5)], set())
    for fmt in ("table", "csv", "json"):
        done = tiers("catalog", "sql", "--root", str(tmp_path / "root"), "--format", fmt, "SELECT text FROM l1")
        assert done.returncode == 0, done.stderr
        assert BRACKETED in done.stdout, (fmt, done.stdout)


def test_column_names_and_errors_keep_their_brackets(tmp_path):
    build_root(tmp_path / "root", [Doc("d1", "text", 1, score=0.5)], set())
    done = tiers("catalog", "sql", "--root", str(tmp_path / "root"), 'SELECT 1 AS "[weight]"')
    assert done.returncode == 0 and "[weight]" in done.stdout, done.stdout


def test_config_errors_keep_their_brackets(tmp_path):
    done = tiers("run", "l1-to-l2", "--root", str(tmp_path), "--set", "l1.steps=[{name: '[red]nope'}]")
    assert done.returncode == 2
    assert "[red]nope" in done.stdout + done.stderr, done.stdout + done.stderr
