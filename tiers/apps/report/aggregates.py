"""SQL building blocks shared by the report's sections: binned histograms and 'current run' lookups."""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from tiers.apps.report.model import Table
from tiers.catalog.sql_text import literal as quote
from tiers.apps.report.source import CatalogSource

OTHER = "other"


def top_values(src: CatalogSource, relation: str, column: str, limit: int) -> list[str]:
    """The `limit` most frequent non-null values of `column`, most frequent first."""
    rows = src.rows(
        f"SELECT {column}, count(*) AS n FROM {relation} WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT {int(limit)}"
    )
    return [str(r[0]) for r in rows]


def grouped_expr(column: str, keep: list[str]) -> str:
    """CASE expression mapping values outside `keep` to 'other'."""
    if not keep:
        return quote(OTHER)
    listed = ", ".join(quote(v) for v in keep)
    return f"CASE WHEN {column} IN ({listed}) THEN {column} ELSE {quote(OTHER)} END"


def histogram(
    src: CatalogSource,
    values_sql: str,
    lo: float,
    hi: float,
    bins: int,
    edge: Callable[[float], float] = lambda e: e,
    groups: list[str] | None = None,
    trim: bool = False,
    digits: int = 3,
) -> Table:
    """Counts of `v` in `bins` equal-width bins over [lo, hi] (values outside are clamped), per group `g`.

    `values_sql` must select columns `g` and `v`. `edge` maps bin edges to the units shown (e.g. 10**e for
    log-scaled bins). Returns columns (from, to, *groups), one row per bin; `trim` removes empty bins at
    both ends.
    """
    width = (hi - lo) / bins
    rows = src.rows(
        f"SELECT least(greatest(floor((v - {lo}) / {width}), 0), {bins - 1})::INTEGER AS b, g, count(*) "
        f"FROM ({values_sql}) WHERE v IS NOT NULL GROUP BY 1, 2"
    )
    found = sorted({str(g) for _, g, _ in rows})
    order = [g for g in (groups or []) if g in found] + [g for g in found if g not in (groups or [])]
    counts: dict[tuple[int, str], int] = {(b, str(g)): n for b, g, n in rows}
    table_rows = []
    for b in range(bins):
        start, stop = edge(lo + b * width), edge(lo + (b + 1) * width)
        table_rows.append((round(start, digits), round(stop, digits), *(counts.get((b, g), 0) for g in order)))
    if trim:
        nonempty = [i for i, row in enumerate(table_rows) if any(row[2:])]
        table_rows = table_rows[nonempty[0] : nonempty[-1] + 1] if nonempty else []
    return Table(("from", "to", *order), tuple(table_rows))


def log_edge(e: float) -> float:
    return float(10**e)


def current_runs(src: CatalogSource, view: str) -> set[str]:
    """Run ids whose rows the view shows now (a handful of ids, not documents)."""
    if not src.has(view, "run_id"):
        return set()
    return {r[0] for r in src.rows(f"SELECT DISTINCT run_id FROM {src.rel(view)} WHERE run_id IS NOT NULL")}


def job_runs(
    src: CatalogSource, job: str, prefer: set[str] | None = None, latest_only: bool = False
) -> list[tuple[str, dict, dict]]:
    """Committed runs of `job` as (run_id, config, counts); those in `prefer` (the views' current runs) when any are.

    With a report restricted to one run, only that run (if it is of this job)."""
    if not src.exists("runs"):
        return []
    sql = "SELECT run_id, config_json, counts_json FROM runs WHERE job = ? AND status = 'committed'"
    params: list[Any] = [job]
    if src.run_id is not None:
        sql += " AND run_id = ?"
        params.append(src.run_id)
    rows = src.rows(sql + " ORDER BY ended_at DESC", params)
    chosen = [r for r in rows if prefer and r[0] in prefer] or rows
    if latest_only:
        chosen = chosen[:1]
    return [(run_id, json.loads(config or "{}"), json.loads(counts or "{}")) for run_id, config, counts in chosen]


def share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


def finite(value: Any) -> Any:
    """None for NaN/inf floats so tables and charts never print 'nan'."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
