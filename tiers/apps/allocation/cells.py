"""The cells of one stage for `tiers allocate --search`, read from the catalog with allocation's own
documents and token counts, and the plan that gives a searched mixture to that stage.

A cell is one home tier and, for L1/L2, one quality bucket of the plan's `buckets` (as `tiers
allocate` defines them: documents overlapping the evaluation sets and documents without tokens are not
in any cell). The search reweights the cells the stage's sources draw from; the plan's bucket edges set
how fine they are. For each cell:
- `current`: its share of the stage's tokens under the current plan (`solve.py`'s arithmetic);
- `upper`: the most share the stage can give it, its capacity (cap x unique tokens) less what the
  stages before it take, over the stage's budget (at most 1).
Unscored documents of a tier that also has scored ones (bucket NULL) cannot be named by a source
without naming the whole tier, so they are left out of the search (logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiers.apps.allocation.allocate import _cells, _chunk_count, flag_eval_overlap, write_documents
from tiers.apps.allocation.documents import check_token_columns, create_bucket_view, texts_sql
from tiers.apps.allocation.partition import Layout, chunks
from tiers.apps.allocation.plan import Plan, PlanError, Provenance, parse_plan
from tiers.apps.allocation.solve import Cell, cells_of, solve
from tiers.apps.allocation.store import bound_memory, spill_folder
from tiers.catalog import Catalog
from tiers.eval_overlap import build_index

log = logging.getLogger(__name__)
MIN_WEIGHT = 1e-6  # a cell below this share gets no source in a written plan


@dataclass(frozen=True)
class SearchCell:
    tier: str
    bucket: int | None
    documents: int
    unique_tokens: int
    current: float
    upper: float

    @property
    def name(self) -> str:
        return self.tier if self.bucket is None else f"{self.tier}_b{self.bucket}"


@dataclass(frozen=True)
class StageCells:
    stage: str
    budget: float
    cells: list[SearchCell]
    texts: dict[str, list[str]]  # per cell name: its documents' texts (a hash-ordered sample up to a byte cap)

    @property
    def current(self) -> np.ndarray:
        return np.array([c.current for c in self.cells])

    @property
    def upper(self) -> np.ndarray:
        return np.array([c.upper for c in self.cells])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cells]


def search_cells(plan: Plan, stage: str, cells: list[Cell]) -> tuple[float, list[SearchCell]]:
    """The stage's budget and its cells with their current share and upper bound (aggregates only)."""
    try:
        index = [s.name for s in plan.stages].index(stage)
    except ValueError:
        raise PlanError(f"stage {stage!r} is not in the plan (stages: {', '.join(s.name for s in plan.stages)})")
    results = solve(plan, cells)
    used: dict[tuple[str, int | None], float] = {}
    for earlier in results[:index]:
        for source in earlier.sources:
            for key, tokens in source.cells.items():
                used[key] = used.get(key, 0.0) + tokens
    result = results[index]
    given: dict[tuple[str, int | None], float] = {}
    for source in result.sources:
        for key, tokens in source.cells.items():
            given[key] = given.get(key, 0.0) + tokens
    drawn = {(c.tier, c.bucket): c for s in plan.stages[index].sources for c in cells_of(s, cells)}
    bucketed = {tier for tier, bucket in drawn if bucket is not None}
    unnamed = [key for key in drawn if key[1] is None and key[0] in bucketed]
    if unnamed:
        log.info("left out of the search (unscored documents of a bucketed tier): %s", unnamed)
    keys = sorted((k for k in drawn if k not in unnamed and drawn[k].unique_tokens > 0), key=_order)
    if not keys or result.budget <= 0:
        raise PlanError(f"stage {stage!r} draws no documents with tokens: nothing to search")
    total = sum(given.get(k, 0.0) for k in keys)
    out = []
    for key in keys:
        cell = drawn[key]
        room = max(0.0, plan.caps[cell.tier] * cell.unique_tokens - used.get(key, 0.0))
        current = (
            given.get(key, 0.0) / total if total > 0 else cell.unique_tokens / sum(drawn[k].unique_tokens for k in keys)
        )
        out.append(
            SearchCell(
                cell.tier, cell.bucket, cell.documents, cell.unique_tokens, current, min(1.0, room / result.budget)
            )
        )
    return result.budget, out


def _order(key: tuple[str, int | None]) -> tuple[str, int]:
    return key[0], -1 if key[1] is None else key[1]


def read_stage_cells(
    root: str | Path,
    plan: Plan,
    stage: str,
    eval_dir: str | Path | None = None,
    max_bytes_per_cell: int = 8_000_000,
    memory_limit: str | None = None,
) -> StageCells:
    """The stage's cells from the catalog of `root` (the caller holds the root's lock: the evaluation
    check records its flags) and, per cell, the texts of its documents in hash order up to
    `max_bytes_per_cell` bytes."""
    layout = Layout.for_memory_limit(memory_limit)
    catalog = Catalog(root)
    folder = eval_dir if eval_dir is not None else plan.eval_dir
    index = build_index(folder, plan.overlap_ngram) if folder else None
    with spill_folder(catalog.root) as spill, catalog.connect(wait_s=catalog.commit_wait_s) as con:
        bound_memory(con, memory_limit, spill)
        check_token_columns(con)
        create_bucket_view(con, plan.buckets)
        parts = chunks(_chunk_count(con, layout))
        if index:
            flag_eval_overlap(con, index, parts)
        docs = write_documents(con, plan, spill, parts, layout, index.index_id if index else "")
        budget, cells = search_cells(plan, stage, _cells(con, docs))
        rows = con.execute(
            f"SELECT tier, bucket, text FROM (SELECT d.tier, d.bucket, t.text, sum(strlen(t.text)) OVER "
            f"(PARTITION BY d.tier, d.bucket ORDER BY hash(d.doc_id), d.doc_id ROWS UNBOUNDED PRECEDING) "
            f"- strlen(t.text) AS before FROM {docs.all()} d JOIN ({texts_sql(con)}) t USING (doc_id, tier)) "
            "WHERE before < ? ORDER BY tier, bucket, before, text",
            [max_bytes_per_cell],
        ).fetchall()
    names = {(c.tier, c.bucket): c.name for c in cells}
    texts: dict[str, list[str]] = {c.name: [] for c in cells}
    for tier, bucket, text in rows:
        if (tier, bucket) in names:
            texts[names[(tier, bucket)]].append(text)
    return StageCells(stage, budget, cells, texts)


def plan_with_mixture(
    plan: Plan, stage: str, cells: list[SearchCell], weights: np.ndarray, budget: float, provenance: Provenance
) -> Plan:
    """`plan` with `stage`'s sources replaced by one source per cell weighted by `weights` (cells under
    MIN_WEIGHT left out) and `provenance` set. A budget that was a share of the stage's own sources'
    tokens becomes the tokens it came to, so the stage keeps the budget the search measured for."""
    data = plan.model_dump(mode="json")
    spec = next(s for s in data["stages"] if s["name"] == stage)
    if spec["budget"]["share"] is not None and spec["budget"]["of_stage"] is None:
        spec["budget"] = {"tokens": int(round(budget)), "share": None, "of_stage": None}
    spec["sources"] = [
        {
            "name": cell.name,
            "tiers": [cell.tier],
            "buckets": None if cell.bucket is None else [cell.bucket],
            "weight": round(float(weight), 6),
        }
        for cell, weight in zip(cells, weights)
        if weight >= MIN_WEIGHT
    ]
    data["provenance"] = provenance.model_dump(mode="json")
    return parse_plan(data, "searched plan")
