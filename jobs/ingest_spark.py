"""Ingest's Spark body: the files are read inside executors (mapInArrow), one task per group of files."""

from __future__ import annotations

import os

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.ingest_rows import INGEST_ROWS, ROW_GROUP_BYTES, ingest_files
from jobs.runner import JobRun
from jobs.spark import partitions_for
from jobs.spark_schema import spark_ddl
from jobs.stage_inputs import IngestInputs
from jobs.tokens import with_token_counts, without_token_counts
from tiers import schemas
from tiers.io.coverage import COVERAGE


def write_ingest_outputs(spark: SparkSession, inputs: IngestInputs, run: JobRun) -> dict[str, int]:
    """Write L0, quarantine, manifest and coverage under `run`'s staging; return L0 plus quarantine rows
    per file (counting documents also found in `existing` L0 outputs, which are not written again)."""
    config, files, existing = inputs.config, inputs.files, inputs.existing
    total_bytes = sum(f.size for f in files)
    partitions_for(spark, total_bytes, config.spark.bytes_per_partition)
    listed = [
        (bytearray(os.fsencode(f.path)), f.format, f.size, *f.identity) for f in sorted(files, key=lambda f: -f.size)
    ]
    slices = min(
        len(listed), max(2 * spark.sparkContext.defaultParallelism, -(-total_bytes // config.spark.bytes_per_partition))
    )
    frame = spark.sparkContext.parallelize(listed, numSlices=slices).toDF(
        "path binary, format string, size bigint, device bigint, inode bigint"
    )
    ingest_config, run_id = config.ingest, run.run_id
    rows = frame.mapInArrow(
        lambda batches: ingest_files(batches, ingest_config, run_id), spark_ddl(INGEST_ROWS)
    ).persist(StorageLevel.DISK_ONLY)
    try:
        outcome = F.col(schemas.OUTCOME)
        new_docs = rows.filter(outcome == "l0").select(*schemas.L0.names)
        if existing:
            new_docs = new_docs.join(spark.read.parquet(*existing).select("doc_id"), "doc_id", "left_anti")
        new_docs = (
            with_token_counts(new_docs, config.tokens.tokenizer)
            if config.tokens.count_l0
            else without_token_counts(new_docs)
        )
        new_docs.write.option("parquet.block.size", ROW_GROUP_BYTES).parquet(run.stage("L0", tier="L0"))
        rows.filter(outcome == "quarantine").select(*schemas.QUARANTINE.names).write.parquet(run.stage("quarantine"))
        rows.filter(outcome == "manifest").select(*schemas.INGEST_MANIFEST.names).coalesce(1).write.parquet(
            run.stage("ingest_manifest")
        )
        rows.filter(outcome == "coverage").select(*COVERAGE.names).coalesce(1).write.parquet(
            run.stage("ingest_coverage")
        )
        return {
            r["file"]: r["count"]
            for r in rows.filter(outcome.isin("l0", "quarantine")).groupBy("file").count().collect()
        }
    finally:
        rows.unpersist()
