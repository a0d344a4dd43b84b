"""L0 ingest: read WARC, WET, JSONL and Parquet into L0 Parquet plus quarantine, with a manifest and
the byte coverage of every file. What to read, the payload and the checks are here; the bodies that
read and write are `jobs/ingest_spark.py` (inside executors) and `jobs/ingest_local.py` (this process).

Runnable with spark-submit: `spark-submit jobs/ingest.py --input PATH --root DATA_ROOT`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING

from jobs.engine import Body, Execution, StageBodies, execution_of
from jobs.parquet_folder import folder_files, read_files
from jobs.runner import CountMismatch, JobResult, JobRun, parquet_stats
from jobs.skeleton import NothingNew, StagePlan, check_conserved, job_main, run_stage
from jobs.stage_inputs import IngestInputs
from tiers.catalog import Catalog
from tiers.config import TiersConfig
from tiers.io.coverage import FileVerdict, file_verdict, spans_of
from tiers.io.formats import InputFile, list_inputs
from tiers.io.readers import display_path
from tiers.names import INGEST, L0

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

JOB = INGEST
FileKey = tuple[str, int, float]


def file_key(path: str, size: int) -> FileKey:
    """What identifies a file version in a run's payload: its display path, size and modification time."""
    return display_path(path), size, os.path.getmtime(path)


def ingested_files(catalog: Catalog, settings: dict) -> dict[FileKey, tuple[int, str]]:
    """File versions that current committed ingest runs with these settings have read -> (the run's
    position, oldest first; the run)."""
    if not catalog.path.exists():
        return {}
    return {
        tuple(entry): (position, run_id)
        for position, (run_id, _, payload) in enumerate(catalog.current_runs(JOB))
        if payload.get("ingest") == settings
        for entry in payload.get("inputs", [])
    }


INGEST_BODIES = StageBodies(
    local=lambda: importlib.import_module("jobs.ingest_local").write_ingest_outputs,
    spark=lambda: importlib.import_module("jobs.ingest_spark").write_ingest_outputs,
)


def plan_ingest(
    catalog: Catalog, config: TiersConfig, files: list[InputFile], force: bool
) -> tuple[StagePlan | NothingNew, list[InputFile]]:
    """The plan and the files to read: those no current run with the same settings has read (all of
    them with `force`)."""
    settings = config.ingest.model_dump(mode="json")
    keys = {f.path: file_key(f.path, f.size) for f in files}
    if not force:
        done = ingested_files(catalog, settings)
        new = [f for f in files if keys[f.path] not in done]
        if not new:
            latest = max(done[keys[f.path]] for f in files)[1]
            return NothingNew(latest, f"all {len(files)} input files were read by current runs"), []
        if len(new) < len(files):
            log.info(
                "%s: %d of %d input files were read by current runs; reading the other %d",
                JOB,
                len(files) - len(new),
                len(files),
                len(new),
            )
        files = new
    payload = {"ingest": settings, "inputs": [keys[f.path] for f in files]}
    return StagePlan(payload, sum(f.size for f in files)), files


def run_ingest(
    execution: "Execution | SparkSession", config: TiersConfig, inputs: list[str], root: str, force: bool = False
) -> JobResult:
    """Ingest the input files into L0, on Spark or in this process (jobs/engine.py). Files that a current
    run with the same settings has read (same path, size and modification time) are not read again unless
    `force`: a folder that gains a new snapshot's files costs only those files; with nothing new, the
    latest such run is returned, skipped."""
    listing = list_inputs(inputs, data_root=root)
    catalog = Catalog(root)
    plan, files = plan_ingest(catalog, config, listing.files, force)

    def body(run: JobRun, write: Body[IngestInputs, tuple[dict[str, int], dict[str, FileVerdict] | None]]) -> dict:
        # L0 documents this run does not replace: a re-run over the same inputs supersedes its earlier run
        existing = [
            o.path
            for o in catalog.committed_outputs(kind=L0, current_only=True)
            if catalog.run_scope(o.run_id) != run.scope()
        ]
        written, verdicts = write(IngestInputs(config, files, existing), run)
        counts = check_counts(
            run, already_in_l0=sum(written.values()) - _quarantined(run) - parquet_stats(run.stage(L0))[0]
        )
        if counts["already_in_l0"]:
            log.info(
                "ingest: %d documents are already in L0 (the same ids from an earlier run); not added again",
                counts["already_in_l0"],
            )
        counts.update(check_file_coverage(run, {display_path(f.path): f.size for f in files}, written, verdicts))
        if listing.ignored:
            counts["inputs_ignored"] = {display_path(path): why for path, why in listing.ignored.items()}
        return counts

    return run_stage(catalog, execution_of(execution, config), JOB, plan, INGEST_BODIES, body, force)


def _quarantined(run: JobRun) -> int:
    return parquet_stats(run.stage("quarantine"))[0]


def check_counts(run: JobRun, already_in_l0: int = 0) -> dict[str, int]:
    """Records the readers saw must equal L0 rows plus quarantine rows plus documents already in L0."""
    manifest = read_files(folder_files([run.stage("ingest_manifest")]), columns=["records", "skipped", "file"])
    seen = sum(manifest.column("records").to_pylist())
    l0_rows, _ = parquet_stats(run.stage(L0, tier=L0))
    quarantined = _quarantined(run)
    counts = {
        "files": manifest.num_rows,
        "records_in": seen,
        "skipped_non_documents": sum(manifest.column("skipped").to_pylist()),
        "l0": l0_rows,
        "quarantine": quarantined,
        "already_in_l0": already_in_l0,
    }
    check_conserved("ingest records", seen, l0=l0_rows, quarantine=quarantined, already_in_l0=already_in_l0)
    return counts


def check_file_coverage(
    run: JobRun, sizes: dict[str, int], written: dict[str, int], verdicts: dict[str, FileVerdict] | None = None
) -> dict[str, int]:
    """The independent check: each listed file's spans tile its bytes (the size the driver listed) and
    account for exactly the L0 plus quarantine rows the job wrote for it. `verdicts` (per file) come from
    the body that checked them where the spans are (Spark's executors); without them the coverage table
    is read here."""
    if verdicts is None:
        spans = spans_of(read_files(folder_files([run.stage("ingest_coverage")])))
        verdicts = {
            file: file_verdict(file_spans, sizes.get(file, 0), written.get(file, 0))
            for file, file_spans in spans.items()
        }
    problems = [f"{file}: no coverage (the file was not read)" for file in sizes if file not in verdicts]
    problems += [
        f"{file}: rows for a file that was not listed" for file in set(written) | set(verdicts) if file not in sizes
    ]
    problems += [f"{file}: {p}" for file in sizes if file in verdicts for p in verdicts[file].problems]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise CountMismatch(
            f"ingest byte coverage failed for {len({p.split(': ')[0] for p in problems})} file(s): {shown}"
        )
    return {
        "bytes_in": sum(sizes.values()),
        "bytes_ignored": sum(v.bytes_ignored for v in verdicts.values()),
        "bytes_quarantined": sum(v.bytes_quarantined for v in verdicts.values()),
    }


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Ingest raw crawl files into L0.",
        lambda session, config, args: run_ingest(session, config, args.input, args.root, force=args.force),
        argv,
        with_inputs=True,
    )


if __name__ == "__main__":
    sys.exit(main())
