"""`tiers report`: one self-contained HTML page of catalog aggregates, with figures.

`data` computes the aggregates in DuckDB (read-only), `render` draws them with matplotlib as inline SVG.
"""

from __future__ import annotations

from pathlib import Path

from tiers.apps.report.data import UnknownRun, collect
from tiers.apps.report.model import Panel, ReportData


def build_report(root: str | Path, out: str | Path, run_id: str | None = None) -> Path:
    """Collect the catalog's aggregates under `root` and write the HTML page to `out`."""
    from tiers.apps.report.render import write_report

    return write_report(collect(root, run_id), out)


__all__ = ["Panel", "ReportData", "UnknownRun", "build_report", "collect"]
