"""Ingest's rows: every input file read into L0, quarantine, manifest and byte-coverage rows, in one
union schema (`INGEST_ROWS`); shared by the Spark body (inside executors) and the local body."""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa

from jobs.arrow_rows import batched
from tiers import schemas
from tiers.config import IngestConfig
from tiers.io.coverage import COVERAGE
from tiers.io.readers import FileStats, ReaderOptions, display_path, read_file

INGEST_ROWS = schemas.with_outcome(schemas.L0, pa.schema([*schemas.QUARANTINE, *schemas.INGEST_MANIFEST, *COVERAGE]))
ROW_GROUP_BYTES = 16 * 1024 * 1024  # small row groups let later jobs split one L0 file across tasks


def reader_options(config: IngestConfig) -> ReaderOptions:
    if config.html_extractor == "trafilatura":
        import trafilatura

        extractor = lambda html: trafilatura.extract(html, include_tables=True) or ""  # noqa: E731
    else:
        from tiers.io.html import extract_main_text as extractor
    return ReaderOptions(config.max_record_bytes, config.text_field, config.id_field, extractor)


def ingest_files(batches: Iterator[pa.RecordBatch], config: IngestConfig, run_id: str) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: each input row names one file; output rows are L0, quarantine, manifest or coverage rows."""
    options = reader_options(config)
    for batch in batches:
        for raw_path, fmt, size, device, inode in zip(
            *(batch.column(name).to_pylist() for name in ("path", "format", "size", "device", "inode"))
        ):
            rows = file_rows(os.fsdecode(raw_path), fmt, options, run_id, size, (device, inode))
            yield from batched(rows, INGEST_ROWS, size=512)


def file_rows(
    path: str, fmt: str, options: ReaderOptions, run_id: str, size: int, identity: tuple[int, int] | None = None
) -> Iterator[dict]:
    """One file's L0 and quarantine rows, then its manifest row and its byte-coverage rows; the file is
    read up to `size`, the size the driver listed (tiers/io/readers.py: read_file)."""
    stats = FileStats()
    file = display_path(path)
    for outcome in read_file(path, fmt, options, stats, size, identity):
        yield {**outcome.row, "run_id": run_id, schemas.OUTCOME: outcome.kind}
    yield {
        "file": file,
        "source_format": fmt,
        "records": stats.records,
        "skipped": stats.skipped,
        "bytes": size,
        "run_id": run_id,
        schemas.OUTCOME: "manifest",
    }
    for span in stats.ledger.spans:
        yield {**span.row(file), "run_id": run_id, schemas.OUTCOME: "coverage"}
