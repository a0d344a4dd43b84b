"""L3 to L4: verified knowledge items (facts and question-answer pairs) with evidence, independent checks,
cross-document merging and search postings.

Executors split each document into passages and do the LLM work of `tiers/l4/knowledge.py`
(generation, gates, re-solving by every verifier, the support judge, the decision) against the engine
fleet over HTTP, through the request cache beside the tier data, so a re-run sends nothing already
answered. The driver then flags evaluation overlap, merges duplicates across documents into canonical
items and writes the search postings (`tiers/l4/promote.py`, on the narrow item table).
Outputs: `L4` (canonical verified items), `l4_items` (every generated item and how it ended),
`l4_checks`, `l4_passages`, `l4_failures`, `l4_postings`.
Runnable with spark-submit: `spark-submit jobs/l3_to_l4.py --root DATA_ROOT [--l3-run RUN_ID]`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.llm_stage import (
    CACHE,
    PROGRESS,
    EngineFailure,
    announce_model,
    check_server_identity,
    usage_summary,
)
from jobs.runner import JobResult, JobRun
from jobs.skeleton import MissingInput, check_conserved, job_main, run_job
from jobs.spark_schema import spark_ddl
from tiers import schemas
from tiers.catalog import Catalog
from tiers.config import LLMConfig, TiersConfig
from tiers.eval_overlap import build_index, resolve_eval_dir
from tiers.l4.promote import promote
from tiers.llm.factory import build_engine
from tiers.llm.local_model import smollm2_gguf
from tiers.llm.progress import ProgressCounter, logged_progress
from tiers.llm.server import ManagedServer
from tiers.l4.knowledge import Engines, KnowledgePrompts, Verifier, knowledge_batch
from tiers.tokens import TokenizerError, count_tokens
from tiers.names import L2, L3, L3_TO_L4, L4

log = logging.getLogger(__name__)

JOB = L3_TO_L4
DOCUMENTS = pa.schema([("doc_id", pa.string()), ("passages", pa.int64()), ("status", pa.string())])
ROWS = schemas.with_outcome(
    schemas.L4_ITEMS,
    pa.schema(
        [
            f
            for s in (schemas.L4_PASSAGES, schemas.L4_CHECKS, schemas.L4_FAILURES, DOCUMENTS)
            for f in s
            if f.name not in schemas.L4_ITEMS.names
        ]
        + [pa.field("doc_id", pa.string()), pa.field("details", pa.string())]
    ),
)


@dataclass(frozen=True)
class EngineSpec:
    """What an executor builds one engine from: its settings and the endpoints it talks to."""

    llm: LLMConfig
    endpoints: tuple[str, ...]
    api_key: str | None = None  # a managed server's per-launch key

    @property
    def key(self) -> str:
        return self.llm.model_dump_json() + "|".join(self.endpoints)


@dataclass(frozen=True)
class EngineSpecs:
    generator: EngineSpec
    verifiers: tuple[tuple[str, EngineSpec | None], ...]  # None: the built-in extractive verifier
    judge: EngineSpec | None


@contextlib.contextmanager
def engine_specs(
    config: TiersConfig, server: ManagedServer | None = None
) -> Iterator[tuple[EngineSpecs, list[ManagedServer]]]:
    """Endpoints for the generator, every LLM verifier and the judge; launches one managed server per
    distinct managed engine (`server`, when given, stands for the `llm` section's) for the job's lifetime."""
    launched: dict[str, EngineSpec] = {}
    supervised: list[ManagedServer] = []
    with contextlib.ExitStack() as stack:

        def spec(llm: LLMConfig | None) -> EngineSpec:
            llm = llm or config.llm
            key = llm.model_dump_json()
            if key not in launched:
                if llm.engine != "managed":
                    launched[key] = EngineSpec(llm, tuple(llm.endpoints))
                elif llm == config.llm and server is not None:
                    supervised.append(server)
                    launched[key] = EngineSpec(llm, (server.url,), server.api_key if server.keyed else None)
                else:
                    s = llm.server
                    running = stack.enter_context(
                        ManagedServer(
                            s.command,
                            s.port,
                            s.health_path,
                            s.startup_timeout_s,
                            model_path=s.model_path or smollm2_gguf(),
                        )
                    )
                    supervised.append(running)
                    launched[key] = EngineSpec(llm, (running.url,), running.api_key if running.keyed else None)
            return launched[key]

        l4 = config.l4
        verifiers = tuple((v.name, spec(v.llm) if v.kind == "llm" else None) for v in l4.verifiers)
        judge = spec(l4.support_judge.llm) if l4.support_judge.enabled and "fact" in l4.generation.kinds else None
        yield EngineSpecs(spec(None), verifiers, judge), supervised


def _build(spec: EngineSpec, cache_path: str):
    return build_engine(spec.llm, list(spec.endpoints), cache_path, spec.api_key)


def token_counter(spec: str):
    """Tokens of one text under `tokens.tokenizer`, or None (the passage splitter's own estimate) without it."""
    try:
        count_tokens(["probe"], spec)
    except TokenizerError as exc:
        log.warning("passages are measured without the tokenizer: %s", exc)
        return None
    return lambda text: count_tokens([text], spec)[0]


def knowledge_partition(
    batches: Iterator[pa.RecordBatch],
    config: TiersConfig,
    specs: EngineSpecs,
    cache_path: str,
    progress_folder: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: the L4 work of each batch of documents; one stats row per partition."""
    built: dict[str, Any] = {}

    def engine(spec: EngineSpec | None):
        if spec is None:
            return None
        if spec.key not in built:
            built[spec.key] = _build(spec, cache_path)
        return built[spec.key]

    engines = Engines(
        engine(specs.generator), [Verifier(name, engine(spec)) for name, spec in specs.verifiers], engine(specs.judge)
    )
    prompts = KnowledgePrompts.load(config.l4)
    counter = token_counter(config.tokens.tokenizer)
    roles: dict[str, dict[str, Any]] = {}
    progress = ProgressCounter(progress_folder)
    start = time.perf_counter()
    for batch in batches:
        ids = batch.column("doc_id").to_pylist()
        texts = [t or "" for t in batch.column("text").to_pylist()]
        tier_of = dict(zip(ids, batch.column("source_tier").to_pylist()))
        out = knowledge_batch(engines, list(zip(ids, texts)), prompts, config.l4, counter)
        for role, usage in out.usage.items():
            total = roles.setdefault(
                role, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "engine_seconds": 0.0}
            )
            for key in total:
                total[key] += getattr(usage, key)
        rows = [{**r, "source_tier": tier_of[r["doc_id"]], schemas.OUTCOME: "passage"} for r in out.passages]
        rows += [{**r, "source_tier": tier_of[r["source_doc_id"]], schemas.OUTCOME: "item"} for r in out.items]
        rows += [{**r, schemas.OUTCOME: "check"} for r in out.checks]
        rows += [{**r, schemas.OUTCOME: "failure"} for r in out.failures]
        rows += [{**r, schemas.OUTCOME: "document"} for r in out.documents]
        rows.append(
            {"details": json.dumps({"repeated_in_passage": out.repeated_in_passage}), schemas.OUTCOME: "repeats"}
        )
        progress(len(ids))
        yield pa.RecordBatch.from_pylist(rows, schema=ROWS)
    progress.flush()
    engine_list = list(built.values())
    stats = {
        "sent": sum(getattr(e, "sent", 0) for e in engine_list),
        "cache_hits": sum(getattr(e, "hits", 0) for e in engine_list),
        "partition_seconds": time.perf_counter() - start,
        "roles": roles,
    }
    for engine in engine_list:
        engine.close()
    yield pa.RecordBatch.from_pylist([{"details": json.dumps(stats), schemas.OUTCOME: "stats"}], schema=ROWS)


@dataclass(frozen=True)
class Inputs:
    paths: dict[str, list[str]]  # tier -> Parquet folders
    runs: list[str]
    l3_scores: list[str]


def resolve_inputs(catalog: Catalog, config: TiersConfig, l3_run: str | None) -> Inputs:
    """The current L3 (or the given run) and, when configured, the current L2 with its L3 rubric scores."""
    paths: dict[str, list[str]] = {}
    runs, scores = [], []
    if config.l4.input.l3:
        outputs = catalog.committed_outputs(kind=L3, run_id=l3_run, current_only=l3_run is None)
        if not outputs:
            raise MissingInput(
                f"no committed L3 output in {catalog.root} for run {l3_run or 'any'}; run `tiers run l2-to-l3` first"
            )
        paths[L3] = [o.path for o in outputs]
        runs += [o.run_id for o in outputs]
    if config.l4.input.l2_min_llm_score is not None:
        l2 = catalog.committed_outputs(kind=L2, current_only=True)
        scored = catalog.committed_outputs(kind="l3_scores", current_only=True)
        if not l2 or not scored:
            raise MissingInput(f"l4.input.l2_min_llm_score needs committed L2 and l3_scores in {catalog.root}")
        paths[L2] = [o.path for o in l2]
        scores = [o.path for o in scored]
        runs += [o.run_id for o in (*l2, *scored)]
    return Inputs(paths, sorted(set(runs)), scores)


def input_documents(spark: SparkSession, inputs: Inputs, config: TiersConfig) -> DataFrame:
    """(doc_id, text, source_tier) of every input document, each once (L3 first when both tiers hold it)."""
    frames = []
    if L3 in inputs.paths:
        frames.append(spark.read.parquet(*inputs.paths[L3]).select("doc_id", "text", F.lit(L3).alias("source_tier")))
    if L2 in inputs.paths:
        scores = spark.read.parquet(*inputs.l3_scores)
        chosen = scores.filter(F.col("llm_score") >= config.l4.input.l2_min_llm_score).select("doc_id").distinct()
        l2 = spark.read.parquet(*inputs.paths[L2]).select("doc_id", "text").join(chosen, "doc_id", "left_semi")
        frames.append(l2.withColumn("source_tier", F.lit(L2)))
    documents = frames[0]
    for frame in frames[1:]:
        documents = documents.unionByName(frame)
    return documents.dropDuplicates(["doc_id"])


def _write(table: pa.Table, folder: str) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    pq.write_table(table, f"{folder}/part-0.parquet")


def _merge_stats(stats_rows: list[str], role_models: dict[str, str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Stats rows in the shape usage_summary reads, and usage per role with its model."""
    flat, roles = [], {}
    for details in stats_rows:
        data = json.loads(details)
        per_role = data.pop("roles")
        data.update({key: sum(r[key] for r in per_role.values()) for key in ("prompt_tokens", "completion_tokens")})
        flat.append(json.dumps(data))
        for role, usage in per_role.items():
            total = roles.setdefault(
                role,
                {
                    "model": role_models.get(role, "?"),
                    "requests": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "engine_seconds": 0.0,
                },
            )
            for key, value in usage.items():
                total[key] += value
    return flat, roles


def _role_models(specs: EngineSpecs) -> dict[str, str]:
    models = {"generator": specs.generator.llm.model}
    models.update({f"verifier:{name}": spec.llm.model for name, spec in specs.verifiers if spec is not None})
    if specs.judge is not None:
        models["judge"] = specs.judge.llm.model
    return models


def empty_input_message(inputs: Inputs, config: TiersConfig) -> str:
    """One line on why L4 receives no document, with the setting to change."""
    threshold = config.l4.input.l2_min_llm_score
    parts = []
    if L3 in inputs.paths:
        parts.append(
            "the current L3 holds no document (L3 keeps rewrites of documents scoring at or above "
            f"l3.rewrite_threshold = {config.l3.rewrite_threshold})"
        )
    if threshold is not None:
        parts.append(f"no L2 document has an L3 rubric score at or above l4.input.l2_min_llm_score = {threshold}")
    else:
        parts.append(
            "l4.input.l2_min_llm_score is null (set it, e.g. --set l4.input.l2_min_llm_score=2, to read "
            "scored L2 documents as well)"
        )
    return "L4 receives no documents: " + "; ".join(parts)


def eval_folder(config: TiersConfig) -> Path | None:
    """The evaluation folder (`builtin`: the packaged sets; a relative path: from the working directory, else the project); None
    when `l4.eval_dir` is null. A missing folder is MissingInput, before the run starts."""
    if config.l4.eval_dir is None:
        log.warning("l4.eval_dir is null: items are promoted without an evaluation-overlap check")
        return None
    try:
        return resolve_eval_dir(config.l4.eval_dir)
    except FileNotFoundError as exc:
        raise MissingInput(
            f"l4.eval_dir: {exc}; point it at the evaluation sets (items sharing a 13-gram with them are never "
            "promoted), `builtin`, or null"
        ) from None


def run_l3_to_l4(
    spark: SparkSession,
    config: TiersConfig,
    root: str,
    l3_run: str | None = None,
    force: bool = False,
    server: ManagedServer | None = None,
    limit: int | None = None,
) -> JobResult:
    """`limit`: only the first `limit` input documents by doc_id (a trial run; a run of its own)."""
    announce_model(config, L4)
    catalog = Catalog(root)
    inputs = resolve_inputs(catalog, config, l3_run)
    prompts = KnowledgePrompts.load(config.l4)
    evaluation = eval_folder(config)
    payload = {
        "inputs": {tier: [catalog.relative(p) for p in paths] for tier, paths in inputs.paths.items()},
        "llm": config.llm.model_dump(mode="json", exclude={"endpoints", "server", "concurrency"}),
        "l4": config.l4.model_dump(mode="json"),
        "prompts": prompts.versions(),
        "tokens": config.tokens.tokenizer,
    }
    if limit is not None:
        payload["limit"] = limit

    def body(run: JobRun) -> dict:
        documents = input_documents(spark, inputs, config)
        if limit is not None:
            documents = documents.orderBy("doc_id").limit(limit)
        documents = documents.persist(StorageLevel.DISK_ONLY)
        total = documents.count()
        if not total:
            log.warning(empty_input_message(inputs, config))
        partitions = max(1, -(-total // config.l4.docs_per_partition))
        cache_path = str(catalog.root / CACHE)
        scratch = str(run.staging / "items_scratch")
        start = time.perf_counter()
        with (
            engine_specs(config, server) as (specs, supervised),
            logged_progress(catalog.root / PROGRESS / run.run_id, total, "L4 generation") as progress_folder,
        ):
            rows = (
                documents.repartition(partitions, "doc_id")
                .mapInArrow(
                    lambda it: knowledge_partition(it, config, specs, cache_path, progress_folder), spark_ddl(ROWS)
                )
                .persist(StorageLevel.DISK_ONLY)
            )
            try:
                outcome = F.col(schemas.OUTCOME)

                def stage(kind: str, schema: pa.Schema, path: str) -> None:
                    rows.filter(outcome == kind).select(*[n for n in schema.names if n != "run_id"]).withColumn(
                        "run_id", F.lit(run.run_id)
                    ).write.parquet(path)

                stage("passage", schemas.L4_PASSAGES, run.stage("l4_passages"))
                stage("check", schemas.L4_CHECKS, run.stage("l4_checks"))
                stage("failure", schemas.L4_FAILURES, run.stage("l4_failures"))
                stage("item", schemas.L4_ITEMS, scratch)
                docs = dict(rows.filter(outcome == "document").groupBy("status").count().collect())
                repeats = sum(
                    json.loads(r.details)["repeated_in_passage"]
                    for r in rows.filter(outcome == "repeats").select("details").collect()
                )
                engine_failed = {
                    r.doc_id
                    for r in rows.filter((outcome == "failure") & (F.col("status") == "engine_error"))
                    .select("doc_id")
                    .distinct()
                    .collect()
                }
                stats = [r.details for r in rows.filter(outcome == "stats").select("details").collect()]
            finally:
                rows.unpersist()
                documents.unpersist()
            failure_cause = next((s.failure_summary() for s in supervised if s.failure_summary()), "")
            for supervised_server in supervised:
                check_server_identity(supervised_server)
        if total and len(engine_failed) / total > config.l4.max_engine_error_share:
            raise EngineFailure(
                f"{len(engine_failed)} of {total} documents had generation requests end in engine_error "
                f"(more than {config.l4.max_engine_error_share:.0%} allowed)"
                + (f": {failure_cause}" if failure_cause else "")
            )
        check_conserved("L4 documents", total, processed=docs.get("processed", 0), failed=docs.get("failed", 0))
        items = (
            ds.dataset(scratch, format="parquet").to_table()
            if Path(scratch).exists()
            else schemas.L4_ITEMS.empty_table()
        )
        promotion = promote(
            items,
            run.run_id,
            build_index(evaluation) if evaluation else None,
            config.l4.merge_threshold,
            lambda texts: _tokens(texts, config.tokens.tokenizer),
        )
        _write(promotion.items, run.stage("l4_items"))
        _write(promotion.l4, run.stage(L4, tier=L4))
        _write(promotion.postings, run.stage("l4_postings"))
        status = promotion.items.column("status").to_pylist()
        counts = {
            "documents_in": total,
            "documents_processed": docs.get("processed", 0),
            "documents_failed": docs.get("failed", 0),
            "generated": len(status),
            "verified": status.count("verified"),
            "rejected": status.count("rejected"),
            "failed": status.count("failed"),
            "repeated_in_passage": repeats,
            "eval_flagged": promotion.eval_flagged,
            "merged": promotion.merged,
            "l4": promotion.l4.num_rows,
        }
        check_conserved(
            "L4 items",
            counts["generated"],
            verified=counts["verified"],
            rejected=counts["rejected"],
            failed=counts["failed"],
        )
        check_conserved(
            "L4 promotion",
            counts["verified"],
            promoted=counts["l4"],
            merged=counts["merged"],
            eval_flagged=counts["eval_flagged"],
        )
        flat, roles = _merge_stats(stats, _role_models(specs))
        usage = usage_summary(
            flat, time.perf_counter() - start, config.llm.gpus_per_endpoint * len(specs.generator.endpoints)
        )
        counts.update(usage)
        counts["roles"] = roles
        counts["inputs"] = inputs.runs
        return counts

    result = run_job(catalog, JOB, payload, body, force, input_runs=inputs.runs)
    if not result.skipped:
        catalog.record_llm_usage(result.run_id, config.llm.model, config.llm.engine, result.counts)
        catalog.record_llm_roles(result.run_id, result.counts.get("roles", {}))
    return result


def _tokens(texts: list[str], spec: str) -> list[int | None]:
    try:
        return count_tokens(texts, spec)
    except TokenizerError:
        return [None] * len(texts)


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Generate, verify and merge knowledge items from L3 into L4.",
        lambda spark, config, args: run_l3_to_l4(
            spark, config, args.root, args.l3_run, force=args.force, limit=args.limit
        ),
        argv,
        options={
            "--l3-run": {"help": "L3 run id (default: every current L3)"},
            "--limit": {"type": int, "help": "only the first N input documents by doc_id (a trial run)"},
        },
    )


if __name__ == "__main__":
    sys.exit(main())
