"""Where the near-dedup time goes, stage by stage, in one Spark session on the dense corpus.

Each stage is run to completion with Spark's `noop` sink, and its CPU-seconds are read from the
cgroup that `../shared/tools/cpusec.sh` puts the whole process tree in (JVM and Python workers
included); outside such a cgroup the machine's busy time is used. Stages are cumulative (a stage
recomputes the ones before it unless they are persisted), so each line also prints the increment.
Run: ../shared/tools/cpusec.sh .venv/bin/python -m bench.dedup_profile --corpus /tmp/tiers-bench/dense-1x.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.dedup import (
    candidate_edges,
    connected_components,
    exact_duplicates,
    exact_twins,
    near_assignments,
    near_duplicates,
    sketch_frame,
    text_hashes,
)
from jobs.spark import get_spark
from tiers.config import MinHashConfig, SparkConfig


def cpu_seconds() -> float:
    """CPU-seconds of this process's cpuacct cgroup, else the machine's busy time."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            usage = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/") / "cpuacct.usage"
            if usage.exists() and path != "/":
                return int(usage.read_text()) / 1e9
    fields = list(map(int, Path("/proc/stat").read_text().split("\n")[0].split()[1:8]))
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")


def to_parquet(corpus: str, out: Path) -> int:
    ids, texts = [], []
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            ids.append(doc["id"])
            texts.append(doc["text"])
    pq.write_table(pa.table({"doc_id": ids, "text": texts, "source": ["bench"] * len(ids)}), out)
    return len(ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/tmp/tiers-bench/dense-1x.jsonl.gz")
    parser.add_argument("--set", action="append", default=[], help="MinHashConfig field=value (JSON value)")
    args = parser.parse_args()
    fields = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    config = MinHashConfig(**fields)
    work = Path(tempfile.mkdtemp(prefix="tiers-dedup-profile-"))
    n = to_parquet(args.corpus, work / "docs.parquet")
    t0, c0 = time.perf_counter(), cpu_seconds()
    spark = get_spark(SparkConfig(master="local[2]"))
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    last = cpu_seconds()
    print(f"{n} docs; spark session start  cpu {last - c0:6.2f}s")
    docs = spark.read.parquet(str(work / "docs.parquet"))
    stages = [
        ("read texts", lambda: docs),
        ("exact dedup", lambda: exact_duplicates(exact_twins(text_hashes(docs)))),
        ("signatures", lambda: sketch_frame(docs, config)),
        ("candidate edges", lambda: candidate_edges(sketch_frame(docs, config))),
        (
            "candidate components",
            lambda: connected_components(spark, candidate_edges(sketch_frame(docs, config))),
        ),
        (
            "near dedup drops",
            lambda: near_duplicates(near_assignments(spark, config, sketch_frame(docs, config)), docs),
        ),
    ]
    previous = 0.0
    for name, build in stages:
        start = cpu_seconds()
        build().write.format("noop").mode("overwrite").save()
        spent = cpu_seconds() - start
        print(f"{name:22s} cpu {spent:6.2f}s  (+{spent - previous:6.2f}s over the stage before)")
        previous = spent if name not in ("read texts", "exact dedup") else previous
    print(f"total cpu {cpu_seconds() - c0:6.2f}s  wall {time.perf_counter() - t0:6.1f}s")


if __name__ == "__main__":
    main()
