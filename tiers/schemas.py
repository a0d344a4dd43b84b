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

DEDUP_INDEX = "dedup_index"
"""The output kind of the dedup index every l1_dedup run writes beside L1."""

DROP_COLUMNS = [name for name in DROPS.names if name != "run_id"]
"""A drop record as a job builds it; the job adds its run_id when it writes."""

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

L1 = pa.schema([*L1_BASE, pa.field("run_id", pa.string())])
"""The columns every L1 file has; the operators of `l1.steps` add their score columns before run_id."""

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

L2 = pa.schema([*L1_BASE, *(L2_SCORES.field(n) for n in ("model_lang", "model_hash", "quality_score", "run_id"))])
"""The columns every L2 file has: an L1 row (with its operators' columns) and its quality score."""

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

L3_FAILURES = pa.schema(
    [("doc_id", pa.string()), ("task", pa.string()), ("error", pa.string()), ("run_id", pa.string())]
)

L4_PASSAGES = pa.schema(
    [
        ("passage_id", pa.string()),
        ("doc_id", pa.string()),
        ("source_tier", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("text", pa.string()),
        ("run_id", pa.string()),
    ]
)
"""L4 passages: whole lines of an input document, `start`/`end` character offsets into its text."""

L4_ITEMS = pa.schema(
    [
        ("ki_id", pa.string()),
        ("kind", pa.string()),
        ("text", pa.string()),
        ("answer", pa.string()),
        ("answer_type", pa.string()),
        ("evidence", pa.string()),
        ("evidence_start", pa.int64()),
        ("evidence_end", pa.int64()),
        ("passage_id", pa.string()),
        ("source_doc_id", pa.string()),
        ("source_tier", pa.string()),
        ("model", pa.string()),
        ("status", pa.string()),
        ("grade", pa.string()),
        ("confidence", pa.float64()),
        ("reasons", pa.list_(pa.string())),
        ("verifier_answers", pa.string()),
        ("raw_answer", pa.string()),
        ("eval_benchmark", pa.string()),
        ("canonical_id", pa.string()),
        ("run_id", pa.string()),
    ]
)
"""Every generated item with how it ended: verified, rejected (reasons) or failed (raw answers, JSON by
verifier); `eval_benchmark` names the evaluation set it overlaps; `canonical_id` the item it merged into."""

L4 = pa.schema(
    [
        ("ki_id", pa.string()),
        ("kind", pa.string()),
        ("text", pa.string()),
        ("answer", pa.string()),
        ("answer_type", pa.string()),
        ("evidence", pa.string()),
        ("evidence_start", pa.int64()),
        ("evidence_end", pa.int64()),
        ("passage_id", pa.string()),
        ("source_doc_id", pa.string()),
        ("source_tier", pa.string()),
        ("grade", pa.string()),
        ("confidence", pa.float64()),
        ("corroboration", pa.int64()),
        ("member_ids", pa.list_(pa.string())),
        ("source_doc_ids", pa.list_(pa.string())),
        ("run_id", pa.string()),
    ]
)
"""The L4 tier: verified canonical items outside the evaluation sets; `corroboration` counts the distinct
source documents of the items merged into it (`member_ids`). Written with `n_tokens` (text and answer)."""

L4_CHECKS = pa.schema(
    [
        ("ki_id", pa.string()),
        ("check_name", pa.string()),
        ("model", pa.string()),
        ("passed", pa.bool_()),
        ("score", pa.float64()),
        ("detail", pa.string()),
        ("run_id", pa.string()),
    ]
)

L4_FAILURES = pa.schema(
    [
        ("doc_id", pa.string()),
        ("passage_id", pa.string()),
        ("task", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("raw_answer", pa.string()),
        ("attempts", pa.int32()),
        ("run_id", pa.string()),
    ]
)
"""Generation requests that ended without items: engine_error or malformed (after the retries), raw answer kept."""

L4_POSTINGS = pa.schema([("ki_id", pa.string()), ("term", pa.string()), ("tf", pa.int32()), ("run_id", pa.string())])
"""Search postings of every L4 item (tiers/l4/search.py): term frequency of each term of text + answer."""

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
