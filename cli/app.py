"""The `tiers` command."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Callable, Optional

import typer
from rich.markup import escape
from rich.console import Console
from rich.logging import RichHandler

from cli import allocate_cmd, catalog_cmd, classifier_cmd, config_cmd, doctor_cmd, l4_cmd, report_cmd, verify_cmd
from tiers.exit_codes import EXIT_CATALOG, EXIT_FAILED, EXIT_USAGE
from cli.fast_exit import exit_without_teardown
from cli.options import JobOptions
from tiers.catalog import CatalogError
from tiers.config import ConfigError, TiersConfig, load_config
from tiers.io.formats import InputError


app = typer.Typer(
    help="tiers: tiered data management for LLM training corpora (L0 raw to L4 verified).", no_args_is_help=True
)
run_app = typer.Typer(
    help="Run pipeline stages: small inputs in this process, larger ones and clusters on Spark (engine.kind).",
    no_args_is_help=True,
)
app.add_typer(run_app, name="run")
app.add_typer(catalog_cmd.app, name="catalog")
app.add_typer(classifier_cmd.app, name="classifier")
app.add_typer(verify_cmd.app, name="verify")
app.add_typer(config_cmd.app, name="config")
app.add_typer(l4_cmd.app, name="l4")
app.command("doctor")(doctor_cmd.doctor)
app.command("report")(report_cmd.report)
app.command("allocate")(allocate_cmd.allocate)
app.command("export")(allocate_cmd.export)
console = Console(stderr=True)

InputOpt = typer.Option(..., "--input", help="file, directory or glob of WARC/WET/JSONL/Parquet; repeatable")
RootOpt = typer.Option(..., "--root", help="data root: tiers and catalog.duckdb live here")
ConfigOpt = typer.Option(None, "--config", help="YAML config (default: conf/pipeline.yaml)")
SetOpt = typer.Option([], "--set", help="override a config key: section.key=value; repeatable")
ForceOpt = typer.Option(False, "--force", help="redo stages even when an identical run is committed")


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)]
    )
    for noisy in ("py4j", "py4j.clientserver", "py4j.java_gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(options: JobOptions) -> TiersConfig:
    try:
        return load_config(options.config, options.overrides)
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_USAGE)


def _execute(options: JobOptions, pipeline: Callable) -> None:
    """Validate config, run the stages with progress (Spark starts when a stage needs it), print a summary."""
    _setup_logging()
    config = _load(options)
    from cli.progress import stage_progress
    from jobs.engine import Execution
    from jobs.java import JavaError
    from jobs.runner import DiskFull
    from jobs.skeleton import MissingInput
    from tiers.catalog.lock import RootLock, RootLocked
    from jobs.signals import exit_cleanly_on_signals
    from tiers.llm.server import ServerIdentityError
    from tiers.l3.refine import CalibrationFailed

    execution = Execution(config)
    exit_cleanly_on_signals(lambda: execution.spark_started and execution.spark().sparkContext.cancelAllJobs())

    def wrap(name, body):
        with stage_progress(execution, name):
            result = body()
        state = "skipped (already committed)" if result.skipped else "committed"
        console.print(f"[green]{escape(name)}[/green]: {state} as {result.run_id} {escape(str(result.counts))}")
        return result

    try:
        with RootLock(options.root, "tiers " + " ".join(sys.argv[1:3])):
            pipeline(execution, config, options.inputs, options.root, force=options.force, wrap=wrap)
    except JavaError as exc:
        console.print(f"[red]java:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    except (InputError, MissingInput) as exc:
        console.print(f"[red]input error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    except (CatalogError, RootLocked) as exc:
        console.print(f"[red]catalog error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    except DiskFull as exc:
        console.print(f"[red]{escape(str(exc.strerror))}[/red]")
        raise typer.Exit(EXIT_FAILED)
    except (CalibrationFailed, ServerIdentityError) as exc:  # the run is marked failed; the message says what to do
        console.print(f"[red]stage failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED)
    except Exception as exc:  # noqa: BLE001 - any job failure: the run is marked failed, exit non-zero
        logging.getLogger("tiers").exception("job failed")
        console.print(f"[red]job failed:[/red] {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED)


@app.command()
def ingest(
    inputs: list[str] = InputOpt,
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
) -> None:
    """Ingest raw crawl files (WARC, WET, JSONL, Parquet) into L0, bad records into quarantine."""
    from jobs.pipeline import run_stage
    from tiers.names import INGEST

    _execute(JobOptions(root, inputs, config, overrides, force), functools.partial(run_stage, INGEST))


@run_app.command("l0-to-l1")
def l0_to_l1(
    inputs: list[str] = InputOpt,
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
) -> None:
    """Ingest to L0, then clean, filter and deduplicate into L1."""
    from jobs.pipeline import run_l0_to_l1

    _execute(JobOptions(root, inputs, config, overrides, force), run_l0_to_l1)


@run_app.command("l0-to-l2")
def l0_to_l2(
    inputs: list[str] = InputOpt,
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
) -> None:
    """The main job: ingest to L0, L1 cleaning and dedup, L2 quality selection."""
    from jobs.pipeline import run_l0_to_l2

    _execute(JobOptions(root, inputs, config, overrides, force), run_l0_to_l2)


@run_app.command("l1-to-l2")
def l1_to_l2(
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
    l1_run: Optional[str] = typer.Option(None, help="L1 run id (default: latest)"),
) -> None:
    """Score every current L1 run not yet in L2 (or the given one) with the quality classifier and select L2."""
    from jobs.pipeline import L1_TO_L2, run_stage

    _execute(JobOptions(root, [], config, overrides, force), functools.partial(run_stage, L1_TO_L2, run=l1_run))


@run_app.command("l2-to-l3")
def l2_to_l3(
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
    l2_run: Optional[str] = typer.Option(None, help="L2 run id (default: latest)"),
    limit: Optional[int] = typer.Option(
        None, "--limit", min=1, help="only the first N L2 documents by doc_id (a trial run)"
    ),
) -> None:
    """Score L2 documents with an LLM (the rubric of l3.score_prompt) and rewrite the best into L3."""
    from jobs.pipeline import run_stage
    from tiers.names import L2_TO_L3

    _execute(
        JobOptions(root, [], config, overrides, force), functools.partial(run_stage, L2_TO_L3, run=l2_run, limit=limit)
    )


@run_app.command("l3-to-l4")
def l3_to_l4(
    root: str = RootOpt,
    config: Optional[str] = ConfigOpt,
    overrides: list[str] = SetOpt,
    force: bool = ForceOpt,
    l3_run: Optional[str] = typer.Option(None, help="L3 run id (default: every current L3)"),
    limit: Optional[int] = typer.Option(
        None, "--limit", min=1, help="only the first N input documents by doc_id (a trial run)"
    ),
) -> None:
    """Generate facts and QA pairs from L3 passages, verify them independently, merge and index them into L4."""
    from jobs.pipeline import run_stage
    from tiers.names import L3_TO_L4

    _execute(
        JobOptions(root, [], config, overrides, force), functools.partial(run_stage, L3_TO_L4, run=l3_run, limit=limit)
    )


@app.command()
def package(out: str = typer.Option("dist", help="folder for the archive")) -> None:
    """Build dist/tiers_pyfiles.zip with the project's packages, for spark-submit --py-files."""
    from jobs.packaging import build_pyfiles

    path = build_pyfiles(out)
    typer.echo(path)


def main() -> None:
    """The `tiers` entry point: runs a command and ends the process (see cli/fast_exit.py)."""
    try:
        app()
        code: object = 0
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        code = EXIT_USAGE
    except SystemExit as exc:
        code = exc.code
    exit_without_teardown(code)
