"""Where the Spark dedup body's CPU goes, step by step, on one committed `l1_filter` output.

Runs the steps of `jobs/l1_dedup_spark.write_dedup_outputs` in its order, each materialized before the
next (checkpoint or write), and prints the CPU-seconds each step added to the whole process
tree (the cgroup `../shared/tools/cpusec.sh` starts it in: driver, JVM and Python workers). Run it on the
`filtered` output of two sizes of the same corpus and subtract: that is each step's cost at the margin.
Materializing adds a little work the body does not do (a count per step), the same at both sizes.
Run: ../shared/tools/cpusec.sh .venv/bin/python -m bench.dedup_steps --filtered /tmp/p16/filtered/l1_filter-*
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import tempfile

from bench.spark_margin import cgroup_cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--filtered", required=True, help="a committed l1_filter output folder (glob allowed)")
    parser.add_argument("--set", action="append", default=[], help="config override section.key=value")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    started = cgroup_cpu_seconds()
    from pyspark.sql import functions as F

    from jobs import dedup
    from jobs.l1_dedup_spark import index_rows, l1_rows
    from jobs.spark import computed_once, get_spark, partitions_for
    from jobs.tokens import with_token_counts
    from tiers.config import load_config

    source = glob.glob(args.filtered)[0]
    config = load_config(None, ["spark.master=local[2]", *args.set])
    minhash = config.l1.dedup.minhash
    figures: dict[str, float] = {"imports": cgroup_cpu_seconds() - started}
    last = cgroup_cpu_seconds()

    def mark(step: str) -> None:
        nonlocal last
        now = cgroup_cpu_seconds()
        figures[step] = figures.get(step, 0.0) + now - last
        print(f"{step:28s} +{now - last:7.2f} CPU-s", flush=True)
        last = now

    spark = get_spark(config.spark)
    spark.range(1).count()
    mark("session")
    out = tempfile.mkdtemp(prefix="tiers-dedup-steps-")
    bytes_in = sum(os.path.getsize(p) for p in glob.glob(os.path.join(source, "*")))
    partitions_for(spark, bytes_in * 4, config.spark.bytes_per_partition)
    kept = spark.read.parquet(source)
    documents = dedup.document_sketches(kept, minhash).localCheckpoint()
    mark("sketches (one pass)")
    twins = computed_once(dedup.exact_twins(documents.select("doc_id", "text_hash")))
    mark("exact twins")
    sketches = dedup.sketched(documents).join(twins.select("doc_id"), "doc_id", "left_anti")
    positions = dedup.numbered(sketches).localCheckpoint()
    edges = dedup.candidate_edges(positions).localCheckpoint()
    links = edges.count()
    mark("candidate links")
    components = dedup.connected_components(spark, edges).localCheckpoint()
    mark("candidate components")
    assigned = computed_once(dedup.assignments(sketches, positions, edges, components, minhash, positions.count()))
    mark("rule per component")
    near = dedup.near_duplicates(assigned, kept)
    drops = dedup.exact_duplicates(twins, near).unionByName(near)
    drops.withColumn("run_id", F.lit("bench")).write.parquet(f"{out}/drops")
    written = spark.read.parquet(f"{out}/drops")
    mark("drop records")
    l1 = with_token_counts(l1_rows(kept, written), config.tokens.tokenizer)
    l1.write.parquet(f"{out}/L1")
    mark("L1 (join, tokens, write)")
    index_rows(documents, written).write.parquet(f"{out}/index")
    mark("dedup index")
    dedup.evidence(kept, written, assigned, config.l1.dedup)
    mark("evidence")
    figures["documents"] = kept.count()
    figures["links"] = links
    figures["components"] = components.count()
    figures["drops"] = written.count()
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle)


if __name__ == "__main__":
    main()
