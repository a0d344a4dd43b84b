"""Nothing overwritten, nothing lost around the catalog (issue 10): one writer per root, SQL that cannot
write or read outside the root, a reader open at commit time, a full disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from jobs.runner import JobRun
from tests.helpers import DOLMA, DOLMA_CC, open_catalog
from tests.fuzz.sql_writes import coverage_types, family
from tiers.catalog import Catalog, CatalogError
from tiers.catalog.readonly_sql import run_without_writes, sql_write_guard

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]

WRITES = [
    "COPY (SELECT 1) TO 'L0/overwritten.parquet'",
    "COPY runs TO 'runs.csv'",
    "EXPORT DATABASE 'exported'",
    "PRAGMA profiling_output = 'profile.txt'",
    "CALL enable_logging()",
    "SELECT 1; COPY (SELECT 1) TO 'after_select.csv'",
    "SELECT * FROM read_csv('/etc/hostname')",
    "SELECT * FROM read_text('../outside.txt')",
    "ATTACH 'other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD json",
    "SET threads = 1",
    "CREATE TABLE t AS SELECT 1",
    "DROP VIEW l0",
    "CHECKPOINT",
]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".tiers.lock"
    }


def cli(*args: str, cwd: Path = REPO, timeout: int = 600, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO)},
    )


@pytest.fixture(scope="module")
def small_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("safety") / "root"
    done = cli("run", "l0-to-l1", "--input", str(DOLMA_CC), "--root", str(root), "--set", "spark.master=local[1]")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_every_sql_write_form_is_refused_and_nothing_changes(small_root):
    before = tree_digest(small_root)
    runner = CliRunner()
    for statement in WRITES:
        result = runner.invoke(app, ["catalog", "sql", "--root", str(small_root), statement])
        assert result.exit_code == 3, (statement, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, (
            statement,
            result.output,
        )
    assert tree_digest(small_root) == before
    assert not (small_root.parent / "outside.txt").exists()
    ok = runner.invoke(
        app, ["catalog", "sql", "--root", str(small_root), "--format", "csv", "SELECT count(*) AS n FROM l1"]
    )
    assert ok.exit_code == 0 and int(ok.output.splitlines()[1]) > 0


def test_a_generated_family_of_write_attempts_changes_no_byte_under_the_root(small_root, tmp_path):
    """Every statement type DuckDB's parser knows, aimed at a committed L0 file, the catalog, a new file
    in the root and a file outside it, under every wrapper of tests/fuzz/sql_writes.py."""
    part = str(sorted((small_root / "L0").rglob("*.parquet"))[0].relative_to(small_root))
    outside = tmp_path / "outside.csv"
    known = {t for t in dir(duckdb.StatementType) if t.isupper()}
    # types no SQL text parses as in DuckDB 2.0 (made by the Python relation API or inside the planner;
    # ANALYZE parses as VACUUM, COPY FROM DATABASE as PRAGMA, SET VARIABLE as SET)
    internal = {
        "INVALID",
        "RELATION",
        "LOGICAL_PLAN",
        "CREATE_FUNC",
        "ANALYZE",
        "COPY_DATABASE",
        "EXTENSION",
        "VARIABLE_SET",
    }
    covered = coverage_types(part, str(small_root), str(outside)) | {"EXPLAIN"}  # EXPLAIN: every wrapper
    assert known - internal <= covered, known - internal - covered
    catalog = Catalog(small_root)
    before = tree_digest(small_root)
    l0_before = catalog.query("SELECT count(*) FROM l0")[1][0][0]
    outcomes = {"ran": 0, "refused": 0}
    for name, statement in family(part, str(small_root), str(outside)):
        try:
            catalog.query(statement)
            outcomes["ran"] += 1
        except CatalogError as exc:
            assert "\n" not in str(exc), (name, statement, str(exc))
            outcomes["refused"] += 1
        assert tree_digest(small_root) == before, (name, statement)
        assert not outside.exists(), (name, statement)
    assert outcomes["refused"] > outcomes["ran"] > 0, outcomes  # the plain reads of the family ran
    assert catalog.query("SELECT count(*) FROM l0")[1][0][0] == l0_before


def test_the_issue_statement_through_the_cli_exits_3_and_l0_is_intact(small_root):
    part = sorted((small_root / "L0").rglob("*.parquet"))[0]
    before = tree_digest(small_root)
    statement = f"EXPLAIN ANALYZE COPY (SELECT 'x' AS doc_id) TO '{part}' (FORMAT parquet)"
    done = cli("catalog", "sql", "--root", str(small_root), statement)
    assert done.returncode == 3, done.stdout + done.stderr
    assert len((done.stdout + done.stderr).strip().splitlines()) == 1
    assert "EXPLAIN runs only without ANALYZE" in done.stderr
    status = cli("catalog", "status", "--root", str(small_root))
    assert status.returncode == 0 and "Traceback" not in status.stdout + status.stderr
    assert tree_digest(small_root) == before


@pytest.mark.skipif(sql_write_guard() != "landlock", reason="the kernel offers no Landlock here")
def test_the_query_process_cannot_write_even_without_duckdb_restrictions(small_root):
    """The third wall alone: an unrestricted DuckDB connection in the query's process cannot write."""
    before = tree_digest(small_root)
    part = sorted((small_root / "L0").rglob("*.parquet"))[0]

    def unrestricted(scratch: str) -> str:
        con = duckdb.connect()
        for statement in (
            f"COPY (SELECT 'x' AS doc_id) TO '{part}' (FORMAT parquet)",
            f"COPY (SELECT 1) TO '{small_root}/new.csv'",
        ):
            try:
                con.execute(statement)
            except duckdb.Error as exc:
                assert "Permission denied" in str(exc), str(exc)
            else:
                return f"wrote: {statement}"
        con.execute(f"COPY (SELECT 1) TO '{scratch}/spill.csv'")  # the scratch folder stays writable
        return "refused"

    assert run_without_writes(unrestricted) == "refused"
    assert tree_digest(small_root) == before


def test_a_second_run_on_the_same_root_fails_at_once_naming_the_first(small_root, tmp_path):
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l0-to-l1",
            "--input",
            str(DOLMA),
            "--root",
            str(small_root),
            "--set",
            "spark.master=local[1]",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        lock = small_root / ".tiers.lock"
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.2)
        second = cli(
            "run", "l0-to-l1", "--input", str(DOLMA), "--root", str(small_root), "--set", "spark.master=local[1]"
        )
        assert second.returncode == 3, second.stdout + second.stderr
        text = " ".join((second.stdout + second.stderr).split())
        assert "is being written by job tiers run l0-to-l1" in text and f"pid {first.pid}" in text
        assert "lock_wait_s" not in text  # no advice about a key that does not exist
        output, _ = first.communicate(timeout=600)
        assert first.returncode == 0, output
    finally:
        if first.poll() is None:
            first.kill()
    with open_catalog(small_root) as con:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM l1").fetchone()
        l0_rows, l0_distinct = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM l0").fetchone()
        running = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
    assert rows == distinct and l0_rows == l0_distinct and running == 0


READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_catalog(root: Path, seconds: float) -> subprocess.Popen:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root / "catalog.duckdb"), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline().strip() == "open"
    return reader


def commit_one_file(catalog: Catalog, job: str, reader_seconds: float, readers: list) -> str:
    """A job whose catalog is opened by a read-only client just before it commits."""
    with JobRun(catalog, job, {"inputs": [job]}) as run:
        staged = Path(run.stage("probe"))
        staged.mkdir(parents=True)
        pq.write_table(pa.table({"doc_id": ["a"]}), staged / "part-0.parquet")
        readers.append(hold_catalog(catalog.root, reader_seconds))
        run.commit({"rows": 1})
    return run.run_id


def test_a_reader_open_at_commit_time_delays_the_commit(tmp_path):
    catalog = Catalog(tmp_path / "root", commit_wait_s=60)
    catalog.migrate()
    readers: list = []
    start = time.monotonic()
    run_id = commit_one_file(catalog, "waits", 3, readers)
    assert time.monotonic() - start >= 2
    readers[0].wait(timeout=30)
    with open_catalog(catalog.root) as con:
        assert con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()[0] == "committed"


def test_a_reader_holding_past_the_wait_fails_the_run_instead_of_leaving_it_running(tmp_path):
    from tiers.catalog import CatalogError

    catalog = Catalog(tmp_path / "root", commit_wait_s=1)
    catalog.migrate()
    readers: list = []
    with pytest.raises(CatalogError, match="another process holds it"):
        commit_one_file(catalog, "gives_up", 4, readers)
    readers[0].wait(timeout=30)
    with open_catalog(catalog.root) as con:
        statuses = con.execute("SELECT status FROM runs WHERE job = 'gives_up'").fetchall()
    assert statuses == [("failed",)]
    assert not list((catalog.root / "_staging").glob("*"))


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount)]).returncode != 0
    ):
        pytest.skip("needs root to mount a 5 MB tmpfs (a real full disk)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)])


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_a_full_disk_gives_one_line_and_a_failed_run(tiny_disk, engine):
    """On Spark, the JVM holds the deleted staging files open: the run is failed only after it is gone."""
    root = tiny_disk / "root"
    done = cli(
        "run",
        "l0-to-l1",
        "--input",
        str(DOLMA),
        "--root",
        str(root),
        "--set",
        "spark.master=local[1]",
        "--set",
        f"engine.kind={engine}",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    said = [line.strip() for line in output.splitlines() if line.strip().startswith("disk full:")]
    assert len(said) == 1 and "no space left on the device holding" in said[0], output
    assert "job failed" not in output, output  # not the generic failure path, which logs a traceback
    with open_catalog(root) as con:
        statuses = dict(con.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall())
    assert statuses.get("failed") == 1 and "running" not in statuses
    assert not list((root / "_staging").glob("*"))


def test_a_moved_root_gives_the_same_answers_and_never_reads_the_original(small_root, tmp_path):
    query = "SELECT (SELECT count(*) FROM l0), (SELECT count(*) FROM l1), (SELECT count(*) FROM drops)"
    runner = CliRunner()
    original = runner.invoke(app, ["catalog", "sql", "--root", str(small_root), "--format", "csv", query]).output
    copy = tmp_path / "elsewhere" / "moved"
    shutil.copytree(small_root, copy)
    hidden = small_root.with_name(small_root.name + "-hidden")
    small_root.rename(hidden)
    try:
        moved = cli("catalog", "sql", "--root", str(copy), "--format", "csv", query, cwd=tmp_path)
        status = cli("catalog", "status", "--root", str(copy), cwd=tmp_path)
    finally:
        hidden.rename(small_root)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert moved.stdout == original
    assert status.returncode == 0 and "Traceback" not in status.stdout + status.stderr
