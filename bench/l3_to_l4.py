"""The l3_to_l4 job against the engine alone: passages per second and the share of the job's wall time
that the engine needs for the same requests.

Starts llama.cpp's OpenAI-compatible server on 127.0.0.1 with SmolLM2-135M-Instruct, commits --docs real
documents from ../shared/data (scrapinghub article bodies, first --chars characters in whole lines) as
L3 of a fresh root in /tmp, then:
1. the `l3_to_l4` Spark job with an empty request cache (generation, gates, re-solving by the extractive
   and one LLM verifier, the support judge, promotion);
2. the requests that job sent, recovered exactly by running the same batch work in-process on the now
   warm cache with a recording engine, sent straight to the server with httpx from a thread pool at the
   same concurrency (no Spark, no cache, no parsing);
3. the job again (--force): every answer from the cache.
Prints passages/s of the job, engine seconds / job seconds, and the re-run's requests and time.
Run: python -m bench.l3_to_l4 [--docs 12] [--chars 1200] [--concurrency 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.l0_to_l1 import REPO
from bench.l2_to_l3 import direct
from tiers.config import load_config
from tiers.llm.engine import ChatRequest
from tiers.llm.local_model import smollm2_gguf
from tiers.llm.server import ManagedServer, free_port

SHARED = REPO.parent / "shared" / "data"


class Recording:
    """An engine wrapper that keeps every request it is asked."""

    def __init__(self, engine):
        self.engine = engine
        self.model = engine.model
        self.requests: list[ChatRequest] = []

    def complete(self, requests: list[ChatRequest]):
        self.requests += requests
        return self.engine.complete(requests)

    def close(self) -> None:
        self.engine.close()


def whole_lines(text: str, limit: int) -> str:
    kept, size = [], 0
    for line in text.splitlines():
        if size and size + len(line) > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def recorded_requests(config, root: Path, url: str, documents: list[tuple[str, str]]) -> list[ChatRequest]:
    """The requests the job sent, in-process on the warm cache (nothing reaches the server)."""
    from jobs.llm_stage import CACHE
    from jobs.l3_to_l4 import token_counter
    from tiers.llm.factory import build_engine
    from tiers.l4.knowledge import Engines, KnowledgePrompts, Verifier, knowledge_batch

    cached = Recording(build_engine(config.llm, [url], str(root / CACHE)))
    engines = Engines(
        cached,
        [Verifier(v.name, cached if v.kind == "llm" else None) for v in config.l4.verifiers],
        cached if config.l4.support_judge.enabled else None,
    )
    knowledge_batch(
        engines, documents, KnowledgePrompts.load(config.l4), config.l4, token_counter(config.tokens.tokenizer)
    )
    assert cached.engine.sent == 0, "the cache should answer every request"
    return cached.requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=12)
    parser.add_argument("--chars", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    gold = json.loads((SHARED / "scrapinghub-article-extraction" / "ground-truth.json").read_text())
    texts = [whole_lines(v["articleBody"], args.chars) for _, v in sorted(gold.items())][: args.docs]
    documents = [(f"d{i}", t) for i, t in enumerate(texts)]
    overrides = [
        "spark.master=local[2]",
        f"llm.concurrency={args.concurrency}",
        "l4.docs_per_partition=4",
        "l4.generation.max_tokens=300",
        "l4.generation.answer_max_tokens=32",
        f"l4.eval_dir={SHARED / 'eval'}",
    ]
    config = load_config(None, overrides)

    from jobs.l3_to_l4 import run_l3_to_l4
    from jobs.runner import JobRun
    from jobs.spark import get_spark
    from tiers.catalog import Catalog
    from tiers.llm.http_client import OpenAIHttpEngine

    root = Path(tempfile.mkdtemp(prefix="tiers-bench-l4-"))
    catalog = Catalog(root)
    with JobRun(catalog, "bench_l3", {"docs": len(texts)}) as run:
        staged = run.stage("L3", tier="L3")
        os.makedirs(staged)
        pq.write_table(
            pa.table(
                {
                    "doc_id": [d for d, _ in documents],
                    "parent_id": [None] * len(texts),
                    "text": texts,
                    "run_id": [run.run_id] * len(texts),
                }
            ),
            f"{staged}/part-0.parquet",
        )
        run.commit({"l3": len(texts)})
    command = (
        "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 2048 "
        f"--n_threads {args.threads}"
    )
    spark = get_spark(config.spark)
    with ManagedServer(command, free_port(), model_path=smollm2_gguf()) as server:
        direct(server.url, [{"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 4}], 1)
        start = time.perf_counter()
        first = run_l3_to_l4(spark, config, str(root), server=server)
        job_seconds = time.perf_counter() - start
        passages = catalog.query("SELECT count(*) FROM l4_passages")[1][0][0]
        c = first.counts
        print(
            f"tiers l3_to_l4  {len(texts)} docs, {passages} passages  {job_seconds:6.1f}s  {passages / job_seconds:5.3f} passages/s  "
            f"requests {c['requests_sent']}  items {c['generated']} (verified {c['verified']}, rejected {c['rejected']}, "
            f"failed {c['failed']}; generation failures {c['documents_failed']} docs)  roles {json.dumps(c['roles'])}"
        )

        requests = recorded_requests(config, root, server.url, documents)
        shaper = OpenAIHttpEngine(["http://unused"], config.llm.model, structured_output=config.llm.structured_output)
        bodies = [shaper._body(r) for r in requests]
        engine_seconds, tokens = direct(server.url, bodies, args.concurrency)
        print(
            f"engine direct   {len(bodies)} requests  {engine_seconds:6.1f}s  {tokens / engine_seconds:7.1f} tokens/s  "
            f"{passages / engine_seconds:5.3f} passages/s"
        )
        print(f"share of engine time = engine direct / job = {engine_seconds / job_seconds:.3f}")

        start = time.perf_counter()
        again = run_l3_to_l4(spark, config, str(root), force=True, server=server)
        print(
            f"tiers re-run    {time.perf_counter() - start:6.1f}s  requests sent {again.counts['requests_sent']}, "
            f"cache hits {again.counts['cache_hits']}"
        )


if __name__ == "__main__":
    main()
