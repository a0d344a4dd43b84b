"""L0 ingest: read WARC, WET, JSONL and Parquet inside executors into L0 Parquet plus quarantine.

Runnable with spark-submit: `spark-submit jobs/ingest.py --input PATH --root DATA_ROOT`.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Iterator

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.arrow_rows import batched
from jobs.job_args import job_parser, parse_job_args
from jobs.runner import CountMismatch, JobResult, JobRun, parquet_stats
from jobs.spark import get_spark, partitions_for
from tiers import schemas
from tiers.catalog import Catalog
from tiers.config import IngestConfig, TiersConfig
from tiers.io.formats import expand_inputs
from tiers.io.readers import FileStats, ReaderOptions, read_file

log = logging.getLogger(__name__)

JOB = "ingest"
INGEST_ROWS = schemas.with_outcome(schemas.L0, pa.schema([*schemas.QUARANTINE, *schemas.INGEST_MANIFEST]))
FILES = pa.schema([("path", pa.string()), ("format", pa.string())])
ROW_GROUP_BYTES = 16 * 1024 * 1024  # small row groups let later jobs split one L0 file across tasks


def reader_options(config: IngestConfig) -> ReaderOptions:
    if config.html_extractor == "trafilatura":
        import trafilatura

        extractor = lambda html: trafilatura.extract(html, include_tables=True) or ""  # noqa: E731
    else:
        from tiers.io.html import extract_main_text as extractor
    return ReaderOptions(config.max_record_bytes, config.text_field, config.id_field, extractor)


def ingest_files(batches: Iterator[pa.RecordBatch], config: IngestConfig, run_id: str) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: each input row names one file; output rows are L0, quarantine or manifest rows."""
    options = reader_options(config)
    for batch in batches:
        for path, fmt in zip(batch.column("path").to_pylist(), batch.column("format").to_pylist()):
            stats = FileStats()

            def rows():
                for outcome in read_file(path, fmt, options, stats):
                    yield {**outcome.row, "run_id": run_id, schemas.OUTCOME: outcome.kind}
                yield {
                    "file": path, "source_format": fmt, "records": stats.records, "skipped": stats.skipped,
                    "bytes": os.path.getsize(path), "run_id": run_id, schemas.OUTCOME: "manifest",
                }

            yield from batched(rows(), INGEST_ROWS, size=512)


def run_ingest(spark: SparkSession, config: TiersConfig, inputs: list[str], root: str, force: bool = False) -> JobResult:
    files = expand_inputs(inputs)
    catalog = Catalog(root)
    payload = {
        "ingest": config.ingest.model_dump(mode="json"),
        "inputs": [(f.path, f.size, os.path.getmtime(f.path)) for f in files],
    }
    with JobRun(catalog, JOB, payload, force=force) as run:
        if run.skipped:
            return JobResult(run.previous["run_id"], True, run.previous["counts"])
        total_bytes = sum(f.size for f in files)
        partitions_for(spark, total_bytes, config.spark.bytes_per_partition)
        file_rows = [(f.path, f.format) for f in sorted(files, key=lambda f: -f.size)]
        slices = min(len(file_rows), max(2 * spark.sparkContext.defaultParallelism, -(-total_bytes // config.spark.bytes_per_partition)))
        frame = spark.sparkContext.parallelize(file_rows, numSlices=slices).toDF("path string, format string")
        ingest_config, run_id = config.ingest, run.run_id
        rows = frame.mapInArrow(
            lambda batches: ingest_files(batches, ingest_config, run_id), schemas.spark_ddl(INGEST_ROWS)
        ).persist(StorageLevel.DISK_ONLY)
        try:
            outcome = F.col(schemas.OUTCOME)
            rows.filter(outcome == "l0").select(*schemas.L0.names).write.option("parquet.block.size", ROW_GROUP_BYTES) \
                .parquet(run.stage("L0", tier="L0"))
            rows.filter(outcome == "quarantine").select(*schemas.QUARANTINE.names).write.parquet(run.stage("quarantine"))
            rows.filter(outcome == "manifest").select(*schemas.INGEST_MANIFEST.names).coalesce(1).write.parquet(run.stage("ingest_manifest"))
        finally:
            rows.unpersist()
        counts = check_counts(run)
        return run.commit(counts)


def check_counts(run: JobRun) -> dict[str, int]:
    """Records the readers saw must equal L0 rows plus quarantine rows."""
    import pyarrow.dataset as ds

    manifest = ds.dataset(run.stage("ingest_manifest"), format="parquet").to_table(columns=["records", "skipped", "file"])
    seen = sum(manifest.column("records").to_pylist())
    l0_rows, _ = parquet_stats(run.stage("L0", tier="L0"))
    quarantined, _ = parquet_stats(run.stage("quarantine"))
    counts = {
        "files": manifest.num_rows,
        "records_in": seen,
        "skipped_non_documents": sum(manifest.column("skipped").to_pylist()),
        "l0": l0_rows,
        "quarantine": quarantined,
    }
    if seen != l0_rows + quarantined:
        raise CountMismatch(f"ingest read {seen} records but wrote {l0_rows} to L0 and {quarantined} to quarantine")
    return counts


def main(argv: list[str] | None = None) -> int:
    args, config = parse_job_args(job_parser("Ingest raw crawl files into L0."), argv)
    spark = get_spark(config.spark)
    result = run_ingest(spark, config, args.input, args.root, force=args.force)
    log.info("ingest %s: %s", "skipped (already committed)" if result.skipped else "committed", result.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
