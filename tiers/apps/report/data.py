"""Collect the report's aggregates from the catalog on one read-only connection.

Every number is computed by DuckDB SQL over the catalog's tables and views; only aggregates (a few
hundred rows at most) reach Python. A section whose data does not exist yet becomes a one-line note,
and a query that fails is logged and shown as such instead of failing the whole report.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from tiers.catalog import Catalog
from tiers.apps.report import distributions, downstream, flow, mixture
from tiers.apps.report.model import Panel, ReportData, Section
from tiers.apps.report.source import CatalogSource

log = logging.getLogger(__name__)

PanelBuilder = Callable[[CatalogSource], Panel]

SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, PanelBuilder], ...]], ...] = (
    ("funnel", "Funnel", (("funnel", "Funnel L0 → L4", flow.funnel),)),
    (
        "drops",
        "Drops",
        (("drops", "Drops by stage and reason", flow.drops_by_reason), ("operators", "Per operator", flow.operators)),
    ),
    (
        "distributions",
        "Distributions",
        (
            ("languages", "Languages in L1", distributions.languages),
            ("lang_score", "Language-ID score", distributions.lang_score),
            ("quality_score", "Quality score per language", distributions.quality_score),
            ("llm_score", "LLM rubric score (L3)", distributions.llm_score),
            ("doc_length", "Document length per tier", distributions.doc_length),
        ),
    ),
    (
        "dedup",
        "Deduplication",
        (
            ("dedup_clusters", "Duplicate cluster sizes", distributions.dedup_clusters),
            ("dedup_removed", "Exact vs near duplicates removed", distributions.dedup_removed),
            ("dedup_flags", "Dedup flags and evidence", distributions.dedup_flags),
        ),
    ),
    (
        "llm",
        "L3 and L4",
        (
            ("llm_usage", "L3 usage", downstream.llm_usage),
            ("l3_status", "L3 outcomes", downstream.l3_status),
            ("l4_grades", "L4 by grade", downstream.l4_grades),
            ("l4_checks", "L4 by check", downstream.l4_checks),
        ),
    ),
    (
        "verification",
        "Verification loop",
        (
            ("experiments", "Experiments", downstream.experiments),
            ("experiment_pairs", "Pairwise", downstream.experiment_pairs),
        ),
    ),
    (
        "allocation",
        "Allocation",
        (
            ("allocation", "Allocation to training stages", downstream.allocation),
            ("mixture_trials", "Allocation search", mixture.mixture_trials),
        ),
    ),
    ("runs", "Runs", (("runs", "Runs", flow.runs_panel),)),
)


class UnknownRun(ValueError):
    """--run names a run the catalog does not have."""


def _build(src: CatalogSource, key: str, title: str, builder: PanelBuilder) -> Panel:
    try:
        return builder(src)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("report: %s could not be computed: %s", key, exc)
        return Panel.absent(key, title, f"Could not be computed from the catalog: {first}")


def _empty(root: Path, generated: str, run_id: str | None) -> ReportData:
    why = f"No catalog at {root / 'catalog.duckdb'}: no job has run on this root yet."
    sections = tuple(
        Section(key, title, tuple(Panel.absent(k, t, why) for k, t, _ in panels)) for key, title, panels in SECTIONS
    )
    return ReportData(
        root=str(root), generated_at=generated, run_id=run_id, schema_version=None, sections=sections, notes=(why,)
    )


def collect(root: str | Path, run_id: str | None = None) -> ReportData:
    """All sections of the report for the catalog under `root`, optionally restricted to one run's outputs."""
    catalog = Catalog(root)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if not catalog.path.exists():
        return _empty(catalog.root, generated, run_id)
    with catalog.connect(read_only=True) as con:
        src = CatalogSource(con, run_id)
        if run_id is not None and (
            not src.exists("runs") or src.one("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]) == 0
        ):
            raise UnknownRun(f"no run {run_id!r} in {catalog.path}")
        version = src.one("SELECT max(version) FROM schema_version") if src.exists("schema_version") else None
        sections = tuple(
            Section(key, title, tuple(_build(src, k, t, builder) for k, t, builder in panels))
            for key, title, panels in SECTIONS
        )
    notes = (f"Restricted to run {run_id}: each view shows only rows with this run_id.",) if run_id else ()
    return ReportData(
        root=str(catalog.root),
        generated_at=generated,
        run_id=run_id,
        schema_version=version,
        sections=sections,
        notes=notes,
    )
