"""Quality buckets without sorting every scored document: the keys at which the percentile crosses each edge.

The view `quality_buckets` (documents.py) gives a scored L1 document the percentile (S - n/2) / T,
where S is the tokens of the documents up to and including it in (quality_score, doc_id) order, n its
own tokens and T all scored tokens, and the bucket "number of edges at or below the percentile". The
percentile never decreases along that order, so the documents at or above an edge form a suffix of it,
and a document's bucket is the number of edges whose *boundary* (the first key of that suffix) is at
or below its own (quality_score, doc_id). This module finds the boundaries:

1. a histogram of the scores in bins of equal score width (an aggregate of a few thousand rows), with
   the tokens before each bin, bounds the percentiles inside each bin;
2. for each edge, bins wholly below it are skipped, a bin wholly at or above it gives its first key,
   and only a bin that straddles it is ranked exactly (its documents, with the tokens before the bin
   added), by the same expression as the view, so the buckets are the view's to the last bit.

A bin holds about `Layout.bin_rows` documents unless many documents share one score; only then does
a refinement sort more. `bucket_sql` turns the boundaries into an SQL expression.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import duckdb

from tiers.apps.allocation.documents import edge_list_sql
from tiers.apps.allocation.partition import Layout
from tiers.apps.allocation.plan import BucketsSpec
from tiers.catalog.sql_text import literal

log = logging.getLogger(__name__)

Boundary = tuple[float, str]  # (quality_score, doc_id) of the first document at or above an edge
TOLERANCE = 1e-9  # relative margin under which a bin's bounds do not decide and the bin is ranked exactly


def double(value: float) -> str:
    """A DOUBLE literal that DuckDB reads back to the same bits (also nan and inf)."""
    return f"'{value!r}'::DOUBLE"


def edges_of(con: duckdb.DuckDBPyConnection, spec: BucketsSpec) -> list[float]:
    """The edges exactly as DuckDB reads the view's literal (a decimal literal is not always Python's float)."""
    return list(con.execute(f"SELECT {edge_list_sql(spec)}").fetchone()[0])


def _bin_sql(low: float | None, high: float | None, bins: int) -> str:
    """Bin of `score`, non-decreasing in the score's sort order: -1 for -inf, 0..bins-1 for finite
    scores by equal width between the finite minimum and maximum, bins for +inf, bins+1 for NaN."""
    scale = 0.0
    if low is not None and high is not None and high > low and math.isfinite(high - low):
        scale = bins / (high - low)
        scale = scale if math.isfinite(scale) else 0.0
    finite = f"least({bins - 1}, greatest(0, floor((score - {double(low or 0.0)}) * {double(scale)})))::BIGINT"
    return (
        f"CASE WHEN isnan(score) THEN {bins + 1} WHEN score = 'inf'::DOUBLE THEN {bins} "
        f"WHEN score = '-inf'::DOUBLE THEN -1 ELSE {finite} END"
    )


def _first_key(con: duckdb.DuckDBPyConnection, scored: str, bin_sql: str, b: int) -> Boundary:
    return con.execute(
        f"SELECT score, doc_id FROM {scored} WHERE {bin_sql} = {b} ORDER BY score, doc_id LIMIT 1"
    ).fetchone()


def _first_at_or_above(
    con: duckdb.DuckDBPyConnection, scored: str, bin_sql: str, b: int, before: int, total: int, edge: float
) -> Boundary | None:
    """The first document of bin `b` whose percentile (the view's expression, with the `before` tokens of
    earlier bins added) is at or above `edge`, or None."""
    row = con.execute(
        f"SELECT score, doc_id FROM (SELECT score, doc_id, ({before}::HUGEINT + sum(n_tokens) OVER (ORDER BY score, doc_id "
        f"ROWS UNBOUNDED PRECEDING) - n_tokens / 2.0) / {total}::HUGEINT AS percentile FROM {scored} WHERE {bin_sql} = {b}) "
        "WHERE ? <= percentile ORDER BY score, doc_id LIMIT 1",
        [edge],
    ).fetchone()
    return (row[0], row[1]) if row else None


def boundaries(con: duckdb.DuckDBPyConnection, scored: str, edges: list[float], layout: Layout) -> list[Boundary]:
    """One boundary per edge that some document reaches, in edge order. `scored` is a relation
    (doc_id, n_tokens, score) of every scored L1 document."""
    count, total, low, high = con.execute(
        f"SELECT count(*), coalesce(sum(n_tokens), 0), min(score) FILTER (WHERE isfinite(score)), "
        f"max(score) FILTER (WHERE isfinite(score)) FROM {scored}"
    ).fetchone()
    total = int(total)
    if not edges or not count or total == 0:
        return []
    bins = layout.bin_count(count)
    bin_sql = _bin_sql(low, high, bins)
    histogram = con.execute(f"SELECT {bin_sql} AS bin, sum(n_tokens) FROM {scored} GROUP BY ALL ORDER BY 1").fetchall()
    cells, before = [], 0
    for b, tokens in histogram:
        cells.append((int(b), before, int(tokens)))
        before += int(tokens)
    found: list[Boundary] = []
    i, refined = 0, 0
    for edge in edges:
        margin = TOLERANCE * max(1.0, abs(edge))
        key = None
        while i < len(cells) and key is None:
            b, start, tokens = cells[i]
            if (start + tokens) / total < edge - margin:  # every percentile of the bin is below the edge
                i += 1
            elif start / total > edge + margin:  # every percentile of the bin is above it
                key = _first_key(con, scored, bin_sql, b)
            else:
                refined += 1
                key = _first_at_or_above(con, scored, bin_sql, b, start, total, edge)
                if key is None:
                    i += 1
        if key is None:
            break  # no document reaches this edge, nor any later one
        found.append(key)
    log.debug("quality buckets: %d boundaries from %d bins (%d ranked exactly)", len(found), len(cells), refined)
    return found


def bucket_sql(found: list[Boundary]) -> Callable[[str, str], str]:
    """`f(score, doc_id)` -> SQL of the bucket: NULL without a score, else how many boundaries lie at
    or below (score, doc_id)."""

    def expression(score: str, doc_id: str) -> str:
        terms = " + ".join(f"(({score}, {doc_id}) >= ({double(s)}, {literal(d)}))::INTEGER" for s, d in found) or "0"
        return f"CASE WHEN {score} IS NULL THEN NULL ELSE ({terms})::INTEGER END"

    return expression
