"""`tiers allocate` and `tiers export`: parse, call tiers/allocation, print."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Optional

import typer
from rich.markup import escape
from rich.text import Text
from rich.console import Console
from rich.table import Table

from tiers.catalog import CatalogError
from tiers.exit_codes import EXIT_CATALOG, EXIT_FAILED, EXIT_USAGE

console = Console(stderr=True)


class ExportFormat(str, Enum):
    parquet = "parquet"
    jsonl = "jsonl"


def allocate(
    root: str = typer.Option(..., "--root", help="data root holding catalog.duckdb"),
    plan: str = typer.Option("conf/allocation.yaml", "--plan", help="allocation plan (YAML)"),
    eval_dir: Optional[str] = typer.Option(
        None, "--eval-dir", help="evaluation sets to keep out (default: the plan's eval_dir)"
    ),
    memory_limit: Optional[str] = typer.Option(
        None,
        "--memory-limit",
        help="cap DuckDB's memory, e.g. 1GB: documents are "
        "handled in chunks sized to it (cap / 2.5 KB each) and DuckDB spills beyond it",
    ),
) -> None:
    """Allocate the current tiers to training stages by the plan; results in the catalog (view `allocation`)."""
    from tiers.allocation.allocate import BudgetNotMet, NothingAllocated, allocate as run_allocation
    from tiers.allocation.documents import MissingTokens
    from tiers.allocation.plan import PlanError, load_plan
    from tiers.catalog.lock import RootLock, RootLocked

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        parsed = load_plan(plan)
        with RootLock(root, "tiers allocate"):
            result = run_allocation(root, parsed, eval_dir, memory_limit)
    except (PlanError, MissingTokens, FileNotFoundError, NothingAllocated) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    except BudgetNotMet as exc:
        console.print(f"[red]budget cannot be met[/red] (nothing stored):\n{escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    except (CatalogError, RootLocked) as exc:
        console.print(f"[red]catalog error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    table = Table(title=escape(f"allocation {result.allocation_id}"))
    for column in ("stage", "source", "target", "allocated", "realized"):
        table.add_column(column, justify="left" if column in ("stage", "source") else "right")
    for stage in result.stages:
        for row in stage.sources:
            table.add_row(
                Text(stage.stage),
                Text(row.source),
                f"{row.target:,.0f}",
                f"{row.allocated:,.0f}",
                f"{result.realized.get((stage.stage, row.source), 0):,}",
            )
    Console().print(table)
    typer.echo(
        f"documents {result.documents:,}  tokens {result.tokens:,}  overlapping evaluation sets (never allocated) "
        f"{result.flagged:,}  manifest {result.manifest_hash}"
    )


def export(
    root: str = typer.Option(..., "--root", help="data root holding catalog.duckdb"),
    stage: str = typer.Option(..., "--stage", help="training stage of the current allocation"),
    out: str = typer.Option(
        ...,
        "--out",
        help="folder for the shards, manifest.json, megatron_blend.json "
        "(a Megatron prefix per shard) and bucket_weights.json",
    ),
    format: ExportFormat = typer.Option(ExportFormat.parquet, "--format", help="parquet or jsonl"),
    shard_rows: int = typer.Option(100_000, "--shard-rows", min=1, help="rows per shard"),
    memory_limit: Optional[str] = typer.Option(
        None, "--memory-limit", help="cap DuckDB's memory, e.g. 1GB (it spills beyond)"
    ),
) -> None:
    """Write one stage's training data: repeats applied, deterministic order, shards plus a manifest."""
    from tiers.allocation.export import ExportError, export_stage

    try:
        result = export_stage(root, stage, out, format.value, shard_rows, memory_limit)
    except ExportError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    except CatalogError as exc:
        console.print(f"[red]catalog error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    typer.echo(f"{result.out}: {len(result.shards)} shards, {result.rows:,} rows, {result.tokens:,} tokens")
