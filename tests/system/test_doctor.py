"""`tiers doctor` on this machine, and with Java hidden from PATH; a run without Java exits 2 before Spark."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import open_catalog

REPO = Path(__file__).resolve().parents[2]
NAMES = ["python", "java", "spark", "langid", "fasttext", "l2 models", "paths", "llm engine", "torch", "disk"]


def tiers(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "250"},
    )


def without_java() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    return env


def test_doctor_on_a_healthy_setup(tmp_path):
    done = tiers(
        ["doctor", "--root", str(tmp_path / "data"), "--set", "spark.master=local[1]"], dict(os.environ), tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert [line[5:].split("  ")[0].strip() for line in lines] == NAMES
    for line in lines:
        if line.split()[1] in ("python", "java", "spark", "langid", "fasttext", "disk"):
            assert line.startswith("ok"), line


@pytest.mark.skipif(
    not any(Path(p, "java").exists() for p in os.environ.get("PATH", "").split(os.pathsep)),
    reason="java is not on PATH here, so hiding it proves nothing",
)
def test_doctor_with_java_hidden_names_the_problem(tmp_path):
    done = tiers(["doctor", "--root", str(tmp_path)], without_java(), tmp_path)
    assert done.returncode == 1
    java = next(line for line in done.stdout.splitlines() if line[5:].startswith("java"))
    assert java.startswith("FAIL") and "no java found on PATH" in java and "Java 17" in java
    spark = next(line for line in done.stdout.splitlines() if line[5:].startswith("spark"))
    assert spark.startswith("skip")


def test_run_without_java_exits_2_before_spark(tmp_path):
    sample = tmp_path / "one.jsonl"
    sample.write_text('{"text": "hello"}\n')
    done = tiers(
        ["run", "l0-to-l1", "--input", str(sample), "--root", str(tmp_path / "root"), "--set", "engine.kind=spark"],
        without_java(),
        tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no java found" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    if (tmp_path / "root" / "catalog.duckdb").exists():
        with open_catalog(tmp_path / "root") as con:
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_l0_to_l1_on_the_local_engine_needs_no_java(tmp_path):
    sample = tmp_path / "one.jsonl"
    sample.write_text('{"text": "hello"}\n')
    done = tiers(
        ["run", "l0-to-l1", "--input", str(sample), "--root", str(tmp_path / "root")], without_java(), tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with open_catalog(tmp_path / "root") as con:
        assert con.execute("SELECT job, status FROM runs ORDER BY started_at").fetchall() == [
            ("ingest", "committed"),
            ("l1_filter", "committed"),
            ("l1_dedup", "committed"),
        ]


def test_doctor_fails_on_a_default_path_a_run_would_read(tmp_path):
    """Seed files that are not here fail `l2 models` (L2 would fail on exactly them), and an evaluation folder
    that is not here fails `paths`, each naming the setting and the path."""
    seeds = tmp_path / "seeds.yaml"
    missing = tmp_path / "gone" / "ground-truth.json"
    seeds.write_text(
        "languages:\n  en:\n    positive:\n"
        f"      - json_values: {{path: {missing}, field: articleBody}}\n"
        "    negative:\n      - sql: SELECT text FROM l0\n"
    )
    done = tiers(
        [
            "doctor",
            "--root",
            str(tmp_path / "data"),
            "--set",
            "spark.master=local[1]",
            "--set",
            f"l2.seeds={seeds}",
            "--set",
            f"l4.eval_dir={tmp_path / 'no-eval'}",
        ],
        dict(os.environ),
        tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = {line[5:].split("  ")[0].strip(): line for line in done.stdout.splitlines() if line.strip()}
    assert lines["l2 models"].startswith("FAIL") and str(missing) in lines["l2 models"], lines["l2 models"]
    assert lines["paths"].startswith("FAIL") and "l4.eval_dir" in lines["paths"] and "no-eval" in lines["paths"]
