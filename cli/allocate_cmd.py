"""`tiers allocate` and `tiers export`: parse, call tiers/apps/allocation, print."""

from __future__ import annotations

import logging
from enum import Enum
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.text import Text
from rich.console import Console
from rich.table import Table

from tiers.catalog import CatalogError
from tiers.exit_codes import EXIT_CATALOG, EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from verification.allocation_search import SearchOptions

console = Console(stderr=True)


class SearchPreset(str, Enum):
    tiny = "tiny"
    small = "small"
    base = "base"


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
    search: bool = typer.Option(
        False,
        "--search",
        help="choose --stage's weights per cell (tier and quality bucket) by annealing candidate mixtures "
        "with the verification loop; writes a new plan only when the proposal beats the plan",
    ),
    stage: Optional[str] = typer.Option(None, "--stage", help="with --search: the stage whose mixture is searched"),
    candidates: int = typer.Option(8, "--candidates", min=1, help="with --search: candidate mixtures to anneal"),
    preset: Optional[SearchPreset] = typer.Option(
        None, "--preset", help="with --search: model size (default: the pools file's loop.model)"
    ),
    pools: str = typer.Option(
        "conf/seed_pools.yaml", "--pools", help="with --search: the loop's settings and default data"
    ),
    out: Optional[str] = typer.Option(
        None, "--out", help="with --search: the new plan file (default <root>/plans/allocation-<search id>.yaml)"
    ),
    seed: int = typer.Option(0, "--seed", help="with --search: seed of the candidate sampling"),
) -> None:
    """Allocate the current tiers to training stages by the plan; results in the catalog (view `allocation`).
    With --search, measure mixtures for one stage instead (see docs/allocation_search.md)."""
    if search:
        if stage is None:
            console.print("[red]error:[/red] --search needs --stage NAME")
            raise typer.Exit(EXIT_USAGE)
        from verification.allocation_search import SearchOptions

        options = SearchOptions(
            root, stage, plan, pools, candidates, preset.value if preset else None, out, seed, eval_dir
        )
        return search_mixture(options)
    from tiers.apps.allocation.allocate import BudgetNotMet, NothingAllocated, allocate as run_allocation
    from tiers.apps.allocation.documents import MissingTokens
    from tiers.apps.allocation.plan import PlanError, load_plan
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


def search_mixture(options: "SearchOptions") -> None:
    """Run or resume a search (verification/allocation_search.py) and print its cost, trials and decision."""
    from tiers.apps.allocation.documents import MissingTokens
    from tiers.apps.allocation.mixture import InfeasibleMixture
    from tiers.apps.allocation.plan import PlanError
    from tiers.catalog.lock import RootLock, RootLocked
    from tiers.config import ConfigError
    from verification.allocation_search import prepare, run
    from verification.leakage import EvalLeak

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Console()

    def progress(trial, resumed: bool) -> None:
        interval = (
            "" if trial.delta is None else f"  delta {trial.delta:+.5f} [{trial.ci_low:+.5f}, {trial.ci_high:+.5f}]"
        )
        state = "finished earlier" if resumed else f"{trial.seconds:.1f} s"
        weights = " ".join(f"{w:.3f}" for w in trial.weights)
        out.print(
            f"{trial.kind} {trial.trial}: weights [{weights}] score {trial.score:.5f}{interval} ({state})",
            highlight=False,
            markup=False,
        )

    try:
        with RootLock(options.root, "tiers allocate --search"):
            prepared = prepare(options)
            cost = prepared.cost
            out.print(
                f"search {prepared.search_id} over {len(prepared.cells.cells)} cells of {options.stage} "
                f"({', '.join(prepared.cells.names)}): {cost.anneals} anneals of {prepared.config.verify.anneal_steps} "
                f"steps still to run{f' and a base of {cost.base_steps} steps' if cost.base_steps else ''}, "
                f"estimated {cost.seconds:,.0f} s on {prepared.config.verify.device}",
                highlight=False,
                markup=False,
            )
            result, path = run(prepared, progress)
    except (PlanError, ConfigError, EvalLeak, InfeasibleMixture, MissingTokens, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    except (CatalogError, RootLocked) as exc:
        console.print(f"[red]catalog error:[/red] {exc}")
        raise typer.Exit(EXIT_CATALOG)
    fit = result.fit
    rho = fit["held_out_rank_correlation"]
    out.print(
        "fit: "
        + ", ".join(f"{k} {v:+.4f}" for k, v in fit["coefficients"].items())
        + f"; held-out rank correlation {'n/a' if rho is None else f'{rho:.2f}'}",
        highlight=False,
        markup=False,
    )
    v = result.verdict
    proposal = ", ".join(f"{n} {w:.3f}" for n, w in zip(result.names, result.proposal))
    out.print(
        f"proposal: {proposal}; over the current plan {v.delta:+.5f} [{v.low:+.5f}, {v.high:+.5f}] "
        f"({v.confidence:.0%})",
        highlight=False,
        markup=False,
    )
    if path is None:
        typer.echo("not better than the current plan with its interval above the margin: no plan written")
    else:
        typer.echo(f"plan written: {path}")


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
    from tiers.apps.allocation.export import ExportError, export_stage

    try:
        result = export_stage(root, stage, out, format.value, shard_rows, memory_limit)
    except ExportError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    except CatalogError as exc:
        console.print(f"[red]catalog error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    typer.echo(f"{result.out}: {len(result.shards)} shards, {result.rows:,} rows, {result.tokens:,} tokens")
