"""`tiers allocate`: turn a plan and the catalog's current tiers into per-document repeats per stage.

Everything that touches documents runs as DuckDB SQL inside the catalog: the home-tier documents and
their buckets, the evaluation-overlap flags (a vectorised function over Arrow batches of texts, for
documents not checked against this evaluation index before), the per-cell token aggregates that the
arithmetic in `solve.py` works on, and the per-document repeats. Python sees aggregates only.

Per stage and cell, a target of `e` epochs gives every document `floor(e)` repeats. The fractions'
tokens of a source's cells are summed, and one more repeat goes to the source's documents (in cells
with a fraction) first in the order of hash(doc_id, stage, seed) until that sum is reached (a document
is taken while the tokens before it plus half its own are under it); a second pass in the same order
fills the gap that a large document at the boundary leaves with documents that fit in it, so a
source's realized tokens are within half a document of its allocation, and usually much closer. No document
exceeds `ceil(cap)` repeats of its home tier across stages: a later stage loses the excess.
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

from tiers.allocation.documents import check_token_columns, create_bucket_view, home_documents_sql, texts_sql
from tiers.eval_overlap import EvalIndex, build_index
from tiers.allocation.plan import Plan
from tiers.allocation.solve import Cell, StageResult, shortfalls, solve
from tiers.allocation.store import bound_memory, spill_folder, ensure_tables
from tiers.catalog import Catalog

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
            lines.append(f"{stage.stage:<10} {row.source:<16} {row.target:>14,.0f} {row.capacity:>14,.0f} "
                         f"{row.allocated:>14,.0f} {row.missing:>14,.0f}")
        lines.append(f"{stage.stage:<10} {'(stage total)':<16} {stage.budget:>14,.0f} {'':>14} "
                     f"{stage.allocated:>14,.0f} {stage.missing:>14,.0f}")
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
        "GROUP BY 1 ORDER BY 1").fetchall()
    return {kind: runs for kind, runs in rows}


def flag_eval_overlap(con: duckdb.DuckDBPyConnection, index: EvalIndex) -> int:
    """Check the home documents not yet checked against `index`; returns how many documents it flags."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE unchecked AS SELECT h.doc_id, h.tier FROM ({home_documents_sql(con)}) h "
                "ANTI JOIN (SELECT doc_id, tier FROM eval_overlap WHERE index_id = ?) e USING (doc_id, tier)",
                [index.index_id])

    def match(texts: pa.Array) -> pa.Array:
        return pa.array(index.matches(texts.to_pylist()), pa.string())

    con.create_function("eval_benchmark", match, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    try:
        con.execute(f"INSERT INTO eval_overlap SELECT u.doc_id, u.tier, eval_benchmark(t.text), ?, ? FROM unchecked u "
                    f"JOIN ({texts_sql(con)}) t USING (doc_id, tier)", [index.index_id, datetime.now(timezone.utc)])
    finally:
        con.remove_function("eval_benchmark")
    return con.execute("SELECT count(DISTINCT doc_id) FROM eval_overlap WHERE index_id = ? AND benchmark IS NOT NULL",
                       [index.index_id]).fetchone()[0]


def _cells(con: duckdb.DuckDBPyConnection) -> list[Cell]:
    rows = con.execute("SELECT tier, bucket, count(*), sum(n_tokens) FROM alloc_docs GROUP BY ALL ORDER BY ALL").fetchall()
    return [Cell(tier, bucket, int(n), int(tokens)) for tier, bucket, n, tokens in rows]


def _cell_plan(plan: Plan, results: list[StageResult], cells: list[Cell]) -> pa.Table:
    unique = {(c.tier, c.bucket): c.unique_tokens for c in cells}
    rows = []
    for index, stage in enumerate(results):
        for source in stage.sources:
            for (tier, bucket), tokens in sorted(source.cells.items(), key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1])):
                epochs = tokens / unique[(tier, bucket)]
                rows.append({"stage": stage.stage, "stage_index": index, "source": source.source, "tier": tier,
                             "bucket": bucket, "unique_tokens": unique[(tier, bucket)], "epochs": epochs, "tokens": tokens,
                             "fraction_tokens": (epochs - math.floor(epochs + 1e-9)) * unique[(tier, bucket)]})
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        totals[(row["stage"], row["source"])] = totals.get((row["stage"], row["source"]), 0.0) + row["fraction_tokens"]
    for row in rows:
        row["source_fraction_tokens"] = totals[(row["stage"], row["source"])]
    schema = pa.schema([("stage", pa.string()), ("stage_index", pa.int32()), ("source", pa.string()), ("tier", pa.string()),
                        ("bucket", pa.int32()), ("unique_tokens", pa.int64()), ("epochs", pa.float64()), ("tokens", pa.float64()),
                        ("fraction_tokens", pa.float64()), ("source_fraction_tokens", pa.float64())])
    return pa.Table.from_pylist(rows, schema=schema)


ROWS_SQL = """
WITH cand AS (
    SELECT d.doc_id, c.stage, c.stage_index, d.tier, d.bucket, c.source, d.n_tokens,
           floor(c.epochs + 1e-9)::INTEGER AS whole, c.fraction_tokens > 1e-6 AS in_pool,
           c.source_fraction_tokens AS goal, md5_number_lower(d.doc_id || '|' || c.stage || '|' || $seed) AS h
    FROM alloc_docs d JOIN cell_plan c ON d.tier = c.tier AND d.bucket IS NOT DISTINCT FROM c.bucket
), first_pass AS (
    SELECT *, in_pool AND sum(CASE WHEN in_pool THEN n_tokens ELSE 0 END) OVER (
                  PARTITION BY stage, source ORDER BY h, doc_id ROWS UNBOUNDED PRECEDING) - n_tokens / 2.0 < goal - 1e-6 AS pick1
    FROM cand
), gap AS (
    SELECT *, goal - sum(CASE WHEN pick1 THEN n_tokens ELSE 0 END) OVER (PARTITION BY stage, source) AS gap FROM first_pass
), second_pass AS (
    SELECT *, in_pool AND NOT pick1 AND n_tokens <= gap AS fits,
           sum(CASE WHEN in_pool AND NOT pick1 AND n_tokens <= gap THEN n_tokens ELSE 0 END) OVER (
               PARTITION BY stage, source ORDER BY h, doc_id ROWS UNBOUNDED PRECEDING) AS filled
    FROM gap
), raw AS (
    SELECT *, whole + CASE WHEN pick1 OR (fits AND filled <= gap + 1e-6) THEN 1 ELSE 0 END AS r FROM second_pass
), capped AS (
    SELECT raw.*, least(sum(r) OVER w, ceil(caps.cap)) - least(sum(r) OVER w - r, ceil(caps.cap)) AS repeats
    FROM raw JOIN caps USING (tier)
    WINDOW w AS (PARTITION BY doc_id ORDER BY stage_index ROWS UNBOUNDED PRECEDING)
)
SELECT $id AS allocation_id, doc_id, stage, stage_index, tier, bucket, source, repeats::INTEGER AS repeats, n_tokens
FROM capped WHERE repeats > 0
"""


def allocate(root: str | Path, plan: Plan, eval_dir: str | Path | None = None, memory_limit: str | None = None) -> AllocationResult:
    """Allocate the current tiers of `root` by `plan`; raises BudgetNotMet (nothing is stored) when a
    budget cannot be met. `eval_dir` overrides the plan's evaluation folder; `memory_limit` caps DuckDB."""
    catalog = Catalog(root)
    catalog.migrate()
    eval_folder = eval_dir if eval_dir is not None else plan.eval_dir
    index = build_index(eval_folder, plan.overlap_ngram) if eval_folder else None
    if index is None:
        log.warning("no evaluation folder in the plan: documents are allocated without an overlap check")
    with spill_folder(catalog.root) as spill, catalog.connect(wait_s=catalog.commit_wait_s) as con:
        bound_memory(con, memory_limit, spill)
        ensure_tables(con)
        check_token_columns(con)
        create_bucket_view(con, plan.buckets)
        flagged = flag_eval_overlap(con, index) if index else 0
        con.execute(f"CREATE OR REPLACE TEMP TABLE alloc_docs AS SELECT * FROM ({home_documents_sql(con)}) h "
                    "WHERE n_tokens > 0 AND doc_id NOT IN (SELECT doc_id FROM eval_overlap WHERE index_id = ? "
                    "AND benchmark IS NOT NULL)", [index.index_id if index else ""])
        cells = _cells(con)
        results = solve(plan, cells)
        if shortfalls(results):
            raise BudgetNotMet(results)
        cell_plan = _cell_plan(plan, results, cells)
        caps = pa.table({"tier": list(plan.caps), "cap": [float(v) for v in plan.caps.values()]})
        con.register("cell_plan", cell_plan)
        con.register("caps", caps)
        state = _catalog_state(con)
        provisional = "pending-" + plan.plan_hash()
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM allocation_rows WHERE allocation_id = ?", [provisional])
            con.execute("INSERT INTO allocation_rows " + ROWS_SQL, {"seed": str(plan.seed), "id": provisional})
            documents, tokens, digest = con.execute(
                "SELECT count(DISTINCT doc_id), coalesce(sum(repeats * n_tokens), 0), "
                "coalesce(bit_xor(md5_number_lower(doc_id || '|' || stage || '|' || repeats)), 0) "
                "FROM allocation_rows WHERE allocation_id = ?", [provisional]).fetchone()
            manifest = {"plan": json.loads(plan.canonical_json()), "catalog": state,
                        "eval_index": index.index_id if index else None, "rows_digest": str(digest),
                        "documents": documents, "tokens": int(tokens)}
            manifest_hash = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
            allocation_id = manifest_hash[:16]
            for table in ("allocation_rows", "allocation_targets", "allocation_cells", "allocation_plans"):
                con.execute(f"DELETE FROM {table} WHERE allocation_id = ?", [allocation_id])
            con.execute("UPDATE allocation_rows SET allocation_id = ? WHERE allocation_id = ?", [allocation_id, provisional])
            con.execute("INSERT INTO allocation_cells SELECT ? AS allocation_id, stage, stage_index, source, tier, bucket, "
                        "unique_tokens, epochs, tokens FROM cell_plan", [allocation_id])
            realized = {(stage, source): (int(n or 0), int(docs)) for stage, source, n, docs in con.execute(
                "SELECT stage, source, sum(repeats * n_tokens), count(*) FROM allocation_rows WHERE allocation_id = ? "
                "GROUP BY ALL", [allocation_id]).fetchall()}
            for index_, stage in enumerate(results):
                spec = plan.stages[index_]
                for source_spec, row in zip(spec.sources, stage.sources):
                    got, docs = realized.get((stage.stage, row.source), (0, 0))
                    con.execute("INSERT INTO allocation_targets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [allocation_id, stage.stage, index_, row.source, list(source_spec.tiers), source_spec.buckets,
                                 row.weight, stage.budget, row.target, row.capacity, row.allocated, got, docs])
            con.execute("UPDATE allocation_plans SET is_current = false")
            con.execute("INSERT INTO allocation_plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, true, ?)",
                        [allocation_id, plan.plan_hash(), plan.canonical_json(), json.dumps(state, sort_keys=True),
                         index.index_id if index else None, manifest_hash, documents, int(tokens), datetime.now(timezone.utc)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("cell_plan")
            con.unregister("caps")
    log.info("allocation %s: %d documents, %d tokens over %d stages (%d documents overlap the evaluation sets)",
             allocation_id, documents, tokens, len(results), flagged)
    return AllocationResult(allocation_id, manifest_hash, int(documents), int(tokens), results, int(flagged),
                            {key: value[0] for key, value in realized.items()})
