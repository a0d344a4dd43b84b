"""The L1 operators' local body: the L0 files' batches through the operators in this process."""

from __future__ import annotations

import logging
from typing import Iterator

import pyarrow as pa

from jobs.l1_operators import L0_INPUT, STATS, apply_operators, kept_columns, merge_stats, pipeline_rows_schema
from jobs.parquet_folder import FolderWriter, folder_files, iter_batches
from jobs.runner import JobRun
from jobs.stage_inputs import FilterInputs
from tiers import schemas

log = logging.getLogger(__name__)

BATCH_ROWS = 1024


def _l0_batches(inputs: list[str]) -> Iterator[pa.RecordBatch]:
    yield from iter_batches(folder_files(inputs), L0_INPUT.names, BATCH_ROWS)


def write_filter_outputs(inputs: FilterInputs, run: JobRun) -> dict[str, dict]:
    """Write the kept documents (`filtered`) and the drops under `run`'s staging; return the operators' stats."""
    steps, modules = list(inputs.config.l1.steps), list(inputs.config.l1.operator_modules)
    out_schema = pipeline_rows_schema(steps, modules)
    kept_schema = pa.schema([out_schema.field(name) for name in kept_columns(out_schema)])
    run_id = pa.scalar(run.run_id)
    stats: list[str] = []
    with (
        FolderWriter(run.stage("filtered"), kept_schema) as kept,
        FolderWriter(run.stage("drops"), schemas.DROPS) as drops,
    ):
        for batch in apply_operators(_l0_batches(inputs.paths), steps, modules, out_schema):
            if batch.num_rows == 0:
                continue
            outcome = batch.column(schemas.OUTCOME)[0].as_py()  # each batch holds one kind of row
            if outcome == STATS:
                stats.extend(batch.column("details").to_pylist())
            elif outcome == "kept":
                kept.write(batch)
            else:
                dropped = pa.Table.from_batches([batch]).select(schemas.DROP_COLUMNS)
                drops.write(dropped.append_column("run_id", pa.repeat(run_id, dropped.num_rows)))
    return merge_stats(stats)
