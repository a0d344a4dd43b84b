"""Ingest's Spark body: the files are read inside executors (mapInArrow), one task per group of files;
each file's byte coverage is checked there too, so the driver receives one row per file, never a row
per record."""

from __future__ import annotations

import os

import pyarrow as pa

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.ingest_rows import INGEST_ROWS, ROW_GROUP_BYTES, ingest_files
from jobs.runner import JobRun
from jobs.spark import computed_once, partitions_for
from jobs.spark_schema import spark_ddl
from jobs.stage_inputs import IngestInputs
from jobs.tokens import with_token_counts, without_token_counts
from tiers import schemas
from tiers.io.coverage import COVERAGE, FileVerdict, file_verdict, spans_of
from tiers.io.readers import display_path

VERDICTS = pa.schema(
    [
        ("file", pa.string()),
        ("problems", pa.list_(pa.string())),
        ("bytes_ignored", pa.int64()),
        ("bytes_quarantined", pa.int64()),
    ]
)


def _verdict_rows(table: pa.Table, sizes: dict[str, int], written: dict[str, int]) -> pa.Table:
    """One file's coverage rows -> its verdict (a file the driver did not list is only named: the driver
    reports it)."""
    rows = []
    for file, spans in spans_of(table).items():
        verdict = file_verdict(spans, sizes.get(file, 0), written.get(file, 0))
        problems = verdict.problems if file in sizes else []
        rows.append(
            {
                "file": file,
                "problems": problems,
                "bytes_ignored": verdict.bytes_ignored,
                "bytes_quarantined": verdict.bytes_quarantined,
            }
        )
    return pa.Table.from_pylist(rows, schema=VERDICTS)


def coverage_verdicts(coverage: DataFrame, sizes: dict[str, int], written: dict[str, int]) -> dict[str, FileVerdict]:
    """Each file's coverage verdict (`sizes`: as listed; `written`: L0 plus quarantine rows per file),
    computed in the executors, one group per file: the driver receives one row per file."""
    verdicts = coverage.groupBy("file").applyInArrow(
        lambda table: _verdict_rows(table, sizes, written),
        "file string, problems array<string>, bytes_ignored bigint, bytes_quarantined bigint",
    )
    return {
        r["file"]: FileVerdict(list(r["problems"]), r["bytes_ignored"], r["bytes_quarantined"])
        for r in verdicts.collect()
    }


def write_ingest_outputs(
    spark: SparkSession, inputs: IngestInputs, run: JobRun
) -> tuple[dict[str, int], dict[str, FileVerdict]]:
    """Write L0, quarantine, manifest and coverage under `run`'s staging; return L0 plus quarantine rows
    per file (counting documents also found in `existing` L0 outputs, which are not written again) and
    each file's coverage verdict, computed in the executors."""
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
    rows = computed_once(
        frame.mapInArrow(lambda batches: ingest_files(batches, ingest_config, run_id), spark_ddl(INGEST_ROWS))
    )
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
    coverage = rows.filter(outcome == "coverage").select(*COVERAGE.names)
    coverage.coalesce(1).write.parquet(run.stage("ingest_coverage"))
    written = {
        r["file"]: r["count"] for r in rows.filter(outcome.isin("l0", "quarantine")).groupBy("file").count().collect()
    }
    return written, coverage_verdicts(coverage, {display_path(f.path): f.size for f in files}, written)
