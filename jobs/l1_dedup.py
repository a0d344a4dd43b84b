"""L1, second half: exact and MinHash near-duplicate dedup of the documents that passed the operators.

Reads one committed `l1_filter` output, writes L1, a drop record per duplicate (with the kept id) and
the run's dedup index (`dedup_index`: doc_id, text_hash, signature, band keys, shingle set and kept_id of every
document it read: kept_id is the document itself when kept, else the L1 document it was dropped for).
The new documents are deduplicated among themselves and against the current dedup indexes of the other
L1 runs (earlier snapshots), so a new snapshot costs what it holds and a document already in L1 stays
there while its new copy is dropped. A run whose scope covers an earlier one (a rebuild) ignores that
one's index and supersedes it.
Runnable with spark-submit: `spark-submit jobs/l1_dedup.py --root DATA_ROOT [--filter-run RUN_ID]`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import TYPE_CHECKING

from jobs.engine import Body, Execution, StageBodies, execution_of
from jobs.runner import JobResult, JobRun, parquet_stats
from jobs.skeleton import MissingInput, StagePlan, check_conserved, job_main, run_stage
from jobs.stage_inputs import DedupInputs
from tiers.catalog import Catalog
from tiers.config import TiersConfig
from tiers.schemas import DEDUP_INDEX as INDEX
from tiers.names import L1, L1_DEDUP

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

JOB = L1_DEDUP


def filtered_path(catalog: Catalog, filter_run: str | None) -> tuple[str, str]:
    """(path, run id) of the given committed l1_filter output, or of the latest."""
    output = catalog.output_of("filtered", filter_run)
    if output is None:
        raise MissingInput(f"no committed l1_filter output in {catalog.root} for run {filter_run or 'any'}")
    return output.path, output.run_id


def reference_indexes(catalog: Catalog, scope: list[str]) -> list[str]:
    """Paths of the current dedup indexes of the L1 runs that a run over `scope` does not replace."""
    paths = []
    for output in catalog.committed_outputs(kind=L1, current_only=True):
        if set(catalog.run_scope(output.run_id)) <= set(scope):
            continue
        index = catalog.output_of(INDEX, output.run_id)
        if index is None:
            log.warning("L1 run %s has no dedup index; new documents are not deduplicated against it", output.run_id)
        elif index.rows:
            paths.append(index.path)
    return paths


def warn_flags(evidence: dict) -> None:
    """Say in the log what the summary flags: large components, sources losing a large share, capped work."""
    for component in evidence.get("large_components", []):
        log.warning("dedup: component %s holds %d documents", component["component"], component["size"])
    for flagged in evidence.get("sources_flagged", []):
        kind = "domain" if "domain" in flagged else "source"
        log.warning(
            "dedup: %s %s loses %d of its %d documents (%.0f %%)",
            kind,
            flagged[kind],
            flagged["dropped"],
            flagged["documents"],
            100 * flagged["share"],
        )
    if evidence.get("capped_documents"):
        log.warning(
            "dedup: %d documents in %d components were kept unresolved: l1.dedup.minhash.max_cluster_comparisons "
            "was reached",
            evidence["capped_documents"],
            evidence["capped_components"],
        )


DEDUP_BODIES = StageBodies(
    local=lambda: importlib.import_module("jobs.l1_dedup_local").write_dedup_outputs,
    spark=lambda: importlib.import_module("jobs.l1_dedup_spark").write_dedup_outputs,
)


def run_l1_dedup(
    execution: "Execution | SparkSession",
    config: TiersConfig,
    root: str,
    filter_run: str | None = None,
    force: bool = False,
) -> JobResult:
    catalog = Catalog(root)
    with catalog.session():
        source, source_run = filtered_path(catalog, filter_run)
        references = reference_indexes(catalog, catalog.scope_of([source_run]))
    payload = {"dedup": config.l1.dedup.model_dump(mode="json"), "filtered": source, "against": references}
    rows_in, bytes_in = parquet_stats(source)

    def body(run: JobRun, write: Body[DedupInputs, dict]) -> dict:
        evidence = write(DedupInputs(config, source, bytes_in, references), run)
        warn_flags(evidence)
        l1_rows, _ = parquet_stats(run.stage(L1, tier=L1))
        dropped, _ = parquet_stats(run.stage("drops"))
        indexed, _ = parquet_stats(run.stage(INDEX))
        check_conserved("L1 dedup", rows_in, l1=l1_rows, duplicates=dropped)
        check_conserved("L1 dedup index", rows_in, indexed=indexed)
        return {
            "filtered_in": rows_in,
            "l1": l1_rows,
            "dropped": dropped,
            "filter_run": source_run,
            "deduplicated_against": len(references),
            "dedup": evidence,
        }

    plan = StagePlan(payload, bytes_in, [source_run])
    return run_stage(catalog, execution_of(execution, config), JOB, plan, DEDUP_BODIES, body, force)


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Deduplicate the filtered documents into L1 (the second half of L0 to L1).",
        lambda session, config, args: run_l1_dedup(session, config, args.root, args.filter_run, force=args.force),
        argv,
        options={"--filter-run": {"help": "l1_filter run id (default: the latest current)"}},
    )


if __name__ == "__main__":
    sys.exit(main())
