"""Where ingest's CPU goes: the steps of jobs/ingest.run_ingest one at a time in one local[2] session.

CPU-seconds per step are summed over this process tree (driver, JVM, Python workers) from /proc.
Run on the input folder that bench/ingest.py builds, e.g.:
  python -m bench.ingest_profile /tmp/tiers-bench-ingest-XXXX/input
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import functions as F

import jobs.ingest_rows as ingest
from tiers.io.coverage import COVERAGE
from jobs.spark import get_spark
from jobs.spark_schema import spark_ddl
from tiers import schemas
from tiers.config import load_config
from tiers.io.formats import expand_inputs

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(stat: str) -> tuple[int, float]:
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK


def tree_cpu(root: int = os.getpid()) -> float:
    """CPU-seconds of `root` and every live descendant (plus reaped children's, through cutime/cstime)."""
    children: dict[int, list[tuple[int, float]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent, cpu = _cpu_of((entry / "stat").read_text())
            except OSError:
                continue
            children.setdefault(parent, []).append((int(entry.name), cpu))
    total = _cpu_of(Path(f"/proc/{root}/stat").read_text())[1]
    stack = [root]
    while stack:
        for pid, cpu in children.get(stack.pop(), []):
            total += cpu
            stack.append(pid)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    args = parser.parse_args()
    last = tree_cpu()

    def mark(label: str) -> None:
        nonlocal last
        now = tree_cpu()
        print(f"{label:44s} {now - last:6.1f} CPU-s", flush=True)
        last = now

    config = load_config(None, ["spark.master=local[2]"])
    spark = get_spark(config.spark)
    spark.range(10).count()
    mark("session start")
    files = expand_inputs([args.input])
    listed = [(bytearray(os.fsencode(f.path)), f.format) for f in sorted(files, key=lambda f: -f.size)]
    frame = spark.sparkContext.parallelize(listed, numSlices=4).toDF("path binary, format string")
    options = config.ingest
    parsed = frame.mapInArrow(
        lambda batches: ingest.ingest_files(batches, options, "profile"), spark_ddl(ingest.INGEST_ROWS)
    )
    print(f"{parsed.count()} rows")
    mark("read files, rows to the JVM (count)")
    rows = parsed.persist(StorageLevel.DISK_ONLY)
    rows.count()
    mark("the same again, persisted DISK_ONLY")
    out = Path(tempfile.mkdtemp(prefix="tiers-ingest-profile-"))
    outcome = F.col(schemas.OUTCOME)
    rows.filter(outcome == "l0").select(*schemas.L0.names).write.option(
        "parquet.block.size", ingest.ROW_GROUP_BYTES
    ).parquet(str(out / "L0"))
    mark("L0 write")
    rows.filter(outcome == "quarantine").select(*schemas.QUARANTINE.names).write.parquet(str(out / "quarantine"))
    rows.filter(outcome == "manifest").select(*schemas.INGEST_MANIFEST.names).coalesce(1).write.parquet(
        str(out / "manifest")
    )
    rows.filter(outcome == "coverage").select(*COVERAGE.names).coalesce(1).write.parquet(str(out / "coverage"))
    mark("quarantine, manifest and coverage writes")
    rows.filter(outcome.isin("l0", "quarantine")).groupBy("file").count().collect()
    mark("per-file counts for the coverage check")
    spark.stop()
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
