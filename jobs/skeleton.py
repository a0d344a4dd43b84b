"""The one job skeleton: return early when there is nothing new to read, skip if committed, choose the
engine, run the body against staging, check counts, commit; and the one `main()` that spark-submit
entry points share.

A job supplies its payload (what makes two runs identical) and a body that writes its outputs under
`run.stage(kind)` and returns its counts; everything else about a job's life is here and in
`jobs/runner.py` (the commit protocol).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from jobs.engine import Body, Execution, StageBodies
from jobs.runner import CountMismatch, JobResult, JobRun
from tiers.exit_codes import EXIT_OK, EXIT_USAGE
from tiers.catalog import Catalog
from tiers.config import ConfigError, TiersConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


class MissingInput(ValueError):
    """The input a job reads is not committed on this root (for example "no committed L1"); exit code 2."""


def run_job(
    catalog: Catalog,
    job: str,
    payload: dict[str, Any],
    body: Callable[[JobRun], dict[str, Any]],
    force: bool = False,
    input_runs: list[str] | None = None,
) -> JobResult:
    """Skip when an identical run is committed (unless `force`); else run `body` and commit its counts.

    `input_runs` are the committed runs the job reads (its lineage, and what its commit may supersede).
    Any exception from `body` marks the run failed and removes its folders (see JobRun)."""
    with JobRun(catalog, job, payload, force=force, input_runs=input_runs) as run:
        if run.skipped:
            return JobResult(run.previous["run_id"], True, run.previous["counts"])
        return run.commit(body(run))


@dataclass(frozen=True)
class NothingNew:
    """Every input the job would read has been read by a current run with these settings: that run is
    returned, skipped. `why` says what was found."""

    latest_run: str
    why: str


@dataclass(frozen=True)
class StagePlan:
    """What a job with a local and a Spark body reads: its payload, the committed runs it reads (its
    lineage) and the bytes it reads (which choose the engine)."""

    payload: dict[str, Any]
    input_bytes: int
    input_runs: list[str] | None = None


def run_stage(
    catalog: Catalog,
    execution: Execution,
    job: str,
    plan: StagePlan | NothingNew,
    bodies: StageBodies,
    body: Callable[[JobRun, Body], dict[str, Any]],
    force: bool = False,
) -> JobResult:
    """`run_job` for a stage with two bodies: the chosen engine's body is handed to `body` with the run."""
    if isinstance(plan, NothingNew):
        log.info("%s: %s (latest run %s); nothing new", job, plan.why, plan.latest_run)
        return JobResult(plan.latest_run, True, catalog.run_counts(plan.latest_run))
    write = execution.body(job, plan.input_bytes, bodies)
    return run_job(catalog, job, plan.payload, lambda run: body(run, write), force, plan.input_runs)


def check_conserved(what: str, total: int, **parts: int) -> None:
    """Raise CountMismatch unless `total` equals the sum of `parts` (records in = records out)."""
    if total != sum(parts.values()):
        shown = " + ".join(f"{name} {count}" for name, count in parts.items())
        raise CountMismatch(f"{what}: {total} in, but {shown} = {sum(parts.values())} out")


JobBody = Callable[["SparkSession", TiersConfig, argparse.Namespace], "JobResult | dict[str, JobResult]"]


INGEST_RUN_OPTION = {
    "--ingest-run": {
        "action": "append",
        "help": "L0 run ids to read (default: the current L0 runs not yet filtered with these settings)",
    }
}


def job_main(
    description: str,
    run: JobBody,
    argv: list[str] | None = None,
    with_inputs: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Parse the shared job arguments plus `options` (flag -> argparse settings), start Spark (spark-submit
    decides the master), run, log the result."""
    from jobs.job_args import job_parser, parse_job_args
    from jobs.spark import get_spark

    parser = job_parser(description, with_inputs=with_inputs)
    for flag, settings in (options or {}).items():
        parser.add_argument(flag, **settings)
    try:
        args, config = parse_job_args(parser, argv)
        results = run(get_spark(config.spark), config, args)
    except (ConfigError, MissingInput) as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    for stage, result in (results if isinstance(results, dict) else {"job": results}).items():
        log.info(
            "%s %s as %s: %s",
            stage,
            "skipped (already committed)" if result.skipped else "committed",
            result.run_id,
            result.counts,
        )
    return EXIT_OK
