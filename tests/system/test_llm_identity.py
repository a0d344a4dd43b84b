"""The managed LLM server's answers count only when they come from the process tiers started (issue 26),
and a scoring model must tell the calibration documents apart before its scores count.

Every server here is a real process or thread on 127.0.0.1 (nothing is mocked): `IMPOSTOR` answers every
request, with or without a key, with a canned top score (what another user's server on the default port
did in issue 26); `KEYED` requires the per-launch API key and scores a text by whether it holds a worked
exercise, as a model that can tell the calibration documents apart would; `CONSTANT` requires the key and
gives every text the same score (what SmolLM2-135M did).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tiers.catalog import Catalog
from tiers.config import load_config
from tiers.llm.server import ManagedServer, ServerIdentityError

SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status); self.send_header("Content-Length", str(len(data))); self.end_headers()
        self.wfile.write(data)
    def _authorized(self):
        return mode == "impostor" or self.headers.get("Authorization") == "Bearer " + key
    def do_GET(self):
        if not self._authorized():
            return self._send(401, {"error": "invalid api key"})
        self._send(200, {"data": [{"id": mode}]})
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if not self._authorized():
            return self._send(401, {"error": "invalid api key"})
        text = request["messages"][-1]["content"]
        if mode == "impostor":
            answer = {"score": 5, "reason": "impostor"}
        elif mode == "constant":
            answer = {"score": 0, "reason": "constant"}
        else:
            answer = {"score": 4 if "Exercise" in text or "Check your understanding" in text else 1, "reason": "keyed"}
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(answer)}}],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


class _Impostor(BaseHTTPRequestHandler):
    """Another user's server: answers everything, key or not, with a top score."""

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send({"data": [{"id": "impostor"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = json.dumps({"score": 5, "reason": "impostor"})
        self._send({"choices": [{"message": {"role": "assistant", "content": answer}}], "usage": {}})

    def log_message(self, *args):
        pass


@pytest.fixture
def impostor():
    """A real HTTP server on 127.0.0.1 that is not the one tiers starts; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server_script(tmp_path_factory) -> Path:
    script = tmp_path_factory.mktemp("servers") / "server.py"
    script.write_text(SERVER)
    return script


def command(script: Path, mode: str) -> str:
    return f"{{python}} {script} {{port}} {{api_key}} {mode}"


def test_a_fixed_port_held_by_another_server_fails_before_any_answer(impostor, server_script):
    managed = ManagedServer(command(server_script, "keyed"), impostor, startup_timeout_s=30)
    with pytest.raises(ServerIdentityError, match=f"port {impostor} on 127.0.0.1 is already in use"):
        managed.start()
    assert managed.process is None  # nothing was launched, nothing was asked


def test_a_server_that_answers_without_the_key_is_not_taken_for_the_managed_one(server_script):
    managed = ManagedServer(command(server_script, "impostor"), None, startup_timeout_s=30)
    with pytest.raises(ServerIdentityError, match="not the server tiers started"):
        managed.start()
    assert managed.process is not None and managed.process.poll() is not None  # stopped by its PID


def test_the_default_port_is_a_free_one_and_the_key_is_required(impostor, server_script):
    with ManagedServer(command(server_script, "keyed"), None, startup_timeout_s=30) as managed:
        assert managed.port != impostor
        import httpx

        assert httpx.get(f"{managed.url}/models", timeout=5).status_code == 401
        assert httpx.get(f"{managed.url}/models", headers=managed.headers, timeout=5).status_code == 200


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark

    session = get_spark(load_config(None, ["spark.master=local[1]"]).spark)
    yield session


@pytest.fixture
def l2_root(tmp_path) -> tuple[Path, list[str]]:
    """A data root with a committed L2 of six real-looking documents (written here, no shared data)."""
    from jobs.runner import JobRun

    texts = [
        "The water cycle moves water between the oceans, the air and the land. Exercise: name its stages.",
        "Buy cheap watches now, free shipping, click here, limited offer.",
        "Photosynthesis turns light, water and carbon dioxide into sugar. Check your understanding: what is made?",
        "Home | About | Contact | Login | Cart (0)",
        "A lever multiplies force around a pivot. Exercise: where is the pivot of a seesaw?",
        "Subscribe to our newsletter for the best deals.",
    ]
    ids = [f"doc-{i}" for i in range(len(texts))]
    catalog = Catalog(tmp_path / "root")
    catalog.migrate()
    with JobRun(catalog, "l2_fixture", {"texts": texts}) as run:
        folder = Path(run.stage("L2", tier="L2"))
        folder.mkdir(parents=True)
        table = pa.table({"doc_id": ids, "text": texts, "run_id": [run.run_id] * len(ids)})
        pq.write_table(table, folder / "part-0.parquet")
        run.commit({"l2": len(texts)})
    return catalog.root, ids


def _l3_config(script: Path, mode: str, port: int | None, *extra: str):
    overrides = [
        "spark.master=local[1]",
        "l3.tasks=[qa]",
        "l3.rewrite_threshold=6",
        "llm.retries=0",
        f"llm.server.command={json.dumps(command(script, mode))}",
        "llm.server.model_path=unused.gguf",
        "llm.server.startup_timeout_s=30",
        *extra,
    ]
    if port is not None:
        overrides.append(f"llm.server.port={port}")
    return load_config(None, overrides)


def _runs(root: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        return con.execute("SELECT status, coalesce(error, '') FROM runs WHERE job = 'l2_to_l3'").fetchall()


def test_l3_with_the_port_taken_records_no_answer_from_the_other_server(spark, l2_root, impostor, server_script):
    from jobs.l2_to_l3 import run_l2_to_l3

    root, ids = l2_root
    with pytest.raises(ServerIdentityError, match="already in use"):
        run_l2_to_l3(spark, _l3_config(server_script, "keyed", impostor), str(root))
    [(status, error)] = _runs(root)  # the run failed with the reason; nothing was asked, nothing committed
    assert status == "failed" and "already in use" in error

    result = run_l2_to_l3(spark, _l3_config(server_script, "keyed", None), str(root))
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        con.execute(f"SET file_search_path = '{root}'")
        rows = dict(con.execute("SELECT doc_id, llm_reason FROM l3_scores").fetchall())
    assert sorted(rows) == ids and result.counts["l3_scores"] == len(ids)
    assert set(rows.values()) == {"keyed"}  # every answer came from the server tiers started, none from the other


def test_a_model_that_gives_every_calibration_document_the_same_score_fails_the_stage(spark, l2_root, server_script):
    from jobs.l2_to_l3 import run_l2_to_l3
    from tiers.l3.refine import CalibrationFailed

    root, _ = l2_root
    with pytest.raises(CalibrationFailed) as failure:
        run_l2_to_l3(spark, _l3_config(server_script, "constant", None), str(root))
    message = str(failure.value)
    assert "same score" in message and "vllm serve" in message and "llm.endpoints" in message
    assert [status for status, _ in _runs(root)] == ["failed"]

    plumbing = run_l2_to_l3(spark, _l3_config(server_script, "constant", None, "l3.calibration=null"), str(root))
    assert plumbing.counts["l3_scores"] == 6


def test_limit_scores_only_the_first_documents(spark, l2_root, server_script):
    from jobs.l2_to_l3 import run_l2_to_l3

    root, ids = l2_root
    result = run_l2_to_l3(spark, _l3_config(server_script, "keyed", None), str(root), limit=2)
    assert result.counts["l2_in"] == 2 and result.counts["l3_scores"] == 2
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        con.execute(f"SET file_search_path = '{root}'")
        scored = sorted(r[0] for r in con.execute("SELECT doc_id FROM l3_scores").fetchall())
    assert scored == sorted(ids)[:2]


def test_cli_says_what_to_do_when_calibration_fails(l2_root, server_script):
    import subprocess

    root, _ = l2_root
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l2-to-l3",
            "--root",
            str(root),
            "--set",
            "spark.master=local[1]",
            "--set",
            f"llm.server.command={json.dumps(command(server_script, 'constant'))}",
            "--set",
            "llm.server.model_path=unused.gguf",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "same score" in output and "--set l3.calibration=null" in output and "Traceback" not in output
