"""L2 to L3: LLM rubric scoring of every L2 document, and rewriting of the best into new L3 documents.

Executors talk to the engine fleet over HTTP (the driver launches and supervises the server when the
engine is `managed`); answers are cached beside the tier data, so a re-run sends nothing already
answered. Every L2 document ends in `l3_scores` as scored or failed (with the raw answer).
Runnable with spark-submit: `spark-submit jobs/l2_to_l3.py --root DATA_ROOT [--l2-run RUN_ID]`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Iterator

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.runner import JobResult, JobRun, parquet_stats
from jobs.skeleton import MissingInput, check_conserved, job_main, run_job
from jobs.spark_schema import spark_ddl
from jobs.tokens import with_token_counts
from tiers import schemas
from tiers.catalog import Catalog
from tiers.config import TiersConfig
from jobs.llm_stage import (
    CACHE,
    PROGRESS,
    announce_model,
    check_engine_errors,
    check_server_identity,
    engine_endpoints,
    usage_summary,
)
from tiers.l3.refine import check_calibration, refine_batch
from tiers.llm.factory import build_engine
from tiers.llm.progress import ProgressCounter, logged_progress
from tiers.llm.prompts import load_rewrite_prompts, load_score_prompt
from tiers.llm.server import ManagedServer
from tiers.names import L2, L2_TO_L3, L3

log = logging.getLogger(__name__)

JOB = L2_TO_L3
L3_ROWS = schemas.with_outcome(
    schemas.L3_SCORES, pa.schema([*schemas.L3, *schemas.L3_FAILURES, ("details", pa.string())])
)


def refine_partition(
    batches: Iterator[pa.RecordBatch],
    config: TiersConfig,
    endpoints: list[str],
    cache_path: str,
    api_key: str | None = None,
    progress_folder: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: score and rewrite each batch; one stats row per partition with usage and cache counts."""
    engine = build_engine(config.llm, endpoints, cache_path, api_key)
    progress = ProgressCounter(progress_folder)
    score_prompt = load_score_prompt(config.l3.score_prompt)
    tasks = {
        name: prompt
        for name, prompt in load_rewrite_prompts(config.l3.rewrite_prompts).items()
        if name in config.l3.tasks
    }
    totals = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "engine_seconds": 0.0}
    start = time.perf_counter()
    for batch in batches:
        ids, texts = batch.column("doc_id").to_pylist(), [t or "" for t in batch.column("text").to_pylist()]
        out = refine_batch(
            engine,
            ids,
            texts,
            score_prompt,
            tasks,
            config.l3,
            config.llm.model,
            parallel=config.llm.concurrency * len(endpoints),
            on_scored=progress,
        )
        for key in totals:
            totals[key] += getattr(out.usage, key)
        rows = [{**r, schemas.OUTCOME: "score"} for r in out.scores]
        rows += [{**r, schemas.OUTCOME: "l3"} for r in out.rewrites]
        rows += [{**r, schemas.OUTCOME: "rewrite_failed"} for r in out.rewrite_failures]
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=L3_ROWS)
    stats = {
        **totals,
        "sent": getattr(engine, "sent", 0),
        "cache_hits": getattr(engine, "hits", 0),
        "partition_seconds": time.perf_counter() - start,
    }
    progress.flush()
    engine.close()
    yield pa.RecordBatch.from_pylist([{"details": json.dumps(stats), schemas.OUTCOME: "stats"}], schema=L3_ROWS)


def l2_path(catalog: Catalog, l2_run: str | None) -> tuple[str, str]:
    output = catalog.output_of(L2, l2_run)
    if output is None:
        raise MissingInput(f"no committed L2 output in {catalog.root} for run {l2_run or 'any'}")
    return output.path, output.run_id


def run_l2_to_l3(
    spark: SparkSession,
    config: TiersConfig,
    root: str,
    l2_run: str | None = None,
    force: bool = False,
    server: ManagedServer | None = None,
    limit: int | None = None,
) -> JobResult:
    """`limit`: only the first `limit` L2 documents by doc_id (a trial run; a run of its own)."""
    catalog = Catalog(root)
    source, source_run = l2_path(catalog, l2_run)
    payload = {
        "l2": source,
        "llm": config.llm.model_dump(mode="json", exclude={"endpoints", "server", "concurrency"}),
        "l3": config.l3.model_dump(mode="json"),
    }
    if limit is not None:
        payload["limit"] = limit
    announce_model(config, L3)

    def body(run: JobRun) -> dict:
        l2 = spark.read.parquet(source).select("doc_id", "text")
        total, _ = parquet_stats(source)
        if limit is not None:
            l2, total = l2.orderBy("doc_id").limit(limit), min(total, limit)
        partitions = max(1, -(-total // config.l3.docs_per_partition))
        cache_path = str(catalog.root / CACHE)
        start = time.perf_counter()
        with (
            engine_endpoints(config, server) as (endpoints, api_key, supervised),
            logged_progress(catalog.root / PROGRESS / run.run_id, total, "L3 scoring") as progress_folder,
        ):
            check_calibration(config, load_score_prompt(config.l3.score_prompt), endpoints, api_key, cache_path)
            rows = (
                l2.repartition(partitions)
                .mapInArrow(
                    lambda it: refine_partition(it, config, endpoints, cache_path, api_key, progress_folder),
                    spark_ddl(L3_ROWS),
                )
                .persist(StorageLevel.DISK_ONLY)
            )
            try:
                outcome = F.col(schemas.OUTCOME)
                rows.filter(outcome == "score").select(
                    *[n for n in schemas.L3_SCORES.names if n != "run_id"]
                ).withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("l3_scores"))
                with_token_counts(
                    rows.filter(outcome == "l3").select(*[n for n in schemas.L3.names if n != "run_id"]),
                    config.tokens.tokenizer,
                ).withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage(L3, tier=L3))
                rows.filter(outcome == "rewrite_failed").select(
                    *[n for n in schemas.L3_FAILURES.names if n != "run_id"]
                ).withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("l3_failures"))
                stats = [r.details for r in rows.filter(outcome == "stats").select("details").collect()]
            finally:
                rows.unpersist()
            check_server_identity(supervised)
        scored, _ = parquet_stats(run.stage("l3_scores"))
        check_conserved("L3 scoring", total, score_or_failure_records=scored)
        engine_errors = check_engine_errors(run.stage("l3_scores"), config.l3.max_engine_error_share, supervised)
        l3_docs, _ = parquet_stats(run.stage(L3, tier=L3))
        usage = usage_summary(stats, time.perf_counter() - start, config.llm.gpus_per_endpoint * len(endpoints))
        return {
            "l2_in": total,
            "l3_scores": scored,
            "l3": l3_docs,
            "engine_errors": engine_errors,
            "l2_run": source_run,
            **usage,
        }

    result = run_job(catalog, JOB, payload, body, force, input_runs=[source_run])
    if not result.skipped:
        catalog.record_llm_usage(result.run_id, config.llm.model, config.llm.engine, result.counts)
    return result


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Score L2 with an LLM and rewrite the best documents into L3.",
        lambda spark, config, args: run_l2_to_l3(
            spark, config, args.root, args.l2_run, force=args.force, limit=args.limit
        ),
        argv,
        options={
            "--l2-run": {"help": "L2 run id (default: the latest current)"},
            "--limit": {"type": int, "help": "only the first N L2 documents by doc_id (a trial run)"},
        },
    )


if __name__ == "__main__":
    sys.exit(main())
