"""A few hundred corrupted files through the real ingest job in one run.

The generator (`tests/fuzz/corrupt.py`) knows which records it left untouched; every one of them must
reach L0, nothing else may appear there beyond the records whose fate the damage leaves open, and
every file with damage that must be quarantined has quarantine rows naming the file. The job itself
checks byte coverage before it commits. A larger batch:

    TIERS_FUZZ_COUNT=1000 TIERS_FUZZ_SEED=3 .venv/bin/python -m pytest -q tests/integration/test_fuzz_ingest.py
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import pyarrow.dataset as ds
import pytest

from tests.helpers import SHARED_DATA, TEST_OVERRIDES

COUNT = int(os.environ.get("TIERS_FUZZ_COUNT", "200"))
SEED = int(os.environ.get("TIERS_FUZZ_SEED", "20240610"))

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA / "dolma-test-samples").exists(), reason=f"shared samples missing at {SHARED_DATA}"
)


@pytest.fixture(scope="module", params=["spark", "local"])
def fuzz_run(spark, tmp_path_factory, request):
    """The same corrupted files through the Spark engine and through the local engine."""
    from jobs.engine import Execution
    from jobs.ingest import run_ingest
    from tests.fuzz.corrupt import MAX_RECORD_BYTES, generate
    from tiers.config import load_config

    files = tmp_path_factory.mktemp("fuzz") / "files"
    truths = generate(files, SEED, COUNT)
    config = load_config(
        None, TEST_OVERRIDES + [f"ingest.max_record_bytes={MAX_RECORD_BYTES}", f"engine.kind={request.param}"]
    )
    root = tmp_path_factory.mktemp("fuzz-root")
    result = run_ingest(Execution(config, spark if request.param == "spark" else None), config, [str(files)], str(root))
    l0 = ds.dataset(result.outputs["L0"], format="parquet").to_table(columns=["file", "metadata", "text"]).to_pylist()
    quarantine = ds.dataset(result.outputs["quarantine"], format="parquet").to_table().to_pylist()
    return truths, result, l0, quarantine


def l0_key(row: dict) -> str | None:
    metadata = json.loads(row["metadata"])
    return metadata.get("fuzz_key") or metadata.get("warc_record_id")


def test_every_untouched_record_reaches_l0_and_the_rest_is_quarantined(fuzz_run):
    truths, result, l0, quarantine = fuzz_run
    keys, counts = defaultdict(set), defaultdict(int)
    for row in l0:
        keys[row["file"]].add(l0_key(row))
        counts[row["file"]] += 1
    quarantined = defaultdict(list)
    for row in quarantine:
        quarantined[row["file"]].append(row)
    problems = []
    for truth in truths:
        missing = set(truth.intact) - keys[truth.name]
        if missing:
            problems.append(f"{truth.name} {truth.damage}: {len(missing)} untouched records not in L0")
        if counts[truth.name] > len(truth.intact) + truth.unknown:
            problems.append(
                f"{truth.name} {truth.damage}: {counts[truth.name]} L0 rows for {len(truth.intact)} untouched + {truth.unknown} damaged records"
            )
        if truth.bad and not quarantined[truth.name]:
            problems.append(f"{truth.name} {truth.damage}: {truth.bad} damaged units but no quarantine row")
    assert problems == [], "\n".join(problems[:20])
    assert sum(len(t.intact) for t in truths) > 5 * COUNT  # the batch holds real records, not only damage
    assert sum(1 for t in truths if t.bad) > COUNT // 4


def test_quarantine_rows_name_a_generated_file_and_an_error(fuzz_run):
    truths, _, _, quarantine = fuzz_run
    names = {t.name for t in truths}
    assert quarantine
    for row in quarantine:
        assert row["file"] in names and row["error_type"]
        assert row["error"].startswith(f"{row['file']}, offset {row['offset']}")


def test_the_job_checked_coverage_of_every_byte(fuzz_run):
    truths, result, l0, quarantine = fuzz_run
    assert result.counts["files"] == len(truths)
    assert result.counts["l0"] == len(l0) and result.counts["quarantine"] == len(quarantine)
    sizes = {}
    for row in ds.dataset(result.outputs["ingest_coverage"], format="parquet").to_table().to_pylist():
        if row["layer"] == "raw":
            sizes[row["file"]] = max(sizes.get(row["file"], 0), row["end"])
    listed = {t.name: os.path.getsize(t.path) for t in truths}
    assert sizes == listed
    assert result.counts["bytes_in"] == sum(listed.values())
