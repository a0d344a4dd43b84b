"""`tiers report`: write one self-contained HTML page of the catalog's aggregates, with figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tiers.catalog import CatalogError
from tiers.exit_codes import EXIT_CATALOG, EXIT_USAGE


def report(
    root: str = typer.Option(..., "--root", help="data root holding catalog.duckdb"),
    out: Optional[str] = typer.Option(None, "--out", help="HTML file to write (default: ROOT/report.html)"),
    run: Optional[str] = typer.Option(None, "--run", help="restrict the report to the outputs of this run id"),
) -> None:
    """One HTML page (opens offline): funnel, drops, distributions, dedup, LLM usage, verification, runs."""
    from tiers.apps.report import UnknownRun, build_report

    target = Path(out) if out else Path(root) / "report.html"
    try:
        path = build_report(root, target, run)
    except UnknownRun as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE)
    except CatalogError as exc:
        typer.echo(f"catalog error: {exc}", err=True)
        raise typer.Exit(EXIT_CATALOG)
    typer.echo(f"{path} ({path.stat().st_size:,} bytes)")
