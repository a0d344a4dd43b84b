"""The operator contract: a RecordBatch in; kept rows plus dropped rows with a reason out. No Spark here.

Two kinds cover almost every step:
- `TextMapper` rewrites `text` (and may add count columns); it never drops.
- `TextFilter` scores each document (scores become columns), then `decide` returns a reason to drop
  or None to keep: scoring is kept apart from the keep decision.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from tiers.schemas import DROPS
from tiers.validation import StrictModel

DROP_SCHEMA = pa.schema([f for f in DROPS if f.name != "run_id"])  # what an operator emits; the job adds run_id


class Params(StrictModel):
    """An operator's parameters: strict types, no unknown keys, no negative numbers."""


@dataclass
class OpResult:
    kept: pa.RecordBatch
    dropped: pa.RecordBatch

    @staticmethod
    def empty_drops() -> pa.RecordBatch:
        return pa.RecordBatch.from_pylist([], schema=DROP_SCHEMA)


@dataclass
class OpStats:
    """Counts and time of one operator over everything it has seen."""

    docs_in: int = 0
    docs_out: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def merge(self, other: "OpStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.seconds += other.seconds
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count


class Operator(ABC):
    name: ClassVar[str]
    ParamsModel: ClassVar[type[Params]] = Params
    adds: ClassVar[dict[str, pa.DataType]] = {}

    def __init__(self, params: Params | None = None):
        self.params = params if params is not None else self.ParamsModel()

    @abstractmethod
    def process(self, batch: pa.RecordBatch) -> OpResult: ...


REGISTERED: dict[str, type[Operator]] = {}
"""Operator classes by name, filled by `register` as their modules are imported (`tiers/ops/registry.py` reads it)."""


def register(cls: type[Operator]) -> type[Operator]:
    """Class decorator: make the operator known by its `name` to the pipelines in config."""
    REGISTERED[cls.name] = cls
    return cls


def _set_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    index = batch.schema.get_field_index(name)
    if index >= 0:
        return batch.set_column(index, name, values)
    return batch.append_column(name, values)


class TextMapper(Operator):
    """Rewrites text; `transform` returns the new text and the values of the columns in `adds`."""

    @abstractmethod
    def transform(self, text: str) -> tuple[str, dict[str, Any]]: ...

    def process(self, batch: pa.RecordBatch) -> OpResult:
        texts = batch.column("text").to_pylist()
        new_texts: list[str] = []
        extra: dict[str, list[Any]] = {name: [] for name in self.adds}
        for text in texts:
            out, values = self.transform(text or "")
            new_texts.append(out)
            for name in self.adds:
                extra[name].append(values.get(name))
        batch = _set_column(batch, "text", pa.array(new_texts, pa.string()))
        for name, dtype in self.adds.items():
            batch = _set_column(batch, name, pa.array(extra[name], dtype))
        return OpResult(batch, OpResult.empty_drops())


class TextFilter(Operator):
    """Scores every document into the `adds` columns, then drops those `decide` gives a reason for.

    `score` may return `_text` to rewrite the document (line-level rules) and other `_`-prefixed
    keys for `decide`; those are not written as columns or drop details.
    """

    needs_columns: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def decide(self, scores: dict[str, Any], row: dict[str, Any]) -> str | None: ...

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`score` of every document; override to score a whole batch at once (same results)."""
        return [self.score(text, row) for text, row in zip(texts, rows)]

    def process(self, batch: pa.RecordBatch) -> OpResult:
        raw = batch.column("text").to_pylist()
        context = {name: batch.column(name).to_pylist() for name in self.needs_columns if name in batch.schema.names}
        rows = [{name: values[i] for name, values in context.items()} for i in range(len(raw))]
        all_scores = self.score_batch([text or "" for text in raw], rows)
        ids = batch.column("doc_id").to_pylist()
        columns: dict[str, list[Any]] = {name: [] for name in self.adds}
        keep: list[bool] = []
        drops: list[dict[str, Any]] = []
        rewritten: list[str] = []
        any_rewrite = False
        for i, scores in enumerate(all_scores):
            new_text = scores.pop("_text", None)
            any_rewrite |= new_text is not None
            rewritten.append(raw[i] if new_text is None else new_text)
            for name in self.adds:
                columns[name].append(scores.get(name))
            reason = self.decide(scores, rows[i])
            keep.append(reason is None)
            if reason is not None:
                public = {k: v for k, v in scores.items() if not k.startswith("_")}
                drops.append(
                    {
                        "doc_id": ids[i],
                        "stage": self.name,
                        "reason": reason,
                        "details": json.dumps(public, default=float),
                    }
                )
        if any_rewrite:
            batch = _set_column(batch, "text", pa.array(rewritten, pa.string()))
        for name, dtype in self.adds.items():
            batch = _set_column(batch, name, pa.array(columns[name], dtype))
        kept = batch.filter(pa.array(keep, pa.bool_())) if not all(keep) else batch
        return OpResult(kept, pa.RecordBatch.from_pylist(drops, schema=DROP_SCHEMA))
