"""Ingest's local body: the files are read in this process, one after another, and streamed to Parquet."""

from __future__ import annotations

import logging
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from jobs.ingest_rows import ROW_GROUP_BYTES, file_rows, reader_options
from jobs.parquet_folder import FolderWriter, folder_files, read_files, write_folder
from jobs.runner import JobRun
from jobs.stage_inputs import IngestInputs
from jobs.token_spec import can_count_tokens
from tiers import schemas
from tiers.io.coverage import COVERAGE
from tiers.tokens import count_tokens
from tiers.names import L0

log = logging.getLogger(__name__)

L0_WRITTEN = pa.schema([*schemas.L0, schemas.N_TOKENS])
FLUSH_ROWS = 2048


def _with_tokens(docs: pa.Table, tokenizer: str | None) -> pa.Table:
    counts = count_tokens(docs["text"].to_pylist(), tokenizer) if tokenizer else [None] * docs.num_rows
    return docs.append_column(schemas.N_TOKENS.name, pa.array(counts, pa.int64()))


def write_ingest_outputs(inputs: IngestInputs, run: JobRun) -> tuple[dict[str, int], None]:
    """Write L0, quarantine, manifest and coverage under `run`'s staging; return L0 plus quarantine rows
    per file (counting documents also found in `existing` L0 outputs, which are not written again), and
    no coverage verdicts: the job checks the coverage table in this process."""
    config, files, existing = inputs.config, inputs.files, inputs.existing
    known = read_files(folder_files(existing), columns=["doc_id"])["doc_id"] if existing else None
    options = reader_options(config.ingest)
    counting = config.tokens.count_l0 and can_count_tokens(config.tokens.tokenizer)
    tokenizer = config.tokens.tokenizer if counting else None
    written: Counter[str] = Counter()
    side: dict[str, list[dict]] = {"quarantine": [], "manifest": [], "coverage": []}
    with FolderWriter(run.stage(L0, tier=L0), L0_WRITTEN, ROW_GROUP_BYTES) as l0:

        def flush(rows: list[dict]) -> None:
            docs = pa.Table.from_pylist(rows, schema=schemas.L0)
            if known is not None:
                docs = docs.filter(pc.invert(pc.is_in(docs["doc_id"], value_set=known)))
            l0.write(_with_tokens(docs, tokenizer))
            rows.clear()

        docs: list[dict] = []
        for number, file in enumerate(files, 1):
            for row in file_rows(file.path, file.format, options, run.run_id, file.size, file.identity):
                kind = row.pop(schemas.OUTCOME)
                if kind == "l0":
                    docs.append(row)
                    written[row["file"]] += 1
                    if len(docs) >= FLUSH_ROWS:
                        flush(docs)
                else:
                    side[kind].append(row)
                    written[row["file"]] += kind == "quarantine"
            log.info("ingest: read %d of %d files (%s)", number, len(files), file.path)
        flush(docs)
    write_folder(
        run.stage("quarantine"),
        schemas.QUARANTINE,
        [pa.Table.from_pylist(side["quarantine"], schema=schemas.QUARANTINE)],
    )
    write_folder(
        run.stage("ingest_manifest"),
        schemas.INGEST_MANIFEST,
        [pa.Table.from_pylist(side["manifest"], schema=schemas.INGEST_MANIFEST)],
    )
    write_folder(run.stage("ingest_coverage"), COVERAGE, [pa.Table.from_pylist(side["coverage"], schema=COVERAGE)])
    return {file: count for file, count in written.items() if count}, None
