"""Multi-stage runs: `l0-to-l2` chains ingest, L0-to-L1 and L1-to-L2, each stage committed on its own.

A re-run skips every committed stage whose configuration and inputs are unchanged, so after a crash
the same command finishes the remaining stages. Runnable with spark-submit, like every job:
`spark-submit --py-files dist/tiers_pyfiles.zip jobs/pipeline.py l0-to-l2 --input PATH --root ROOT`.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

from typing import TYPE_CHECKING

from jobs.engine import Engine, session_of
from jobs.runner import JobResult
from tiers.config import TiersConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    SparkOrEngine = SparkSession | Engine

log = logging.getLogger(__name__)

StageWrapper = Callable[[str, Callable[[], JobResult]], JobResult]


def _plain(name: str, body: Callable[[], JobResult]) -> JobResult:
    return body()


def run_l0_to_l1(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
) -> dict[str, JobResult]:
    from jobs.ingest import run_ingest
    from jobs.l0_to_l1 import run_l1_filter_and_dedup

    results = {"ingest": wrap("ingest -> L0", lambda: run_ingest(spark, config, inputs, root, force=force))}
    results["l0_to_l1"] = wrap(
        "L0 -> L1", lambda: run_l1_filter_and_dedup(spark, config, root, [results["ingest"].run_id], force=force)
    )
    return results


def run_l0_to_l2(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
) -> dict[str, JobResult]:
    from jobs.l1_to_l2 import run_l1_to_l2

    results = run_l0_to_l1(spark, config, inputs, root, force=force, wrap=wrap)
    results["l1_to_l2"] = wrap(
        "L1 -> L2", lambda: run_l1_to_l2(spark, config, root, results["l0_to_l1"].run_id, force=force)
    )
    return results


def run_ingest_only(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
) -> dict[str, JobResult]:
    from jobs.ingest import run_ingest

    return {"ingest": wrap("ingest -> L0", lambda: run_ingest(spark, config, inputs, root, force=force))}


def run_l1_to_l2_stage(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
    l1_run: str | None = None,
) -> dict[str, JobResult]:
    """L2 from the given L1 run, or from every current L1 run (those already selected are skipped)."""
    from jobs.l1_to_l2 import run_l1_to_l2, run_l1_to_l2_current

    if l1_run:
        return {"l1_to_l2": wrap("L1 -> L2", lambda: run_l1_to_l2(spark, config, root, l1_run, force=force))}
    results = run_l1_to_l2_current(spark, config, root, force=force, wrap=wrap)
    return {f"l1_to_l2 {result.run_id}": result for result in results}


def run_l2_to_l3_stage(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
    l2_run: str | None = None,
    limit: int | None = None,
) -> dict[str, JobResult]:
    from jobs.l2_to_l3 import run_l2_to_l3

    return {
        "l2_to_l3": wrap(
            "L2 -> L3", lambda: run_l2_to_l3(session_of(spark), config, root, l2_run, force=force, limit=limit)
        )
    }


def run_l3_to_l4_stage(
    spark: "SparkOrEngine",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
    l3_run: str | None = None,
    limit: int | None = None,
) -> dict[str, JobResult]:
    from jobs.l3_to_l4 import run_l3_to_l4

    return {
        "l3_to_l4": wrap(
            "L3 -> L4", lambda: run_l3_to_l4(session_of(spark), config, root, l3_run, force=force, limit=limit)
        )
    }


CHAINS = {"l0-to-l1": run_l0_to_l1, "l0-to-l2": run_l0_to_l2}


def main(argv: list[str] | None = None) -> int:
    from jobs.skeleton import job_main

    return job_main(
        "Run a chain of stages: ingest, L0 to L1, L1 to L2.",
        lambda spark, config, args: CHAINS[args.chain](spark, config, args.input, args.root, force=args.force),
        argv,
        with_inputs=True,
        options={"chain": {"choices": sorted(CHAINS), "help": "which stages to run"}},
    )


if __name__ == "__main__":
    sys.exit(main())
