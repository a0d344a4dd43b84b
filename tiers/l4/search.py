"""BM25 over L4 items in plain DuckDB SQL (no `fts` extension: it cannot be installed offline).

The job writes the postings (`l4_postings`: ki_id, term, tf over the item's text and answer, for every
generated item) beside the items; a search computes document lengths, the average length, document
frequencies and the Okapi BM25 sum over the query's distinct terms in one query, restricted to the
items searched (the current L4 by default, every generated item with `everything`).

    score(d, q) = sum over t in q of  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

import duckdb

K1 = 1.2
B = 0.75
_TERM = re.compile(r"[^\W_]+")


def terms(text: str | None) -> list[str]:
    """Lower-cased runs of letters and digits: the same for indexed items and queries."""
    return _TERM.findall((text or "").lower())


def postings(ki_ids: Iterable[str], texts: Iterable[str]) -> list[dict[str, Any]]:
    """One row per (item, term) with the term's frequency in the item's text."""
    return [
        {"ki_id": ki, "term": term, "tf": tf}
        for ki, text in zip(ki_ids, texts)
        for term, tf in Counter(terms(text)).items()
    ]


BM25_SQL = """
WITH corpus AS (
    SELECT p.ki_id, p.term, p.tf FROM {postings} p SEMI JOIN ({scope}) s ON s.ki_id = p.ki_id
), lengths AS (
    SELECT ki_id, sum(tf) AS dl FROM corpus GROUP BY ki_id
), stats AS (
    SELECT count(*) AS n, avg(dl) AS avgdl FROM lengths
), query AS (
    SELECT DISTINCT unnest(?::VARCHAR[]) AS term
), df AS (
    SELECT term, count(*) AS df FROM corpus SEMI JOIN query USING (term) GROUP BY term
)
SELECT c.ki_id,
       sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
           * c.tf * (? + 1) / (c.tf + ? * (1 - ? + ? * l.dl / s.avgdl))) AS score
FROM corpus c JOIN df USING (term) JOIN lengths l USING (ki_id) CROSS JOIN stats s
GROUP BY c.ki_id
ORDER BY score DESC, c.ki_id
LIMIT ?
"""


def bm25(
    con: duckdb.DuckDBPyConnection,
    query: str,
    limit: int = 10,
    postings_table: str = "l4_postings",
    scope: str = "SELECT ki_id FROM l4",
    k1: float = K1,
    b: float = B,
) -> list[tuple[str, float]]:
    """(ki_id, score) of the best `limit` items of `scope` for `query`, best first."""
    words = terms(query)
    if not words:
        return []
    sql = BM25_SQL.format(postings=postings_table, scope=scope)
    return [(ki, float(score)) for ki, score in con.execute(sql, [words, k1, k1, b, b, limit]).fetchall()]


@dataclass(frozen=True)
class Hit:
    ki_id: str
    score: float
    kind: str
    text: str
    answer: str | None
    evidence: str
    status: str
    grade: str | None
    confidence: float | None
    corroboration: int | None
    lineage: dict[str, Any]


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description}


def _lineage_sql(con: duckdb.DuckDBPyConnection, items: str) -> str:
    """Item -> passage -> source document (L3, or L2) -> its parent -> the L0 record."""
    l0 = (
        'SELECT doc_id, file, "offset", line, url FROM l0'
        if {"file", "offset", "line", "url"} <= _columns(con, "l0")
        else 'SELECT doc_id, NULL AS file, NULL AS "offset", NULL AS line, NULL AS url FROM l0'
    )
    return f"""
        SELECT i.ki_id, i.kind, i.text, i.answer, i.evidence, i.status, i.grade, i.confidence, i.corroboration,
               i.passage_id, i.source_doc_id, i.source_tier, l3.parent_id, l3.task,
               l0.doc_id AS l0_doc_id, l0.file, l0."offset", l0.line, l0.url
        FROM ({items}) i
        LEFT JOIN (SELECT doc_id, parent_id, task FROM l3) l3 ON l3.doc_id = i.source_doc_id
        LEFT JOIN ({l0}) l0 ON l0.doc_id = coalesce(l3.parent_id, i.source_doc_id)
        WHERE i.ki_id = ?"""


def search(con: duckdb.DuckDBPyConnection, query: str, limit: int = 10, everything: bool = False) -> list[Hit]:
    """Items ranked by BM25 with evidence, confidence and lineage; `everything` searches every generated
    item (any status) instead of the current L4."""
    if everything:
        scope = "SELECT ki_id FROM l4_items"
        items = "SELECT *, NULL::BIGINT AS corroboration FROM l4_items"
    else:
        scope = "SELECT ki_id FROM l4"
        items = "SELECT *, 'verified' AS status FROM l4"
    hits = []
    for ki, score in bm25(con, query, limit, scope=scope):
        row = con.execute(_lineage_sql(con, items) + " LIMIT 1", [ki]).fetchone()
        if row is None:
            continue
        (
            ki_id,
            kind,
            text,
            answer,
            evidence,
            status,
            grade,
            confidence,
            corroboration,
            passage_id,
            source_doc_id,
            source_tier,
            parent_id,
            task,
            l0_doc_id,
            file,
            offset,
            line,
            url,
        ) = row
        lineage = {
            "passage_id": passage_id,
            "source_tier": source_tier,
            "source_doc_id": source_doc_id,
            "l3_task": task,
            "parent_id": parent_id,
            "l0_doc_id": l0_doc_id,
            "l0_file": file,
            "l0_offset": offset,
            "l0_line": line,
            "url": url,
        }
        hits.append(Hit(ki_id, score, kind, text, answer, evidence, status, grade, confidence, corroboration, lineage))
    return hits
