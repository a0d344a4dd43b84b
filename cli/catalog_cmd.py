"""`tiers catalog ...`: status of the tiers and read-only SQL over the catalog."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum

import typer
from rich.markup import escape
from rich.text import Text
from rich.console import Console
from rich.table import Table

from tiers.exit_codes import EXIT_CATALOG
from cli.options import SqlOptions
from tiers.catalog import Catalog, CatalogError
from tiers.apps.report.flow import funnel_line

app = typer.Typer(help="Inspect the DuckDB catalog: tier status and read-only SQL.", no_args_is_help=True)
console = Console()


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def status(root: str = typer.Option(..., help="data root holding catalog.duckdb")) -> None:
    """Documents (L4: knowledge items), bytes and runs per tier; drops by stage and reason; quarantined records."""
    try:
        report = Catalog(root).status()
    except CatalogError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    table = Table(title=escape(f"tiers in {root}"))
    tokens = _tokens_per_tier(root)
    for column in ("tier", "documents", "bytes", "tokens", "runs"):
        table.add_column(column, justify="right" if column != "tier" else "left")
    for tier in ("L0", "L1", "L2", "L3", "L4"):
        item = report["tiers"].get(tier, {"documents": 0, "bytes": 0, "runs": 0})
        table.add_row(
            tier,
            f"{item['documents']:,}",
            f"{item['bytes']:,}",
            "-" if tokens.get(tier) is None else f"{tokens[tier]:,}",
            str(item["runs"]),
        )
    console.print(table)
    if report["drops"]:
        drops = Table(title="drops")
        for column in ("stage", "reason", "documents"):
            drops.add_column(column)
        for stage, reason, count in report["drops"]:
            drops.add_row(Text(str(stage)), Text(str(reason)), f"{count:,}")
        console.print(drops)
    if report["l3_status"]:
        console.print(
            "L3 scoring by status: " + ", ".join(f"{status} {n:,}" for status, n in report["l3_status"].items()),
            markup=False,
        )
    if report["l4_status"]:
        console.print(
            "L4 items by status (every generated item; the L4 row counts canonical verified items): "
            + ", ".join(f"{status} {n:,}" for status, n in report["l4_status"].items()),
            markup=False,
        )
    if report["no_model_languages"]:
        console.print(
            "L1 documents without a quality model (not in L2): "
            + ", ".join(f"{lang} {n:,}" for lang, n in report["no_model_languages"].items()),
            markup=False,
        )
    console.print(f"quarantined records: {report['quarantine']:,}   runs: {report['runs']}")
    console.print(funnel_line(report["tiers"], report["quarantine"]), markup=False)


def _tokens_per_tier(root: str) -> dict:
    """n_tokens per tier (tiers/apps/allocation/documents.py); '-' for a tier written without them."""
    from tiers.apps.allocation.documents import tokens_per_tier

    with Catalog(root).connect(read_only=True) as con:
        return tokens_per_tier(con)


@app.command()
def sql(
    query: str = typer.Argument(
        ...,
        help="SQL over the catalog's tables (runs, outputs, models, llm_usage, experiments, allocation_plans, ...) "
        "and views (membership, drops, quarantine, l0 to l4, l2_scores, l3_scores, l3_failures, l4_items, l4_checks, "
        "allocation, quality_buckets, ...); docs/sql.md has examples",
    ),
    root: str = typer.Option(..., help="data root holding catalog.duckdb"),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json"),
) -> None:
    """Run SQL on a read-only connection to the catalog."""
    options = SqlOptions(root=root, sql=query, format=format.value)
    try:
        columns, rows = Catalog(options.root).query(options.sql)
    except CatalogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CATALOG)
    if options.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif options.format == "json":
        typer.echo(json.dumps([dict(zip(columns, row)) for row in rows], default=str, indent=1))
    else:
        table = Table()
        for column in columns:
            table.add_column(Text(column))
        for row in rows:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        console.print(table)
