"""The L1 operators over Arrow batches: kept rows, dropped rows and one stats row per batch in one union
schema; shared by the Spark body (inside mapInArrow) and the local body."""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa

from tiers import schemas
from tiers.config import StepConfig
from tiers.ops.base import DROP_SCHEMA, OpStats
from tiers.ops.pipeline import OperatorPipeline

L0_INPUT = pa.schema([schemas.L0.field(n) for n in ("doc_id", "text", "url", "source", "crawl")])
STATS = "stats"


def pipeline_rows_schema(steps: list[StepConfig], modules: list[str]) -> pa.Schema:
    kept = OperatorPipeline.from_steps(steps, modules).output_schema(L0_INPUT)
    return schemas.with_outcome(kept, DROP_SCHEMA)


def kept_columns(rows_schema: pa.Schema) -> list[str]:
    """The columns of a kept document among the union rows of `apply_operators`."""
    return [n for n in rows_schema.names if n not in (schemas.OUTCOME, "stage", "reason", "details")]


def apply_operators(
    batches: Iterator[pa.RecordBatch], steps: list[StepConfig], modules: list[str], out_schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: kept rows, dropped rows and one stats row per batch, in one union schema."""
    from tiers.ops.pipeline import conform

    pipeline = OperatorPipeline.from_steps(steps, modules)
    totals: dict[str, OpStats] = {}
    for batch in batches:
        result = pipeline.run(batch)
        for name, stats in result.stats.items():
            totals.setdefault(name, OpStats()).merge(stats)
        kept = result.kept.append_column(schemas.OUTCOME, pa.array(["kept"] * result.kept.num_rows, pa.string()))
        yield conform(kept, out_schema)
        if result.dropped.num_rows:
            dropped = result.dropped.append_column(
                schemas.OUTCOME, pa.array(["dropped"] * result.dropped.num_rows, pa.string())
            )
            yield conform(dropped, out_schema)
    stats_row = {
        "doc_id": "",
        "stage": STATS,
        "details": json.dumps({k: v.__dict__ for k, v in totals.items()}),
        schemas.OUTCOME: STATS,
    }
    yield pa.RecordBatch.from_pylist([stats_row], schema=out_schema)


def merge_stats(rows: list[str]) -> dict[str, dict]:
    merged: dict[str, OpStats] = {}
    for details in rows:
        for name, values in json.loads(details).items():
            merged.setdefault(name, OpStats()).merge(OpStats(**values))
    return {name: {**s.__dict__, "seconds": round(s.seconds, 3)} for name, s in merged.items()}
