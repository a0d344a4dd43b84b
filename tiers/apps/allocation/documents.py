"""The documents a plan can allocate, as SQL over the catalog's tier views (nothing leaves DuckDB).

- view `quality_buckets (doc_id, quality_score, n_tokens, percentile, bucket)`: every scored L1
  document with its token-weighted percentile of `quality_score` (the share of L1 tokens scored
  below it, plus half its own) and its bucket (how many edges lie at or below that percentile: 0 is
  the lowest). L2 documents are L1 documents, so they keep their L1 bucket.
- `home_documents_sql()`: every document once, at its *home tier* (the highest it reached: L3
  rewrites, L4 items, L2, then L1 documents not in L2), with its bucket and tokens; with a chunk
  (`tiers.apps.allocation.partition`), the documents of that chunk only, every scan filtered by it.
- `home_texts_sql()`, `scored_sql()`: the texts of the home documents and the scored L1 documents of
  a chunk, for the evaluation-overlap check and the quality buckets (`tiers.apps.allocation.buckets`).
"""

from __future__ import annotations

from typing import Callable

import duckdb

from tiers.apps.allocation.partition import Chunk
from tiers.apps.allocation.plan import BucketsSpec
from tiers.names import TIERS


class MissingTokens(RuntimeError):
    """A tier holds documents without token counts (no `n_tokens` column, or only nulls in it)."""


def columns_of(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}


def check_token_columns(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("l1", "l2", "l3"):
        if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {view} LIMIT 1)").fetchone()[0] == 0:
            continue
        if "n_tokens" not in columns_of(con, view):
            raise MissingTokens(
                f"the current {view.upper()} has no n_tokens column (written before token counting): "
                f"re-run the job that writes {view.upper()} with --force"
            )
        documents, counted = con.execute(f"SELECT count(*), count(n_tokens) FROM {view}").fetchone()
        if not counted:
            raise MissingTokens(
                f"the current {view.upper()} holds {documents:,} documents but no token counts (written without a "
                f"tokenizer, setting tokens.tokenizer): re-run the job that writes {view.upper()} with --force"
            )


def edge_list_sql(spec: BucketsSpec) -> str:
    """The bucket edges as a DOUBLE[] literal (the view and `tiers.apps.allocation.buckets` read the same values)."""
    edges = ", ".join(repr(float(e)) for e in spec.resolved_edges())
    return f"[{edges}]::DOUBLE[]" if edges else "[]::DOUBLE[]"


def create_bucket_view(con: duckdb.DuckDBPyConnection, spec: BucketsSpec) -> None:
    edge_list = edge_list_sql(spec)
    con.execute(f"""
        CREATE OR REPLACE VIEW quality_buckets AS
        WITH scored AS (
            SELECT l1.doc_id, l1.n_tokens, s.quality_score FROM l1 JOIN l2_scores s USING (doc_id)
            WHERE s.quality_score IS NOT NULL
        ), ranked AS (
            SELECT doc_id, quality_score, n_tokens,
                   (sum(n_tokens) OVER (ORDER BY quality_score, doc_id ROWS UNBOUNDED PRECEDING) - n_tokens / 2.0)
                   / nullif(sum(n_tokens) OVER (), 0) AS percentile
            FROM scored
        )
        SELECT doc_id, quality_score, n_tokens, percentile,
               len(list_filter({edge_list}, lambda e: e <= percentile))::INTEGER AS bucket
        FROM ranked""")


def l4_select(con: duckdb.DuckDBPyConnection) -> str | None:
    """`SELECT doc_id, text, n_tokens` over the current L4, or None while L4 has no such columns."""
    columns = columns_of(con, "l4")
    key = "doc_id" if "doc_id" in columns else "ki_id" if "ki_id" in columns else None
    if key is None or not {"text", "n_tokens"} <= columns:
        return None
    return f"SELECT {key} AS doc_id, text, n_tokens FROM l4"


def _has_l3(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM (SELECT 1 FROM l3 LIMIT 1)").fetchone()[0] > 0


def home_documents_sql(
    con: duckdb.DuckDBPyConnection,
    chunk: Chunk | None = None,
    scored: str | None = None,
    bucket: Callable[[str, str], str] | None = None,
) -> str:
    """SQL for (doc_id, tier, bucket, n_tokens): each current document once, at its home tier.

    Without `scored` the buckets come from the `quality_buckets` view. With it, `scored` is a relation
    (doc_id, score) holding at least the scored L1 documents of `chunk`, and `bucket(score, doc_id)`
    gives the SQL of a document's bucket from those two columns (`tiers.apps.allocation.buckets`)."""
    chunk = chunk or Chunk(0, 1)
    if scored is None or bucket is None:
        join = "LEFT JOIN quality_buckets b USING (doc_id)"
        l2_bucket = l1_bucket = "b.bucket"
    else:
        join = f"LEFT JOIN (SELECT doc_id, score FROM {scored}) q USING (doc_id)"
        l2_bucket, l1_bucket = bucket("q.score", "l2.doc_id"), bucket("q.score", "l1.doc_id")
    parts = [
        f"SELECT doc_id, 'L3' AS tier, NULL::INTEGER AS bucket, n_tokens FROM l3 WHERE {chunk.where('doc_id')}",
        f"SELECT l2.doc_id, 'L2' AS tier, {l2_bucket} AS bucket, l2.n_tokens FROM l2 {join} WHERE {chunk.where('l2.doc_id')}",
        f"SELECT l1.doc_id, 'L1' AS tier, {l1_bucket} AS bucket, l1.n_tokens FROM l1 "
        f"ANTI JOIN (SELECT doc_id FROM l2 WHERE {chunk.where('doc_id')}) USING (doc_id) {join} "
        f"WHERE {chunk.where('l1.doc_id')}",
    ]
    l4 = l4_select(con)
    if l4:
        parts.insert(
            0,
            f"SELECT doc_id, 'L4' AS tier, NULL::INTEGER AS bucket, n_tokens FROM ({l4}) WHERE {chunk.where('doc_id')}",
        )
    if not _has_l3(con):
        parts.pop(-3)  # an empty L3 view may lack n_tokens
    return " UNION ALL ".join(parts)


def home_texts_sql(con: duckdb.DuckDBPyConnection, chunk: Chunk | None = None) -> str:
    """SQL for (doc_id, tier, text) of every current document (of `chunk`) at its home tier."""
    chunk = chunk or Chunk(0, 1)
    parts = [
        f"SELECT doc_id, 'L2' AS tier, text FROM l2 WHERE {chunk.where('doc_id')}",
        f"SELECT l1.doc_id, 'L1' AS tier, l1.text FROM l1 ANTI JOIN (SELECT doc_id FROM l2 WHERE "
        f"{chunk.where('doc_id')}) USING (doc_id) WHERE {chunk.where('l1.doc_id')}",
    ]
    if _has_l3(con):
        parts.insert(0, f"SELECT doc_id, 'L3' AS tier, text FROM l3 WHERE {chunk.where('doc_id')}")
    l4 = l4_select(con)
    if l4:
        parts.insert(0, f"SELECT doc_id, 'L4' AS tier, text FROM ({l4}) WHERE {chunk.where('doc_id')}")
    return " UNION ALL ".join(parts)


def texts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for (doc_id, tier, text) of every current document at its home tier's view."""
    parts = ["SELECT doc_id, 'L2' AS tier, text FROM l2", "SELECT doc_id, 'L1' AS tier, text FROM l1"]
    if _has_l3(con):
        parts.insert(0, "SELECT doc_id, 'L3' AS tier, text FROM l3")
    l4 = l4_select(con)
    if l4:
        parts.insert(0, f"SELECT doc_id, 'L4' AS tier, text FROM ({l4})")
    return " UNION ALL ".join(parts)


def scored_sql(chunk: Chunk) -> str:
    """SQL for (doc_id, n_tokens, score) of the scored L1 documents of `chunk` (what `quality_buckets` ranks)."""
    return (
        f"SELECT l1.doc_id, l1.n_tokens, s.quality_score AS score FROM l1 JOIN (SELECT doc_id, quality_score "
        f"FROM l2_scores WHERE {chunk.where('doc_id')}) s USING (doc_id) "
        f"WHERE s.quality_score IS NOT NULL AND {chunk.where('l1.doc_id')}"
    )


def tokens_per_tier(con: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """Sum of n_tokens of each current tier (None where the tier's files have no n_tokens column)."""
    totals: dict[str, int | None] = {}
    for tier in TIERS:
        columns = columns_of(con, tier.lower())
        totals[tier] = (
            int(con.execute(f"SELECT coalesce(sum(n_tokens), 0) FROM {tier.lower()}").fetchone()[0])
            if "n_tokens" in columns
            else None
        )
    return totals
