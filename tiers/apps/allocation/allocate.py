"""`tiers allocate`: turn a plan and the catalog's current tiers into per-document repeats per stage.

Everything that touches documents runs as DuckDB SQL inside the catalog: the home-tier documents and
their buckets, the evaluation-overlap flags (a vectorised function over Arrow batches of texts, for
documents not checked against this evaluation index before), the per-cell token aggregates that the
arithmetic in `solve.py` works on, and the per-document repeats. Python sees aggregates only (and the
few boundary keys of the quality buckets and of each source's first pass).

Per stage and cell, a target of `e` epochs gives every document `floor(e)` repeats. The fractions'
tokens of a source's cells are summed, and one more repeat goes to the source's documents (in cells
with a fraction) first in the order of hash(doc_id, stage, seed) until that sum is reached (a document
is taken while the tokens before it plus half its own are under it); a second pass in the same order
fills the gap that a large document at the boundary leaves with documents that fit in it, so a
source's realized tokens are within half a document of its allocation, and usually much closer. No document
exceeds `ceil(cap)` repeats of its home tier across stages: a later stage loses the excess.

Memory does not grow with the catalog (`partition.py`): per-document work runs one chunk of documents
at a time (about 100,000) with its results in Parquet files of a private spill folder, and what needs
a global order (quality percentiles, the first pass) is a histogram plus an exact ranking of one bin
(`buckets.py`, `selection.py`). The rows are written to `allocation_rows` in one transaction at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from tiers.apps.allocation.buckets import boundaries, bucket_sql, edges_of
from tiers.apps.allocation.documents import (
    check_token_columns,
    create_bucket_view,
    home_documents_sql,
    home_texts_sql,
    l4_select,
    scored_sql,
)
from tiers.apps.allocation.partition import Chunk, ChunkFiles, Layout, chunks, documents_in_tiers
from tiers.apps.allocation.plan import Plan
from tiers.apps.allocation.selection import RowsSummary, first_pass, second_pass, write_rows
from tiers.apps.allocation.solve import Cell, StageResult, shortfalls, solve
from tiers.apps.allocation.store import bound_memory, spill_folder
from tiers.catalog import Catalog
from tiers.eval_overlap import EvalIndex, build_index

log = logging.getLogger(__name__)


class BudgetNotMet(RuntimeError):
    """At least one stage's budget cannot be met within the caps; `table` says what is missing."""

    def __init__(self, results: list[StageResult]):
        self.results = results
        super().__init__("budget cannot be met:\n" + shortfall_table(results))


def shortfall_table(results: list[StageResult]) -> str:
    lines = [f"{'stage':<10} {'source':<16} {'target':>14} {'capacity':>14} {'allocated':>14} {'missing':>14}"]
    for stage in results:
        for row in stage.sources:
            lines.append(
                f"{stage.stage:<10} {row.source:<16} {row.target:>14,.0f} {row.capacity:>14,.0f} "
                f"{row.allocated:>14,.0f} {row.missing:>14,.0f}"
            )
        lines.append(
            f"{stage.stage:<10} {'(stage total)':<16} {stage.budget:>14,.0f} {'':>14} "
            f"{stage.allocated:>14,.0f} {stage.missing:>14,.0f}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class AllocationResult:
    allocation_id: str
    manifest_hash: str
    documents: int
    tokens: int
    stages: list[StageResult]
    flagged: int  # documents never allocated because they overlap the evaluation sets
    realized: dict[tuple[str, str], int]  # tokens per (stage, source) after per-document selection


def _catalog_state(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT o.kind, list(o.run_id ORDER BY o.run_id) FROM outputs o JOIN runs r USING (run_id) "
        "WHERE r.status = 'committed' AND o.superseded_by IS NULL AND o.kind IN ('L1', 'L2', 'L3', 'L4', 'l2_scores') "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {kind: runs for kind, runs in rows}


def flag_eval_overlap(con: duckdb.DuckDBPyConnection, index: EvalIndex, parts: list[Chunk] | None = None) -> int:
    """Check the home documents not yet checked against `index`, one chunk at a time; returns how many
    documents it flags. A chunk's unchecked texts are gathered into a temp table first, so the function
    gets full vectors (a chunk filter leaves about 1/count of each scanned vector)."""

    def match(texts: pa.Array) -> pa.Array:
        return pa.array(index.matches(texts.to_pylist()), pa.string())

    checked_at = datetime.now(timezone.utc)
    # A first check against this index reads nothing back: rows this run inserts belong to other chunks.
    seen = con.execute("SELECT count(*) > 0 FROM eval_overlap WHERE index_id = ?", [index.index_id]).fetchall()[0][0]
    con.create_function("eval_benchmark", match, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    try:
        for chunk in parts or [Chunk(0, 1)]:
            texts = f"SELECT t.doc_id, t.tier, t.text FROM ({home_texts_sql(con, chunk)}) t"
            if seen:
                texts += (
                    f" ANTI JOIN (SELECT doc_id, tier FROM eval_overlap WHERE index_id = ? AND "
                    f"{chunk.where('doc_id')}) e USING (doc_id, tier)"
                )
            con.execute(f"CREATE OR REPLACE TEMP TABLE unchecked AS {texts}", [index.index_id] if seen else None)
            con.execute(
                "INSERT INTO eval_overlap SELECT doc_id, tier, eval_benchmark(text), ?, ? FROM unchecked",
                [index.index_id, checked_at],
            )
    finally:
        con.execute("DROP TABLE IF EXISTS unchecked")
        con.remove_function("eval_benchmark")
    return con.execute(
        "SELECT count(DISTINCT doc_id) FROM eval_overlap WHERE index_id = ? AND benchmark IS NOT NULL", [index.index_id]
    ).fetchone()[0]


def write_documents(
    con: duckdb.DuckDBPyConnection, plan: Plan, spill: Path, parts: list[Chunk], layout: Layout, index_id: str
) -> ChunkFiles:
    """Per chunk: the allocatable home documents (doc_id, tier, bucket, n_tokens), without the
    documents that overlap the evaluation sets and those without tokens."""
    scored = ChunkFiles(spill, "scored")
    for chunk in parts:
        scored.write(con, chunk, scored_sql(chunk))
    bucket = bucket_sql(boundaries(con, scored.all(), edges_of(con, plan.buckets), layout))
    docs = ChunkFiles(spill, "documents")
    for chunk in parts:
        docs.write(
            con,
            chunk,
            f"SELECT * FROM ({home_documents_sql(con, chunk, scored.one(chunk), bucket)}) h "
            "WHERE n_tokens > 0 AND doc_id NOT IN (SELECT doc_id FROM eval_overlap WHERE index_id = ? "
            "AND benchmark IS NOT NULL)",
            [index_id],
        )
    return docs


def _chunk_count(con: duckdb.DuckDBPyConnection, layout: Layout) -> int:
    views = ["l1", "l3"] + ([f"({l4_select(con)})"] if l4_select(con) else [])
    return layout.chunk_count(documents_in_tiers(con, views))


def _cells(con: duckdb.DuckDBPyConnection, docs: ChunkFiles) -> list[Cell]:
    rows = con.execute(
        f"SELECT tier, bucket, count(*), sum(n_tokens) FROM {docs.all()} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return [Cell(tier, bucket, int(n), int(tokens)) for tier, bucket, n, tokens in rows]


def _cell_plan(plan: Plan, results: list[StageResult], cells: list[Cell]) -> pa.Table:
    unique = {(c.tier, c.bucket): c.unique_tokens for c in cells}
    rows = []
    for index, stage in enumerate(results):
        for source in stage.sources:
            for (tier, bucket), tokens in sorted(
                source.cells.items(), key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1])
            ):
                epochs = tokens / unique[(tier, bucket)]
                rows.append(
                    {
                        "stage": stage.stage,
                        "stage_index": index,
                        "source": source.source,
                        "tier": tier,
                        "bucket": bucket,
                        "unique_tokens": unique[(tier, bucket)],
                        "epochs": epochs,
                        "tokens": tokens,
                        "fraction_tokens": (epochs - math.floor(epochs + 1e-9)) * unique[(tier, bucket)],
                    }
                )
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        totals[(row["stage"], row["source"])] = totals.get((row["stage"], row["source"]), 0.0) + row["fraction_tokens"]
    for row in rows:
        row["source_fraction_tokens"] = totals[(row["stage"], row["source"])]
    schema = pa.schema(
        [
            ("stage", pa.string()),
            ("stage_index", pa.int32()),
            ("source", pa.string()),
            ("tier", pa.string()),
            ("bucket", pa.int32()),
            ("unique_tokens", pa.int64()),
            ("epochs", pa.float64()),
            ("tokens", pa.float64()),
            ("fraction_tokens", pa.float64()),
            ("source_fraction_tokens", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


class NothingAllocated(RuntimeError):
    """The plan allocated no document (nothing is stored); the message says why and what to change."""


def nothing_allocated_reason(cells: list, flagged: int) -> str:
    available = sum(c.documents for c in cells)
    if not available and flagged:
        return (
            f"nothing to allocate: all {flagged:,} documents share a 13-gram with the evaluation sets "
            "(the plan's eval_dir, or --eval-dir)"
        )
    if not available:
        return "nothing to allocate: the current L1 to L4 hold no documents; run `tiers run l0-to-l2` first"
    return (
        f"the plan allocated none of the {available:,} documents its sources can draw: check the stages' "
        "budgets and sources (tiers, buckets) in the plan"
    )


def allocate(
    root: str | Path,
    plan: Plan,
    eval_dir: str | Path | None = None,
    memory_limit: str | None = None,
    layout: Layout | None = None,
) -> AllocationResult:
    """Allocate the current tiers of `root` by `plan`; raises BudgetNotMet (nothing is stored) when a
    budget cannot be met. `eval_dir` overrides the plan's evaluation folder; `memory_limit` caps DuckDB;
    `layout` sizes the pieces documents are handled in (default: from the cap; the result does not
    depend on it)."""
    layout = layout or Layout.for_memory_limit(memory_limit)
    catalog = Catalog(root)
    eval_folder = eval_dir if eval_dir is not None else plan.eval_dir
    index = build_index(eval_folder, plan.overlap_ngram) if eval_folder else None
    if index is None:
        log.warning("no evaluation folder in the plan: documents are allocated without an overlap check")
    with spill_folder(catalog.root) as spill, catalog.connect(wait_s=catalog.commit_wait_s) as con:
        bound_memory(con, memory_limit, spill)
        check_token_columns(con)
        create_bucket_view(con, plan.buckets)
        parts = chunks(_chunk_count(con, layout))
        flagged = flag_eval_overlap(con, index, parts) if index else 0
        docs = write_documents(con, plan, spill, parts, layout, index.index_id if index else "")
        cells = _cells(con, docs)
        results = solve(plan, cells)
        if shortfalls(results):
            raise BudgetNotMet(results)
        con.register("cell_plan", _cell_plan(plan, results, cells))
        con.register("caps", pa.table({"tier": list(plan.caps), "cap": [float(v) for v in plan.caps.values()]}))
        try:
            seed = str(plan.seed)
            passes = first_pass(con, docs.all(), seed, layout.bin_bits(sum(c.documents for c in cells)))
            taken = second_pass(con, docs.all(), seed, passes)
            log.debug("second pass: %d documents fill the gaps", taken)
            rows = ChunkFiles(spill, "rows")
            summary = write_rows(con, docs, rows, parts, seed, passes)
            if not summary.documents:
                raise NothingAllocated(nothing_allocated_reason(cells, flagged))
            state = _catalog_state(con)
            manifest = {
                "plan": json.loads(plan.canonical_json()),
                "catalog": state,
                "eval_index": index.index_id if index else None,
                "rows_digest": str(summary.digest),
                "documents": summary.documents,
                "tokens": summary.tokens,
            }
            manifest_hash = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
            realized = _store(con, plan, results, rows, summary, state, index, manifest_hash)
        finally:
            con.unregister("cell_plan")
            con.unregister("caps")
    log.info(
        "allocation %s: %d documents, %d tokens over %d stages in %d chunks (%d documents overlap the evaluation sets)",
        manifest_hash[:16],
        summary.documents,
        summary.tokens,
        len(results),
        len(parts),
        flagged,
    )
    return AllocationResult(
        manifest_hash[:16],
        manifest_hash,
        summary.documents,
        summary.tokens,
        results,
        int(flagged),
        {key: value[0] for key, value in realized.items()},
    )


def _store(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    results: list[StageResult],
    rows: ChunkFiles,
    summary: RowsSummary,
    state: dict[str, list[str]],
    index: EvalIndex | None,
    manifest_hash: str,
) -> dict[tuple[str, str], tuple[int, int]]:
    """One transaction: the rows, cells, targets and plan of the allocation, which becomes current;
    returns (tokens, documents) realized per (stage, source)."""
    allocation_id = manifest_hash[:16]
    realized = {
        (stage, source): (int(n or 0), int(docs))
        for stage, source, n, docs in con.execute(
            f"SELECT stage, source, sum(repeats * n_tokens), count(*) FROM {rows.all()} GROUP BY ALL"
        ).fetchall()
    }
    con.execute("BEGIN")
    try:
        for table in ("allocation_rows", "allocation_targets", "allocation_cells", "allocation_plans"):
            con.execute(f"DELETE FROM {table} WHERE allocation_id = ?", [allocation_id])
        con.execute(
            f"INSERT INTO allocation_rows SELECT ? AS allocation_id, doc_id, stage, stage_index, tier, bucket, source, "
            f"repeats, n_tokens FROM {rows.all()}",
            [allocation_id],
        )
        con.execute(
            "INSERT INTO allocation_cells SELECT ? AS allocation_id, stage, stage_index, source, tier, bucket, "
            "unique_tokens, epochs, tokens FROM cell_plan",
            [allocation_id],
        )
        for index_, stage in enumerate(results):
            spec = plan.stages[index_]
            for source_spec, row in zip(spec.sources, stage.sources):
                got, docs = realized.get((stage.stage, row.source), (0, 0))
                con.execute(
                    "INSERT INTO allocation_targets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        allocation_id,
                        stage.stage,
                        index_,
                        row.source,
                        list(source_spec.tiers),
                        source_spec.buckets,
                        row.weight,
                        stage.budget,
                        row.target,
                        row.capacity,
                        row.allocated,
                        got,
                        docs,
                    ],
                )
        con.execute("UPDATE allocation_plans SET is_current = false")
        con.execute(
            "INSERT INTO allocation_plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, true, ?)",
            [
                allocation_id,
                plan.plan_hash(),
                plan.canonical_json(),
                json.dumps(state, sort_keys=True),
                index.index_id if index else None,
                manifest_hash,
                summary.documents,
                summary.tokens,
                datetime.now(timezone.utc),
            ],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return realized
