"""L1, second half: exact and MinHash near-duplicate dedup of the documents that passed the operators.

Reads one committed `l1_filter` output, writes L1 and a drop record per duplicate (with the kept id).
Runnable with spark-submit: `spark-submit jobs/l1_dedup.py --root DATA_ROOT [--filter-run RUN_ID]`.
"""
from __future__ import annotations

import logging
import sys

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.dedup import exact_duplicates, near_duplicates, remove_dropped
from jobs.runner import JobResult, JobRun, parquet_stats
from jobs.skeleton import MissingInput, check_conserved, job_main, run_job
from jobs.spark import partitions_for
from jobs.tokens import with_token_counts
from tiers.catalog import Catalog
from tiers.config import TiersConfig

log = logging.getLogger(__name__)

JOB = "l1_dedup"


def filtered_path(catalog: Catalog, filter_run: str | None) -> tuple[str, str]:
    """(path, run id) of the given committed l1_filter output, or of the latest."""
    output = catalog.output_of("filtered", filter_run)
    if output is None:
        raise MissingInput(f"no committed l1_filter output in {catalog.root} for run {filter_run or 'any'}")
    return output.path, output.run_id


def run_l1_dedup(spark: SparkSession, config: TiersConfig, root: str, filter_run: str | None = None,
                 force: bool = False) -> JobResult:
    catalog = Catalog(root)
    catalog.migrate()
    source, source_run = filtered_path(catalog, filter_run)
    payload = {"dedup": config.l1.dedup.model_dump(mode="json"), "filtered": source}

    def body(run: JobRun) -> dict:
        rows_in, bytes_in = parquet_stats(source)
        partitions_for(spark, bytes_in * 4, config.spark.bytes_per_partition)
        kept = spark.read.parquet(source)
        duplicates = []
        if config.l1.dedup.exact:
            duplicates.append(exact_duplicates(kept).persist(StorageLevel.DISK_ONLY))
        if config.l1.dedup.minhash.enabled:
            near = near_duplicates(spark, kept, config.l1.dedup.minhash)
            if duplicates:
                near = near.join(duplicates[0].select("doc_id"), "doc_id", "left_anti")
            duplicates.append(near.persist(StorageLevel.DISK_ONLY))
        try:
            l1 = remove_dropped(kept, *duplicates) if duplicates else kept
            l1 = with_token_counts(l1, config.tokens.tokenizer)
            l1.withColumn("parent_ids", F.array(F.col("doc_id"))).withColumn("run_id", F.lit(run.run_id)) \
                .write.parquet(run.stage("L1", tier="L1"))
            drops = duplicates[0] if duplicates else None
            for frame in duplicates[1:]:
                drops = drops.unionByName(frame)
            if drops is not None:
                drops.withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("drops"))
            else:
                run.stage("drops")
        finally:
            for frame in duplicates:
                frame.unpersist()
        l1_rows, _ = parquet_stats(run.stage("L1", tier="L1"))
        dropped, _ = parquet_stats(run.stage("drops"))
        check_conserved("L1 dedup", rows_in, l1=l1_rows, duplicates=dropped)
        return {"filtered_in": rows_in, "l1": l1_rows, "dropped": dropped, "filter_run": source_run}

    return run_job(catalog, JOB, payload, body, force, input_runs=[source_run])


def main(argv: list[str] | None = None) -> int:
    return job_main("Deduplicate the filtered documents into L1 (the second half of L0 to L1).",
                    lambda spark, config, args: run_l1_dedup(spark, config, args.root, args.filter_run, force=args.force),
                    argv, options={"--filter-run": {"help": "l1_filter run id (default: the latest current)"}})

if __name__ == "__main__":
    sys.exit(main())
