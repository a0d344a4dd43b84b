"""L3 scoring stage against the engine's own throughput, and the cost of a cached re-run.

Starts llama.cpp's OpenAI-compatible server on 127.0.0.1 with SmolLM2-135M-Instruct, then:
1. the engine's throughput: the scoring prompts of --docs real documents sent straight to the server
   with httpx from a thread pool at the same concurrency;
2. the `l2_to_l3` Spark job (scoring only) on the same documents with an empty request cache;
3. the same job again (--force): every answer comes from the cache.
Prints docs/s and tokens/s of 1 and 2, their ratio, and the re-run's time as a share of the first.
Run: python -m bench.l2_to_l3 [--docs 100] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from bench.l0_to_l1 import REPO
from tiers.config import load_config
from tiers.llm.prompts import load_score_prompt
from tiers.l3.refine import score_requests
from tiers.llm.local_model import smollm2_gguf
from tiers.llm.server import ManagedServer
from tiers.llm.server import free_port

SHARED = REPO.parent / "shared" / "data"


def direct(url: str, bodies: list[dict], concurrency: int) -> tuple[float, int]:
    """Send the bodies straight to the server; (seconds, prompt + completion tokens)."""
    client = httpx.Client(timeout=600)

    def send(body: dict) -> int:
        usage = client.post(f"{url}/chat/completions", json=body).json()["usage"]
        return usage["prompt_tokens"] + usage["completion_tokens"]

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(send, bodies))
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    gold = json.loads((SHARED / "scrapinghub-article-extraction" / "ground-truth.json").read_text())
    texts = [v["articleBody"] for _, v in sorted(gold.items())][: args.docs]
    overrides = [
        "spark.master=local[2]",
        "l3.tasks=[]",
        "l3.max_input_chars=700",
        "l3.score_max_tokens=60",
        f"llm.concurrency={args.concurrency}",
        "llm.structured_output=json_object",
    ]
    config = load_config(None, overrides)
    prompt = load_score_prompt(config.l3.score_prompt)

    from tiers.llm.http_client import OpenAIHttpEngine

    shaper = OpenAIHttpEngine(["http://unused"], config.llm.model, structured_output=config.llm.structured_output)
    bodies = [shaper._body(r) for r in score_requests(texts, prompt, config.l3, attempt=0)]
    command = "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 2048"
    with ManagedServer(command, free_port(), model_path=smollm2_gguf()) as server:
        direct(server.url, bodies[:2], 1)
        seconds, tokens = direct(server.url, bodies, args.concurrency)
        print(
            f"engine direct     {len(texts)} docs  {seconds:6.1f}s  {len(texts) / seconds:6.2f} docs/s  {tokens / seconds:7.1f} tokens/s"
        )

        from jobs.l2_to_l3 import run_l2_to_l3
        from jobs.runner import JobRun
        from jobs.spark import get_spark
        from tiers.catalog import Catalog

        root = Path(tempfile.mkdtemp(prefix="tiers-bench-l3-"))
        catalog = Catalog(root)
        with JobRun(catalog, "bench_l2", {"docs": len(texts)}) as run:
            staged = run.stage("L2", tier="L2")
            os.makedirs(staged)
            pq.write_table(
                pa.table(
                    {"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts, "run_id": [run.run_id] * len(texts)}
                ),
                f"{staged}/part-0.parquet",
            )
            run.commit({"l2": len(texts)})
        spark = get_spark(config.spark)
        start = time.perf_counter()
        first = run_l2_to_l3(spark, config, str(root), server=server)
        first_seconds = time.perf_counter() - start
        job_tokens = first.counts["prompt_tokens"] + first.counts["completion_tokens"]
        print(
            f"tiers l2_to_l3    {len(texts)} docs  {first_seconds:6.1f}s  {len(texts) / first_seconds:6.2f} docs/s  "
            f"{job_tokens / first_seconds:7.1f} tokens/s  (requests sent {first.counts['requests_sent']})"
        )
        start = time.perf_counter()
        again = run_l2_to_l3(spark, config, str(root), force=True, server=server)
        again_seconds = time.perf_counter() - start
        print(
            f"tiers re-run      {len(texts)} docs  {again_seconds:6.1f}s  requests sent {again.counts['requests_sent']}, "
            f"cache hits {again.counts['cache_hits']}"
        )
        print(
            f"ratio tiers / engine (docs/s) = {seconds / first_seconds:.3f}; re-run / first run = {again_seconds / first_seconds:.3f}"
        )


if __name__ == "__main__":
    main()
