"""Ingest's local body: the files are read in this process, one after another, and streamed to Parquet."""
from __future__ import annotations

import logging
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from jobs.arrow_rows import batched
from jobs.ingest import INGEST_ROWS, ROW_GROUP_BYTES, file_rows, reader_options
from jobs.parquet_folder import FolderWriter, folder_files, write_folder
from jobs.runner import JobRun
from tiers import schemas
from tiers.config import TiersConfig
from tiers.io.coverage import COVERAGE
from tiers.io.formats import InputFile
from tiers.tokens import count_tokens

log = logging.getLogger(__name__)

L0_WRITTEN = pa.schema([*schemas.L0, schemas.N_TOKENS])


def _rows_of(batch: pa.RecordBatch, outcome: str, schema: pa.Schema) -> pa.Table:
    table = pa.Table.from_batches([batch])
    return table.filter(pc.equal(table[schemas.OUTCOME], outcome)).select(schema.names)


def _with_tokens(docs: pa.Table, config: TiersConfig) -> pa.Table:
    counts = count_tokens(docs["text"].to_pylist(), config.tokens.tokenizer) if config.tokens.count_l0 else [None] * docs.num_rows
    return docs.append_column(schemas.N_TOKENS.name, pa.array(counts, pa.int64()))


def write_ingest_outputs(config: TiersConfig, files: list[InputFile], run: JobRun, existing: list[str]) -> dict[str, int]:
    """Write L0, quarantine, manifest and coverage under `run`'s staging; return L0 plus quarantine rows
    per file (counting documents also found in `existing` L0 outputs, which are not written again)."""
    known = ds.dataset(folder_files(existing), format="parquet").to_table(columns=["doc_id"])["doc_id"] if existing else None
    options = reader_options(config.ingest)
    written: Counter[str] = Counter()
    quarantine, manifest, coverage = [], [], []
    with FolderWriter(run.stage("L0", tier="L0"), L0_WRITTEN, ROW_GROUP_BYTES) as l0:
        for number, file in enumerate(files, 1):
            for batch in batched(file_rows(file.path, file.format, options, run.run_id), INGEST_ROWS, size=2048):
                docs = _rows_of(batch, "l0", schemas.L0)
                bad = _rows_of(batch, "quarantine", schemas.QUARANTINE)
                written.update(docs["file"].to_pylist())
                written.update(bad["file"].to_pylist())
                if known is not None:
                    docs = docs.filter(pc.invert(pc.is_in(docs["doc_id"], value_set=known)))
                l0.write(_with_tokens(docs, config))
                quarantine.append(bad)
                manifest.append(_rows_of(batch, "manifest", schemas.INGEST_MANIFEST))
                coverage.append(_rows_of(batch, "coverage", COVERAGE))
            log.info("ingest: read %d of %d files (%s)", number, len(files), file.path)
    write_folder(run.stage("quarantine"), schemas.QUARANTINE, quarantine)
    write_folder(run.stage("ingest_manifest"), schemas.INGEST_MANIFEST, manifest)
    write_folder(run.stage("ingest_coverage"), COVERAGE, coverage)
    return dict(written)
