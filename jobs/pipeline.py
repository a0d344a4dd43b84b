"""Multi-stage runs: `l0-to-l2` chains ingest, L0-to-L1 and L1-to-L2, each stage committed on its own.

A re-run skips every committed stage whose configuration and inputs are unchanged, so after a crash
the same command finishes the remaining stages. Runnable with spark-submit, like every job:
`spark-submit --py-files dist/tiers_pyfiles.zip jobs/pipeline.py l0-to-l2 --input PATH --root ROOT`.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Callable

from jobs.engine import Execution, session_of
from jobs.runner import JobResult
from tiers.config import TiersConfig
from tiers.names import INGEST, L2_TO_L3, L3_TO_L4

L1_TO_L2 = "l1_to_l2"
"""Scoring and selection (jobs l2_score and l2_select) as one step of a chain."""

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    ExecutionOrSession = Execution | SparkSession

log = logging.getLogger(__name__)

StageWrapper = Callable[[str, Callable[[], JobResult]], JobResult]


def _plain(name: str, body: Callable[[], JobResult]) -> JobResult:
    return body()


def run_l0_to_l1(
    execution: "ExecutionOrSession",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
) -> dict[str, JobResult]:
    from jobs.ingest import run_ingest
    from jobs.l0_to_l1 import run_l1_filter_and_dedup

    results = {INGEST: wrap("ingest -> L0", lambda: run_ingest(execution, config, inputs, root, force=force))}
    results["l0_to_l1"] = wrap(
        "L0 -> L1", lambda: run_l1_filter_and_dedup(execution, config, root, [results[INGEST].run_id], force=force)
    )
    return results


def run_l0_to_l2(
    execution: "ExecutionOrSession",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
) -> dict[str, JobResult]:
    from jobs.l1_to_l2 import run_l1_to_l2

    results = run_l0_to_l1(execution, config, inputs, root, force=force, wrap=wrap)
    results[L1_TO_L2] = wrap(
        "L1 -> L2", lambda: run_l1_to_l2(execution, config, root, results["l0_to_l1"].run_id, force=force)
    )
    return results


def run_stage(
    stage: str,
    execution: "ExecutionOrSession",
    config: TiersConfig,
    inputs: list[str],
    root: str,
    force: bool = False,
    wrap: StageWrapper = _plain,
    run: str | None = None,
    limit: int | None = None,
) -> dict[str, JobResult]:
    """One stage of the CLI's `tiers ingest` / `tiers run STAGE`: `run` is the input run (default: the
    current ones), `limit` the first documents of an LLM stage. Without `run`, L1 -> L2 runs for every
    current L1 run (those already selected are skipped)."""
    if stage == INGEST:
        from jobs.ingest import run_ingest

        return {INGEST: wrap("ingest -> L0", lambda: run_ingest(execution, config, inputs, root, force=force))}
    if stage == L1_TO_L2:
        from jobs.l1_to_l2 import run_l1_to_l2, run_l1_to_l2_current

        if run:
            return {L1_TO_L2: wrap("L1 -> L2", lambda: run_l1_to_l2(execution, config, root, run, force=force))}
        results = run_l1_to_l2_current(execution, config, root, force=force, wrap=wrap)
        return {f"{L1_TO_L2} {result.run_id}": result for result in results}
    if stage == L2_TO_L3:
        from jobs.l2_to_l3 import run_l2_to_l3 as run_llm_stage

        name = "L2 -> L3"
    elif stage == L3_TO_L4:
        from jobs.l3_to_l4 import run_l3_to_l4 as run_llm_stage

        name = "L3 -> L4"
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return {
        stage: wrap(name, lambda: run_llm_stage(session_of(execution), config, root, run, force=force, limit=limit))
    }


CHAINS = {"l0-to-l1": run_l0_to_l1, "l0-to-l2": run_l0_to_l2}


def main(argv: list[str] | None = None) -> int:
    from jobs.skeleton import job_main

    return job_main(
        "Run a chain of stages: ingest, L0 to L1, L1 to L2.",
        lambda session, config, args: CHAINS[args.chain](session, config, args.input, args.root, force=args.force),
        argv,
        with_inputs=True,
        options={"chain": {"choices": sorted(CHAINS), "help": "which stages to run"}},
    )


if __name__ == "__main__":
    sys.exit(main())
