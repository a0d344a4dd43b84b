"""Per-document repeats from the cell plan, without a window over every document.

The rule (allocate.py's docstring) orders the documents of each (stage, source) by
h = hash(doc_id, stage, seed), then doc_id. Its two global passes become small pieces of work:

- *first pass*: a document of a cell with a fraction is taken while the tokens before it plus half its
  own are under the source's fraction tokens (`goal`). Those documents are a prefix of the order, so
  the pass is a histogram of h's top bits (tokens per bin) plus an exact ranking of the one bin where
  the running total crosses the goal. Table `first_pass` keeps per (stage, source) that bin, the last
  key taken in it and the tokens taken (`picked`), so `goal - picked` is the gap.
- *second pass*: the documents after the prefix that fit in the gap are taken in the same order while
  their running total stays within it: a top-K query (K doubles until the gap is filled), kept in
  table `second_pass (stage, source, doc_id)`; it holds a handful of documents.

`write_rows` then applies both, and the cap across stages (a window per document), one chunk of
documents at a time. Every comparison uses the same SQL expressions and types as the one-statement
version did, so the repeats are the same to the document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from tiers.apps.allocation.partition import Chunk, ChunkFiles

log = logging.getLogger(__name__)

CAND_SQL = """
SELECT d.doc_id, c.stage, c.stage_index, d.tier, d.bucket, c.source, d.n_tokens,
       floor(c.epochs + 1e-9)::INTEGER AS whole, c.fraction_tokens > 1e-6 AS in_pool,
       c.source_fraction_tokens AS goal, md5_number_lower(d.doc_id || '|' || c.stage || '|' || $seed) AS h
FROM {docs} d JOIN cell_plan c ON d.tier = c.tier AND d.bucket IS NOT DISTINCT FROM c.bucket
"""

FIRST_K = 64  # documents the second pass looks at first


def cand_sql(docs: str) -> str:
    """(doc_id, stage, stage_index, tier, bucket, source, n_tokens, whole, in_pool, goal, h) of the
    documents of relation `docs` for every (stage, source) whose cells hold them."""
    return CAND_SQL.format(docs=docs)


def pick1_sql(shift: int) -> str:
    """Whether a candidate row `c` joined with its `first_pass` row `f` is taken by the first pass."""
    return (
        f"coalesce(c.in_pool AND (c.h >> {shift} < f.edge_bin OR (c.h >> {shift} = f.edge_bin AND "
        "(c.h < f.last_h OR (c.h = f.last_h AND c.doc_id <= f.last_id)))), false)"
    )


@dataclass(frozen=True)
class Passes:
    shift: int  # 64 - bits of h that name a bin
    sentinel: int  # a bin after every bin: the whole pool is taken


def first_pass(con: duckdb.DuckDBPyConnection, docs: str, seed: str, bits: int) -> Passes:
    """Create `first_pass (stage, source, goal, edge_bin, last_h, last_id, picked)`."""
    shift, sentinel = 64 - bits, 1 << bits
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE pool_bins AS
        SELECT stage, source, any_value(goal) AS goal, h >> {shift} AS bin, sum(n_tokens) AS tokens
        FROM ({cand_sql(docs)}) WHERE in_pool GROUP BY stage, source, bin""",
        {"seed": seed},
    )
    edges = con.execute("""
        WITH c AS (SELECT *, sum(tokens) OVER (PARTITION BY stage, source ORDER BY bin) - tokens AS before FROM pool_bins)
        SELECT stage, source, any_value(goal), arg_min(bin, bin) FILTER (WHERE before + tokens > goal - 1e-6),
               arg_min(before, bin) FILTER (WHERE before + tokens > goal - 1e-6), sum(tokens)
        FROM c GROUP BY stage, source ORDER BY stage, source""").fetchall()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE first_pass (stage VARCHAR, source VARCHAR, goal DOUBLE, edge_bin BIGINT, "
        "last_h UBIGINT, last_id VARCHAR, picked HUGEINT)"
    )
    refined = 0
    for stage, source, goal, edge_bin, before, pool in edges:
        last_h = last_id = None
        if edge_bin is None:  # the running total never reaches the goal: the whole pool is taken
            edge_bin, picked = sentinel, pool
        else:
            picked = before
            if before < goal - 1e-6:  # the goal falls inside this bin: rank it exactly
                refined += 1
                last_h, last_id, within = _edge_bin(con, docs, seed, shift, stage, source, edge_bin, before, goal)
                picked = before + within
        con.execute(
            "INSERT INTO first_pass VALUES (?, ?, ?, ?, ?, ?, ?::HUGEINT)",
            [stage, source, goal, edge_bin, last_h, last_id, str(picked)],
        )
    con.execute("DROP TABLE pool_bins")
    log.debug("first pass: %d sources, %d bins ranked exactly", len(edges), refined)
    return Passes(shift, sentinel)


def _edge_bin(
    con: duckdb.DuckDBPyConnection,
    docs: str,
    seed: str,
    shift: int,
    stage: str,
    source: str,
    edge_bin: int,
    before: int,
    goal: float,
) -> tuple[int | None, str | None, int]:
    """The last key the first pass takes in `edge_bin` and the tokens it takes there."""
    row = con.execute(
        f"""
        WITH b AS (
            SELECT h, doc_id, n_tokens, {int(before)}::HUGEINT + sum(n_tokens) OVER (ORDER BY h, doc_id ROWS UNBOUNDED PRECEDING)
                   - n_tokens / 2.0 < goal - 1e-6 AS pick
            FROM ({cand_sql(docs)}) WHERE stage = $stage AND source = $source AND in_pool AND h >> {shift} = {edge_bin})
        SELECT max(h) FILTER (WHERE pick), coalesce(sum(n_tokens) FILTER (WHERE pick), 0),
               (SELECT doc_id FROM b WHERE pick ORDER BY h DESC, doc_id DESC LIMIT 1) FROM b""",
        {"seed": seed, "stage": stage, "source": source},
    ).fetchone()
    return row[0], row[2], int(row[1])


def second_pass(con: duckdb.DuckDBPyConnection, docs: str, seed: str, passes: Passes) -> int:
    """Create `second_pass (stage, source, doc_id)`; returns how many documents it takes."""
    con.execute("CREATE OR REPLACE TEMP TABLE second_pass (stage VARCHAR, source VARCHAR, doc_id VARCHAR)")
    sources = con.execute("SELECT stage, source FROM first_pass WHERE goal - picked >= 1 ORDER BY ALL").fetchall()
    for stage, source in sources:
        k = FIRST_K
        while True:
            fits = f"""
                SELECT c.doc_id, sum(c.n_tokens) OVER (ORDER BY c.h, c.doc_id ROWS UNBOUNDED PRECEDING) AS filled,
                       f.goal - f.picked AS gap
                FROM (SELECT c.* FROM ({cand_sql(docs)}) c JOIN first_pass f USING (stage, source)
                      WHERE c.stage = $stage AND c.source = $source AND c.in_pool AND NOT {pick1_sql(passes.shift)}
                      AND c.n_tokens <= f.goal - f.picked ORDER BY c.h, c.doc_id LIMIT {k}) c
                JOIN first_pass f USING (stage, source)"""
            params = {"seed": seed, "stage": stage, "source": source}
            seen, kept = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE filled <= gap + 1e-6) FROM ({fits})", params
            ).fetchone()
            if seen < k or kept < k:
                break
            k *= 2
        con.execute(
            f"INSERT INTO second_pass SELECT $stage, $source, doc_id FROM ({fits}) WHERE filled <= gap + 1e-6", params
        )
    return int(con.execute("SELECT count(*) FROM second_pass").fetchone()[0])


ROWS_SQL = """
WITH marked AS (
    SELECT c.*, {pick1} AS pick1, s.doc_id IS NOT NULL AS pick2
    FROM ({cand}) c LEFT JOIN first_pass f ON f.stage = c.stage AND f.source = c.source
    LEFT JOIN second_pass s ON s.stage = c.stage AND s.source = c.source AND s.doc_id = c.doc_id
), raw AS (
    SELECT *, whole + CASE WHEN pick1 OR pick2 THEN 1 ELSE 0 END AS r FROM marked
), capped AS (
    SELECT raw.*, least(sum(r) OVER w, ceil(caps.cap)) - least(sum(r) OVER w - r, ceil(caps.cap)) AS repeats
    FROM raw JOIN caps USING (tier)
    WINDOW w AS (PARTITION BY doc_id ORDER BY stage_index ROWS UNBOUNDED PRECEDING)
)
SELECT doc_id, stage, stage_index, tier, bucket, source, repeats::INTEGER AS repeats, n_tokens
FROM capped WHERE repeats > 0
"""


@dataclass
class RowsSummary:
    documents: int = 0
    tokens: int = 0
    digest: int = 0  # bit_xor of hash(doc_id, stage, repeats) over the rows: the rows' fingerprint


def write_rows(
    con: duckdb.DuckDBPyConnection, docs: ChunkFiles, rows: ChunkFiles, parts: list[Chunk], seed: str, passes: Passes
) -> RowsSummary:
    """Per chunk: repeats per document and stage, capped across stages, into `rows`; returns the totals."""
    summary = RowsSummary()
    for chunk in parts:
        sql = ROWS_SQL.format(cand=cand_sql(docs.one(chunk)), pick1=pick1_sql(passes.shift))
        rows.write(con, chunk, sql, {"seed": seed})
        documents, tokens, digest = con.execute(
            f"SELECT count(DISTINCT doc_id), coalesce(sum(repeats * n_tokens), 0), "
            f"coalesce(bit_xor(md5_number_lower(doc_id || '|' || stage || '|' || repeats)), 0) FROM {rows.one(chunk)}"
        ).fetchone()
        summary.documents += int(documents)
        summary.tokens += int(tokens)
        summary.digest ^= int(digest)
    return summary
