"""L1, first half: the operators (cleaning, heuristic filters, language ID, PII) over Arrow batches, inside
Spark's mapInArrow (`jobs/l1_filter_spark.py`) or in this process (`jobs/l1_filter_local.py`).

Commits the documents that pass every operator (output kind `filtered`, not yet a tier) and a drop
record for each one that does not; `jobs/l1_dedup.py` then deduplicates `filtered` into L1. Split in
two committed jobs, a crash in dedup or a new dedup setting re-runs only dedup.
Runnable with spark-submit: `spark-submit jobs/l1_filter.py --root DATA_ROOT [--ingest-run RUN_ID ...]`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import TYPE_CHECKING

from jobs.engine import Body, Execution, StageBodies, execution_of
from jobs.runner import JobResult, JobRun, parquet_stats
from jobs.skeleton import INGEST_RUN_OPTION, MissingInput, NothingNew, StagePlan, check_conserved, job_main, run_stage
from jobs.stage_inputs import FilterInputs
from tiers.catalog import Catalog, OutputRecord
from tiers.config import TiersConfig
from tiers.names import L0, L1_FILTER

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

JOB = L1_FILTER


def l0_outputs(catalog: Catalog, ingest_runs: list[str] | None, settings: dict) -> list[OutputRecord]:
    """The given committed L0 runs' outputs; else the current L0 outputs that no current l1_filter run
    with these settings has read (after a new snapshot is ingested, only that snapshot). Empty when
    there is nothing new."""
    if ingest_runs:
        outputs = [o for o in catalog.committed_outputs(kind=L0) if o.run_id in set(ingest_runs)]
        if not outputs:
            raise MissingInput(f"no committed L0 output in {catalog.root} for runs {ingest_runs}")
        return outputs
    current = catalog.committed_outputs(kind=L0, current_only=True)
    if not current:
        raise MissingInput(f"no committed L0 output in {catalog.root}: run `tiers run ingest` first")
    consumed = catalog.consumed_inputs(JOB, settings)
    return [o for o in current if o.run_id not in consumed]


FILTER_BODIES = StageBodies(
    local=lambda: importlib.import_module("jobs.l1_filter_local").write_filter_outputs,
    spark=lambda: importlib.import_module("jobs.l1_filter_spark").write_filter_outputs,
)


def run_l1_filter(
    execution: "Execution | SparkSession",
    config: TiersConfig,
    root: str,
    ingest_runs: list[str] | None = None,
    force: bool = False,
) -> JobResult:
    catalog = Catalog(root)
    settings = {
        "steps": [s.model_dump(mode="json") for s in config.l1.steps],
        "operator_modules": config.l1.operator_modules,
    }
    with catalog.session():
        l0 = l0_outputs(catalog, ingest_runs, settings)
        latest = None if l0 else catalog.latest_committed_run(JOB)
    inputs = [o.path for o in l0]
    stats = [parquet_stats(p) for p in inputs]
    l0_rows, l0_bytes = sum(r for r, _ in stats), sum(b for _, b in stats)
    plan = (
        StagePlan({"settings": settings, "inputs": inputs}, l0_bytes, [o.run_id for o in l0])
        if l0
        else NothingNew(latest, "every current L0 run has been filtered with these settings")
    )

    def body(run: JobRun, write: Body[FilterInputs, dict[str, dict]]) -> dict:
        operators = write(FilterInputs(config, inputs, l0_bytes), run)
        kept, _ = parquet_stats(run.stage("filtered"))
        dropped, _ = parquet_stats(run.stage("drops"))
        check_conserved("L1 operators", l0_rows, kept=kept, dropped=dropped)
        return {"l0_in": l0_rows, "kept": kept, "dropped": dropped, "operators": operators}

    return run_stage(catalog, execution_of(execution, config), JOB, plan, FILTER_BODIES, body, force)


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Run the L1 operators over L0 (the first half of L0 to L1).",
        lambda session, config, args: run_l1_filter(session, config, args.root, args.ingest_run, force=args.force),
        argv,
        options=INGEST_RUN_OPTION,
    )


if __name__ == "__main__":
    sys.exit(main())
