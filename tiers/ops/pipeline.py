"""Run a list of operators over record batches, collecting drops and per-operator statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa

from typing import Any, Iterable, Protocol

from tiers.ops.base import DROP_SCHEMA, Operator, OpStats
from tiers.ops.registry import build


class Step(Protocol):
    """One configured step: an operator name and its parameters (config's StepConfig is one)."""

    name: str
    params: dict[str, Any]


@dataclass
class PipelineOutput:
    kept: pa.RecordBatch
    dropped: pa.RecordBatch
    stats: dict[str, OpStats] = field(default_factory=dict)


class OperatorPipeline:
    def __init__(self, operators: list[Operator]):
        self.operators = operators

    @classmethod
    def from_steps(cls, steps: list[Step], modules: Iterable[str] = ()) -> "OperatorPipeline":
        """Operators for `steps`; `modules` are extra operator modules to import first (l1.operator_modules)."""
        modules = tuple(modules)
        return cls([build(step.name, step.params, modules) for step in steps])

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        fields = {f.name: f for f in input_schema}
        for op in self.operators:
            for name, dtype in op.adds.items():
                fields[name] = pa.field(name, dtype)
        return pa.schema(list(fields.values()))

    def run(self, batch: pa.RecordBatch) -> PipelineOutput:
        schema = self.output_schema(batch.schema)
        stats: dict[str, OpStats] = {}
        drops: list[pa.RecordBatch] = []
        for op in self.operators:
            op_stats = stats.setdefault(op.name, OpStats())
            op_stats.docs_in += batch.num_rows
            if batch.num_rows:
                start = time.perf_counter()
                result = op.process(batch)
                op_stats.seconds += time.perf_counter() - start
                batch = result.kept
                if result.dropped.num_rows:
                    drops.append(result.dropped)
                    for reason in result.dropped.column("reason").to_pylist():
                        op_stats.reasons[reason] = op_stats.reasons.get(reason, 0) + 1
            op_stats.docs_out += batch.num_rows
        dropped = pa.Table.from_batches(drops, DROP_SCHEMA).combine_chunks().to_batches() if drops else []
        return PipelineOutput(
            conform(batch, schema), dropped[0] if dropped else pa.RecordBatch.from_pylist([], schema=DROP_SCHEMA), stats
        )


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Reorder and fill missing columns with nulls so every batch has exactly `schema`."""
    columns = []
    for f in schema:
        index = batch.schema.get_field_index(f.name)
        if index >= 0:
            column = batch.column(index)
            columns.append(column if column.type == f.type else column.cast(f.type))
        else:
            columns.append(pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
