"""L0 to L1 in two committed jobs: `l1_filter` (operators) then `l1_dedup` (exact and near dedup).

Every L0 document ends in L1 or in drops (of one job or the other). A re-run skips a committed half,
so a crash in dedup, or a new dedup setting, does not re-run the operators.
Runnable with spark-submit: `spark-submit jobs/l0_to_l1.py --root DATA_ROOT [--ingest-run RUN_ID ...]`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from jobs.l1_dedup import run_l1_dedup
from jobs.l1_filter import run_l1_filter
from jobs.runner import JobResult
from jobs.skeleton import INGEST_RUN_OPTION, check_conserved, job_main
from tiers.config import TiersConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from jobs.engine import Execution


def run_l1_filter_and_dedup(
    execution: "Execution | SparkSession",
    config: TiersConfig,
    root: str,
    ingest_runs: list[str] | None = None,
    force: bool = False,
) -> JobResult:
    """Both halves; the result is the dedup job's, with counts for the whole promotion."""
    filtered = run_l1_filter(execution, config, root, ingest_runs, force=force)
    deduped = run_l1_dedup(execution, config, root, filtered.run_id, force=force)
    counts = {
        **deduped.counts,
        "l0_in": filtered.counts["l0_in"],
        "operators": filtered.counts["operators"],
        "filter_dropped": filtered.counts["dropped"],
        "dedup_dropped": deduped.counts["dropped"],
        "dropped": filtered.counts["dropped"] + deduped.counts["dropped"],
        "filter_run": filtered.run_id,
        "filter_skipped": filtered.skipped,
    }
    check_conserved("L0 to L1", counts["l0_in"], l1=counts["l1"], dropped=counts["dropped"])
    return JobResult(deduped.run_id, filtered.skipped and deduped.skipped, counts, deduped.outputs)


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Clean, filter and deduplicate L0 into L1.",
        lambda session, config, args: run_l1_filter_and_dedup(
            session, config, args.root, args.ingest_run, force=args.force
        ),
        argv,
        options=INGEST_RUN_OPTION,
    )


if __name__ == "__main__":
    sys.exit(main())
