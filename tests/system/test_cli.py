"""The `tiers` command as a user runs it: help, exit codes, the main job, status and SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.helpers import REPO, RESILIPARSE_WARC, TEST_OVERRIDES, WHIRLWIND

pytestmark = pytest.mark.shared_data

runner = CliRunner()
COMMANDS = [
    [],
    ["run"],
    ["run", "l0-to-l2"],
    ["run", "l0-to-l1"],
    ["run", "l1-to-l2"],
    ["run", "l2-to-l3"],
    ["ingest"],
    ["catalog"],
    ["catalog", "status"],
    ["catalog", "sql"],
    ["classifier"],
    ["classifier", "train"],
    ["classifier", "eval"],
    ["classifier", "score"],
    ["verify"],
    ["verify", "seeds"],
    ["verify", "pretrain"],
    ["verify", "anneal"],
    ["package"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tiers")
def test_help_on_every_command(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_config_exits_2_and_names_the_key(tmp_path):
    result = runner.invoke(
        app,
        ["ingest", "--input", str(RESILIPARSE_WARC), "--root", str(tmp_path), "--set", "ingest.max_record_bytes=-1"],
    )
    assert result.exit_code == 2
    assert "ingest.max_record_bytes" in result.output


def test_missing_input_exits_2_at_any_terminal_width(tmp_path):
    for columns in ("40", "80", "250"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "ingest",
                "--input",
                str(tmp_path / "none*.warc.gz"),
                "--root",
                str(tmp_path),
                *sum([["--set", o] for o in TEST_OVERRIDES], []),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "COLUMNS": columns},
        )
        assert result.returncode == 2
        assert "matches no file" in " ".join(result.stderr.split()), columns


def test_main_job_status_and_sql_from_the_command_line(tmp_path):
    root = tmp_path / "root"
    overrides = sum([["--set", o] for o in TEST_OVERRIDES], [])
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l0-to-l2",
            "--input",
            str(RESILIPARSE_WARC),
            "--input",
            str(WHIRLWIND),
            "--root",
            str(root),
            *overrides,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "L1 -> L2" in run.stderr

    status = runner.invoke(app, ["catalog", "status", "--root", str(root)])
    assert status.exit_code == 0 and "L0" in status.output and "drops" in status.output

    result = runner.invoke(
        app,
        [
            "catalog",
            "sql",
            "--root",
            str(root),
            "--format",
            "json",
            "SELECT tier, count(*) AS n FROM membership GROUP BY tier ORDER BY tier",
        ],
    )
    assert result.exit_code == 0, result.output
    counts = {row["tier"]: row["n"] for row in json.loads(result.output)}
    assert counts["L0"] == 16 + 1 + 1

    csv_out = runner.invoke(
        app, ["catalog", "sql", "--root", str(root), "--format", "csv", "SELECT job, status FROM runs ORDER BY job"]
    )
    assert csv_out.output.splitlines()[0] == "job,status"
    assert "ingest,committed" in csv_out.output

    write = runner.invoke(app, ["catalog", "sql", "--root", str(root), "DROP TABLE runs"])
    assert write.exit_code == 3
    assert "read-only" in write.output and "Traceback" not in write.output
