"""Benchmark (not a test) for issue 14: token counting and allocation + export at scale.

1. Token counting, docs per second per core: the SmolLM2 tokenizer alone (one thread, CPU seconds of
   this process) against the same texts counted inside a Spark job (`jobs/tokens.py`, local[N], wall
   seconds x N cores), with an identity `mapInArrow` pass as the Spark overhead reference.
2. `tiers allocate` (conf/allocation.yaml, real evaluation index) and `tiers export` of the pretrain
   stage (Parquet, `--shard-rows`, default 100,000 as in `tiers export`) on synthetic roots of several
   sizes (L1 rows; 30 % of them in L2, 5 % more as L3 rewrites), under each `--memory-limit`. Each size
   runs in a fresh process whose peak RSS is reported, for the allocation and, after resetting the
   peak (Linux `clear_refs`), for the export alone: the driver holds aggregates only, and with a cap
   the documents are handled in chunks sized to it (tiers/apps/allocation/partition.py), so the peak should
   not grow with the documents.

    .venv/bin/python bench/allocation.py [--docs 20000] [--rows 250000 1000000] [--cores 2]
    BENCH_TMP=/tmp .venv/bin/python bench/allocation.py --skip-tokens --rows 250000 1000000 2000000 \
        --memory-limit none 256MB
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

log = logging.getLogger("bench.allocation")
REPO = Path(__file__).resolve().parent.parent


def sample_texts(n: int) -> list[str]:
    from tests.helpers import dolma_texts

    texts = dolma_texts()
    return [texts[i % len(texts)] for i in range(n)]


def tokenizer_alone(texts: list[str]) -> dict:
    os.environ["RAYON_NUM_THREADS"] = "1"  # before the tokenizer's thread pool starts: one core
    from tiers.tokens import count_tokens

    count_tokens(texts[:100])
    start_cpu, start = time.process_time(), time.perf_counter()
    counts = [n for i in range(0, len(texts), 1024) for n in count_tokens(texts[i : i + 1024])]
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    return {
        "docs": len(texts),
        "tokens": sum(counts),
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "docs_per_cpu_s": round(len(texts) / cpu),
        "tokens_per_cpu_s": round(sum(counts) / cpu),
    }


def in_spark(texts: list[str], cores: int) -> dict:
    from pyspark.sql import functions as F

    from jobs.spark import get_spark
    from jobs.tokens import with_token_counts
    from tiers.config import SparkConfig

    spark = get_spark(
        SparkConfig(
            master=f"local[{cores}]", app_name="bench-tokens", conf={"spark.sql.shuffle.partitions": str(cores)}
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/texts.parquet"
        import pyarrow.parquet as pq

        pq.write_table(
            pa.table({"doc_id": [str(i) for i in range(len(texts))], "text": texts}), path, row_group_size=2048
        )
        frame = spark.read.parquet(path).repartition(cores * 4).cache()
        frame.count()
        results = {}
        for name, job in (
            ("identity", lambda f: f.mapInArrow(lambda it: it, f.schema)),
            ("count", lambda f: with_token_counts(f)),
        ):
            job(frame).select(F.lit(1)).write.format("noop").mode("overwrite").save()  # warm the Python workers
            start = time.perf_counter()
            out = job(frame)
            if name == "count":
                total = out.agg(F.sum("n_tokens")).first()[0]
            else:
                out.write.format("noop").mode("overwrite").save()
                total = None
            wall = time.perf_counter() - start
            results[name] = {
                "wall_s": round(wall, 2),
                "docs_per_s_per_core": round(len(texts) / (wall * cores)),
                "tokens": total,
            }
    spark.stop()
    return results


def build_synthetic_root(root: str, rows: int, seed: int = 0) -> None:
    """L1 of `rows` documents (text: words drawn from a 5,000-word vocabulary; n_tokens drawn 50 to 2,000,
    not counted), 30 % of them in L2, rewrites of 5 % as L3; registered through the catalog API."""
    from tests.allocation_roots import commit
    from tiers.catalog import Catalog

    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    catalog = Catalog(root)
    chunk = 100_000

    def l1_chunks(selected_only: bool, run_id: str):
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            local = np.random.default_rng(seed + start)
            ids = np.array([f"d{start + i:09d}" for i in range(n)])
            words = vocabulary[local.integers(0, len(vocabulary), size=(n, 24))]
            texts = np.array([" ".join(w) for w in words])
            tokens = local.integers(50, 2000, size=n)
            scores = local.random(n)
            keep = scores >= 0.7 if selected_only else np.ones(n, dtype=bool)
            columns = {
                "doc_id": ids[keep],
                "text": texts[keep],
                "url": np.char.add("https://example.org/", ids[keep]),
                "crawl": np.where(local.random(n) < 0.5, "CC-MAIN-2024-10", "CC-MAIN-2024-18")[keep],
                "n_tokens": tokens[keep],
            }
            if selected_only:
                columns.update(model_lang="en", model_hash="synthetic", quality_score=scores[keep])
            table = pa.table(
                {k: (v if isinstance(v, np.ndarray) else [v] * int(keep.sum())) for k, v in columns.items()}
            )
            yield table.append_column("run_id", pa.array([run_id] * table.num_rows))

    def score_chunks():
        for table in l1_chunks(False, "scorerun"):
            local_scores = np.random.default_rng(seed + int(table.column("doc_id")[0].as_py()[1:])).random(
                table.num_rows
            )
            yield pa.table(
                {
                    "doc_id": table.column("doc_id"),
                    "lang": ["en"] * table.num_rows,
                    "model_lang": ["en"] * table.num_rows,
                    "model_hash": ["synthetic"] * table.num_rows,
                    "quality_score": local_scores,
                    "run_id": ["scorerun"] * table.num_rows,
                }
            )

    commit(catalog, "l1_dedup", "L1", "L1", l1_chunks(False, "l1run"), "l1run")
    commit(catalog, "l2_score", "l2_scores", None, score_chunks(), "scorerun", ["l1run"])
    commit(catalog, "l2_select", "L2", "L2", l1_chunks(True, "l2run"), "l2run", ["l1run", "scorerun"])
    n3 = rows // 20
    l3 = pa.table(
        {
            "doc_id": [f"r{i:09d}" for i in range(n3)],
            "parent_id": [f"d{i * 20:09d}" for i in range(n3)],
            "task": ["textbook"] * n3,
            "model": ["SmolLM2-135M-Instruct"] * n3,
            "prompt_version": ["rewrite_v1"] * n3,
            "text": [f"rewritten text {i}" for i in range(n3)],
            "n_tokens": rng.integers(100, 1500, size=n3),
            "run_id": ["l3run"] * n3,
        }
    )
    commit(catalog, "l2_to_l3", "L3", "L3", [l3], "l3run", ["l2run"])


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5), so a phase's own peak can be read; False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> int:
    """This process's peak resident set (VmHWM: reset at exec, unlike getrusage's maxrss, which a spawned
    child inherits from its parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def allocate_and_export(root: str, out: str, queue, memory_limit: str | None = None, shard_rows: int = 100_000) -> None:
    logging.basicConfig(level=logging.WARNING)
    from tiers.apps.allocation.allocate import allocate
    from tiers.apps.allocation.export import export_stage
    from tiers.apps.allocation.plan import load_plan

    base = peak_rss_mb()
    plan = load_plan(REPO / "conf" / "allocation.yaml")
    eval_dir = REPO.parent / "shared" / "data" / "eval"
    start = time.perf_counter()
    result = allocate(root, plan, eval_dir=eval_dir if eval_dir.is_dir() else None, memory_limit=memory_limit)
    allocate_s = time.perf_counter() - start
    after_allocate = peak_rss_mb()
    export_alone = reset_peak_rss()
    start = time.perf_counter()
    exported = export_stage(root, "pretrain", out, "parquet", shard_rows=shard_rows, memory_limit=memory_limit)
    export_s = time.perf_counter() - start
    queue.put(
        {
            "allocate_s": round(allocate_s, 1),
            "export_s": round(export_s, 1),
            "allocated_documents": result.documents,
            "allocated_tokens": result.tokens,
            "manifest_hash": result.manifest_hash[:16],
            "export_rows": exported.rows,
            "export_shards": len(exported.shards),
            "peak_rss_before_mb": base,
            "peak_rss_allocate_mb": after_allocate,
            # the export's own peak when the kernel lets the process reset VmHWM, else the process's peak so far
            "peak_rss_export_mb": peak_rss_mb(),
            "export_peak_is_its_own": export_alone,
        }
    )


def scale_run(rows: int, memory_limit: str | None = None, shard_rows: int = 100_000) -> dict:
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        start = time.perf_counter()
        builder = spawn.Process(target=build_synthetic_root, args=(f"{folder}/root", rows))
        builder.start()
        builder.join()
        build_s = time.perf_counter() - start
        queue = spawn.Queue()
        worker = spawn.Process(
            target=allocate_and_export, args=(f"{folder}/root", f"{folder}/out", queue, memory_limit, shard_rows)
        )
        worker.start()
        result = queue.get()
        worker.join()
        return {"rows": rows, "memory_limit": memory_limit, "build_root_s": round(build_s, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="texts for the token-counting comparison")
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000], help="synthetic L1 sizes")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--skip-tokens", action="store_true")
    parser.add_argument(
        "--memory-limit", nargs="+", default=[None], help="DuckDB memory caps to compare, e.g. none 256MB"
    )
    parser.add_argument(
        "--shard-rows", type=int, default=100_000, help="rows per exported shard (tiers export's default)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = {}
    if not args.skip_tokens:
        texts = sample_texts(args.docs)
        report["tokenizer_alone"] = tokenizer_alone(texts)
        report["spark"] = in_spark(texts, args.cores)
        report["spark_vs_alone"] = round(
            report["spark"]["count"]["docs_per_s_per_core"] / report["tokenizer_alone"]["docs_per_cpu_s"], 2
        )
    limits = [None if limit in (None, "none") else limit for limit in args.memory_limit]
    report["allocation"] = []
    for limit in limits:
        for rows in args.rows:
            report["allocation"].append(scale_run(rows, limit, args.shard_rows))
            log.info("%s", json.dumps(report["allocation"][-1]))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
