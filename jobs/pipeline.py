"""Multi-stage runs: `l0-to-l2` chains ingest, L0-to-L1 and L1-to-L2, each stage committed on its own.

A re-run skips every committed stage whose configuration and inputs are unchanged, so after a crash
the same command finishes the remaining stages. Runnable with spark-submit, like every job:
`spark-submit --py-files dist/tiers_pyfiles.zip jobs/pipeline.py l0-to-l2 --input PATH --root ROOT`.
"""
from __future__ import annotations

import logging
import sys
from typing import Callable

from pyspark.sql import SparkSession

from jobs.runner import JobResult
from tiers.config import TiersConfig

log = logging.getLogger(__name__)

StageWrapper = Callable[[str, Callable[[], JobResult]], JobResult]


def _plain(name: str, body: Callable[[], JobResult]) -> JobResult:
    return body()


def run_l0_to_l1(spark: SparkSession, config: TiersConfig, inputs: list[str], root: str, force: bool = False,
                 wrap: StageWrapper = _plain) -> dict[str, JobResult]:
    from jobs.ingest import run_ingest
    from jobs.l0_to_l1 import run_l0_to_l1 as l1_stage

    results = {"ingest": wrap("ingest -> L0", lambda: run_ingest(spark, config, inputs, root, force=force))}
    results["l0_to_l1"] = wrap("L0 -> L1", lambda: l1_stage(spark, config, root, [results["ingest"].run_id], force=force))
    return results


def run_l0_to_l2(spark: SparkSession, config: TiersConfig, inputs: list[str], root: str, force: bool = False,
                 wrap: StageWrapper = _plain) -> dict[str, JobResult]:
    from jobs.l1_to_l2 import run_l1_to_l2

    results = run_l0_to_l1(spark, config, inputs, root, force=force, wrap=wrap)
    results["l1_to_l2"] = wrap("L1 -> L2", lambda: run_l1_to_l2(spark, config, root, results["l0_to_l1"].run_id, force=force))
    return results


CHAINS = {"l0-to-l1": run_l0_to_l1, "l0-to-l2": run_l0_to_l2}


def main(argv: list[str] | None = None) -> int:
    from jobs.job_args import job_parser, parse_job_args
    from jobs.spark import get_spark

    parser = job_parser("Run a chain of stages: ingest, L0 to L1, L1 to L2.")
    parser.add_argument("chain", choices=sorted(CHAINS), help="which stages to run")
    args, config = parse_job_args(parser, argv)
    results = CHAINS[args.chain](get_spark(config.spark), config, args.input, args.root, force=args.force)
    for stage, result in results.items():
        log.info("%s %s as %s: %s", stage, "skipped" if result.skipped else "committed", result.run_id, result.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
