"""`tiers doctor`: prints one line per check; exit 1 when a check failed."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.console import Console

from tiers.config import load_config
from tiers.exit_codes import EXIT_FAILED

MARKS = {
    "ok": "[green]ok  [/green]",
    "warn": "[yellow]warn[/yellow]",
    "fail": "[red]FAIL[/red]",
    "skip": "[dim]skip[/dim]",
}


def doctor(
    root: str = typer.Option("data", "--root", help="data root the runs will use (for the free-disk check)"),
    config: Optional[str] = typer.Option(None, "--config", help="YAML config merged over conf/pipeline.yaml"),
    overrides: list[str] = typer.Option([], "--set", help="override a config key: section.key=value"),
) -> None:
    """Check what a run needs: Python, Java, Spark, language ID, fastText, L2 models, LLM engine, torch, disk."""
    from jobs.doctor import run_checks

    console = Console(soft_wrap=True)
    results = run_checks(load_config(config, overrides), root)
    for result in results:
        console.print(f"{MARKS[result.status]} {result.name:<11} {escape(result.detail)}", highlight=False)
    if any(r.status == "fail" for r in results):
        raise typer.Exit(EXIT_FAILED)
