"""The one engine seam (jobs/engine.py, jobs/skeleton.py): a stage's body is chosen once, before its run
exists; a job with nothing new to read returns the run that read it, skipped. No Spark: the engine is local."""

from __future__ import annotations

from pathlib import Path

from jobs.engine import Execution, StageBodies
from jobs.runner import JobRun
from jobs.skeleton import NothingNew, StagePlan, run_stage
from tiers.catalog import Catalog
from tiers.config import load_config


def _spark_body_must_not_load():
    raise AssertionError("the Spark body was loaded for a local stage")


def test_a_local_stage_runs_the_local_body_and_nothing_new_returns_its_run(tmp_path):
    execution = Execution(load_config(None, ["engine.kind=local"]))
    catalog = Catalog(tmp_path)
    called: list[tuple[str, str]] = []

    def local_body(inputs: str, run: JobRun) -> int:
        Path(run.stage("marks")).mkdir(parents=True)
        called.append((inputs, run.run_id))
        return 7

    bodies = StageBodies(local=lambda: local_body, spark=_spark_body_must_not_load)

    def body(run: JobRun, write) -> dict:
        return {"written": write("the inputs", run)}

    first = run_stage(catalog, execution, "seam_test", StagePlan({"p": 1}, 10), bodies, body)
    assert not first.skipped and first.counts == {"written": 7}
    assert called == [("the inputs", first.run_id)]
    assert not execution.spark_started

    again = run_stage(catalog, execution, "seam_test", NothingNew(first.run_id, "everything read"), bodies, body)
    assert (again.run_id, again.skipped, again.counts) == (first.run_id, True, {"written": 7})
    assert len(called) == 1, "nothing new must not run the body"

    same = run_stage(catalog, execution, "seam_test", StagePlan({"p": 1}, 10), bodies, body)
    assert same.skipped and same.run_id == first.run_id and len(called) == 1
