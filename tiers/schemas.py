"""Arrow schemas of every tier and side output. docs/architecture.md documents each column."""
from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

L0 = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("crawl", pa.string()),
        pa.field("fetched_at", TIMESTAMP),
        pa.field("content_type", pa.string()),
        pa.field("charset", pa.string()),
        pa.field("metadata", pa.string()),
        pa.field("file", pa.string()),
        pa.field("offset", pa.int64()),
        pa.field("line", pa.int64()),
        pa.field("run_id", pa.string()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("offset", pa.int64()),
        pa.field("line", pa.int64()),
        pa.field("error_type", pa.string()),
        pa.field("error", pa.string()),
        pa.field("raw_prefix", pa.binary()),
        pa.field("run_id", pa.string()),
    ]
)

INGEST_MANIFEST = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("records", pa.int64()),
        pa.field("skipped", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("run_id", pa.string()),
    ]
)

DROPS = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("stage", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("details", pa.string()),
        pa.field("run_id", pa.string()),
    ]
)

L1_BASE = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("crawl", pa.string()),
        pa.field("parent_ids", pa.list_(pa.string())),
    ]
)

L2_SCORES = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("model_lang", pa.string()),
        pa.field("model_hash", pa.string()),
        pa.field("quality_score", pa.float64()),
        pa.field("run_id", pa.string()),
    ]
)

L3_SCORES = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("llm_score", pa.int32()),
        pa.field("llm_reason", pa.string()),
        pa.field("status", pa.string()),
        pa.field("raw_answer", pa.string()),
        pa.field("attempts", pa.int32()),
        pa.field("run_id", pa.string()),
    ]
)

L3 = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("task", pa.string()),
        pa.field("model", pa.string()),
        pa.field("prompt_version", pa.string()),
        pa.field("text", pa.string()),
        pa.field("run_id", pa.string()),
    ]
)

L3_FAILURES = pa.schema([("doc_id", pa.string()), ("task", pa.string()), ("error", pa.string()), ("run_id", pa.string())])

N_TOKENS = pa.field("n_tokens", pa.int64())
"""Tokens of `text`, counted by jobs/tokens.py just before a tier is written (null without a tokenizer)."""

OUTCOME = "_outcome"


def with_tokens(schema: pa.Schema) -> pa.Schema:
    """A tier's schema as its files hold it: its rows plus `n_tokens` last."""
    return pa.schema([*schema, N_TOKENS])


def with_outcome(schema: pa.Schema, extra: pa.Schema) -> pa.Schema:
    """Union schema for one pass that emits several kinds of rows (e.g. L0 rows and quarantine rows)."""
    fields = {f.name: f.with_nullable(True) for f in schema}
    for f in extra:
        fields.setdefault(f.name, f.with_nullable(True))
    return pa.schema([*fields.values(), pa.field(OUTCOME, pa.string())])
