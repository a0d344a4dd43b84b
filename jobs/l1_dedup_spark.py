"""L1 dedup's Spark body: moves the documents through jobs/dedup.py (the rule's pure functions inside
Spark tasks) and writes L1, the drops and the dedup index."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.dedup import (
    evidence,
    exact_duplicates,
    exact_twins,
    near_assignments,
    near_duplicates,
    remove_dropped,
    sketch_frame,
    text_hashes,
)
from tiers.dedup.reasons import CLUSTER_SIZE
from tiers.schemas import DEDUP_INDEX as INDEX
from jobs.runner import JobRun
from jobs.spark import partitions_for
from jobs.tokens import with_token_counts
from jobs.stage_inputs import DedupInputs


def index_rows(hashes: DataFrame, sketches: DataFrame | None, drops: DataFrame | None) -> DataFrame:
    """The dedup index of a run: every document it read, with the L1 document it is or was dropped for."""
    if sketches is not None:
        index = hashes.join(sketches, "doc_id", "left")
    else:
        index = hashes.select(
            "doc_id",
            "text_hash",
            F.lit(None).cast("array<int>").alias("signature"),
            F.lit(None).cast("array<bigint>").alias("keys"),
            F.lit(None).cast("binary").alias("shingles"),
        )
    if drops is None:
        return index.withColumn("kept_id", F.col("doc_id"))
    owners = drops.select("doc_id", F.get_json_object("details", "$.kept").alias("owner"))
    return index.join(owners, "doc_id", "left").withColumn("kept_id", F.coalesce("owner", "doc_id")).drop("owner")


def with_cluster_sizes(l1: DataFrame, drops: DataFrame | None) -> DataFrame:
    """L1 plus `dedup_cluster_size`: 1 + the drops of this run naming the document."""
    if drops is None:
        return l1.withColumn(CLUSTER_SIZE, F.lit(1).cast("bigint"))
    named = drops.groupBy(F.get_json_object("details", "$.kept").alias("doc_id")).agg(F.count(F.lit(1)).alias("_n"))
    return (
        l1.join(named, "doc_id", "left")
        .withColumn(CLUSTER_SIZE, (F.coalesce("_n", F.lit(0)) + 1).cast("bigint"))
        .drop("_n")
    )


def write_dedup_outputs(spark: SparkSession, inputs: DedupInputs, run: JobRun) -> dict:
    """Write L1, the drops and the dedup index of `source` (deduplicated against `references`) under
    `run`'s staging; returns the run's dedup evidence for its summary."""
    config, source, bytes_in, references = inputs.config, inputs.source, inputs.bytes_in, inputs.references
    dedup, minhash = config.l1.dedup, config.l1.dedup.minhash
    partitions_for(spark, bytes_in * 4, config.spark.bytes_per_partition)
    kept = spark.read.parquet(source)
    reference = spark.read.parquet(*references) if references else None
    hashes = text_hashes(kept).localCheckpoint()
    sketches = sketch_frame(kept, minhash).localCheckpoint() if minhash.enabled else None
    twins = exact_twins(hashes, reference).persist(StorageLevel.DISK_ONLY) if dedup.exact else None
    assigned = near = None
    if sketches is not None:
        survivors = sketches.join(twins.select("doc_id"), "doc_id", "left_anti") if twins is not None else sketches
        assigned = near_assignments(spark, minhash, survivors, reference).persist(StorageLevel.DISK_ONLY)
        near = near_duplicates(assigned, kept)
    parts = ([exact_duplicates(twins, near)] if twins is not None else []) + ([near] if near is not None else [])
    try:
        if parts:
            drops = parts[0]
            for frame in parts[1:]:
                drops = drops.unionByName(frame)
            drops.withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("drops"))
            written = spark.read.parquet(run.stage("drops"))
        else:
            run.stage("drops")
            written = None
        l1 = remove_dropped(kept, written) if written is not None else kept
        l1 = with_cluster_sizes(with_token_counts(l1, config.tokens.tokenizer), written)
        l1.withColumn("parent_ids", F.array(F.col("doc_id"))).withColumn("run_id", F.lit(run.run_id)).write.parquet(
            run.stage("L1", tier="L1")
        )
        index_rows(hashes, sketches, written).write.parquet(run.stage(INDEX))
        return evidence(kept, written if written is not None else kept.limit(0).select("doc_id"), assigned, dedup)
    finally:
        for frame in (twins, assigned):
            if frame is not None:
                frame.unpersist()
