"""L1 dedup's Spark body: exact and near dedup as Spark shuffles (jobs/dedup.py)."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.dedup import exact_duplicates, near_duplicates, remove_dropped, sketch_frame, text_hashes
from tiers.schemas import DEDUP_INDEX as INDEX
from jobs.runner import JobRun
from jobs.spark import partitions_for
from jobs.tokens import with_token_counts
from tiers.config import TiersConfig


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


def write_dedup_outputs(
    spark: SparkSession, config: TiersConfig, source: str, bytes_in: int, references: list[str], run: JobRun
) -> None:
    """Write L1, the drops and the dedup index of `source` (deduplicated against `references`) under `run`'s staging."""
    minhash = config.l1.dedup.minhash
    partitions_for(spark, bytes_in * 4, config.spark.bytes_per_partition)
    kept = spark.read.parquet(source)
    reference = spark.read.parquet(*references) if references else None
    hashes = text_hashes(kept).localCheckpoint()
    sketches = sketch_frame(kept, minhash).localCheckpoint() if minhash.enabled else None
    duplicates = []
    if config.l1.dedup.exact:
        duplicates.append(exact_duplicates(hashes, reference).persist(StorageLevel.DISK_ONLY))
    if minhash.enabled:
        near = near_duplicates(spark, kept, minhash, sketches, reference)
        if duplicates:
            near = near.join(duplicates[0].select("doc_id"), "doc_id", "left_anti")
        duplicates.append(near.persist(StorageLevel.DISK_ONLY))
    try:
        l1 = remove_dropped(kept, *duplicates) if duplicates else kept
        l1 = with_token_counts(l1, config.tokens.tokenizer)
        l1.withColumn("parent_ids", F.array(F.col("doc_id"))).withColumn("run_id", F.lit(run.run_id)).write.parquet(
            run.stage("L1", tier="L1")
        )
        drops = duplicates[0] if duplicates else None
        for frame in duplicates[1:]:
            drops = drops.unionByName(frame)
        if drops is not None:
            drops.withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("drops"))
        else:
            run.stage("drops")
        written = spark.read.parquet(run.stage("drops")) if drops is not None else None
        index_rows(hashes, sketches, written).write.parquet(run.stage(INDEX))
    finally:
        for frame in duplicates:
            frame.unpersist()
