"""L1 dedup's Spark body: moves the documents through jobs/dedup.py (the rule's pure functions inside
Spark tasks) and writes L1, the drops and the dedup index."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.dedup import (
    document_sketches,
    evidence,
    exact_duplicates,
    exact_twins,
    near_assignments,
    near_duplicates,
    reference_indexes,
    sketched,
)
from tiers.dedup.reasons import CLUSTER_SIZE
from tiers.schemas import DEDUP_INDEX as INDEX
from jobs.runner import JobRun
from jobs.spark import computed_once, partitions_for
from jobs.tokens import TOKENS_COLUMN, with_token_counts
from jobs.stage_inputs import DedupInputs


def index_rows(documents: DataFrame, drops: DataFrame | None) -> DataFrame:
    """The dedup index of a run: every document it read (`document_sketches`), with the L1 document it is
    or was dropped for."""
    if drops is None:
        return documents.withColumn("kept_id", F.col("doc_id"))
    owners = drops.select("doc_id", F.get_json_object("details", "$.kept").alias("owner"))
    return documents.join(owners, "doc_id", "left").withColumn("kept_id", F.coalesce("owner", "doc_id")).drop("owner")


def l1_rows(docs: DataFrame, drops: DataFrame | None) -> DataFrame:
    """The documents no drop names, with `dedup_cluster_size` (1 + the drops of this run naming the
    document) before their token counts: one join of the texts with narrow per-id marks."""
    if drops is None:
        return docs.withColumn("_named", F.lit(0).cast("bigint"))
    marks = (
        drops.select("doc_id", F.lit(1).alias("_dropped"), F.lit(0).cast("bigint").alias("_named"))
        .unionByName(
            drops.select(
                F.get_json_object("details", "$.kept").alias("doc_id"),
                F.lit(0).alias("_dropped"),
                F.lit(1).cast("bigint").alias("_named"),
            )
        )
        .groupBy("doc_id")
        .agg(F.max("_dropped").alias("_dropped"), F.sum("_named").alias("_named"))
    )
    return (
        docs.join(marks, "doc_id", "left")
        .filter(F.col("_dropped").isNull() | (F.col("_dropped") == 0))
        .select(*docs.columns, F.coalesce("_named", F.lit(0)).cast("bigint").alias("_named"))
    )


def write_dedup_outputs(spark: SparkSession, inputs: DedupInputs, run: JobRun) -> dict:
    """Write L1, the drops and the dedup index of `source` (deduplicated against `references`) under
    `run`'s staging; returns the run's dedup evidence for its summary."""
    config, source, bytes_in, references = inputs.config, inputs.source, inputs.bytes_in, inputs.references
    dedup, minhash = config.l1.dedup, config.l1.dedup.minhash
    partitions_for(spark, bytes_in * 4, config.spark.bytes_per_partition)
    kept = spark.read.parquet(source)
    reference = reference_indexes(spark, references) if references else None
    documents = computed_once(document_sketches(kept, minhash if minhash.enabled else None))
    twins = computed_once(exact_twins(documents.select("doc_id", "text_hash"), reference)) if dedup.exact else None
    assigned = near = None
    if minhash.enabled:
        assigned = computed_once(near_assignments(spark, minhash, sketched(documents), reference, twins))
        near = computed_once(near_duplicates(assigned, kept))  # read by the exact drops and written
    parts = ([exact_duplicates(twins, near)] if twins is not None else []) + ([near] if near is not None else [])
    if parts:
        drops = parts[0]
        for frame in parts[1:]:
            drops = drops.unionByName(frame)
        drops.withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("drops"))
        written = spark.read.parquet(run.stage("drops"))
    else:
        run.stage("drops")
        written = None
    l1 = with_token_counts(l1_rows(kept, written), config.tokens.tokenizer)
    l1.select(
        *kept.columns,
        *([] if TOKENS_COLUMN in kept.columns else [TOKENS_COLUMN]),
        (F.col("_named") + 1).cast("bigint").alias(CLUSTER_SIZE),
        F.array(F.col("doc_id")).alias("parent_ids"),
        F.lit(run.run_id).alias("run_id"),
    ).write.parquet(run.stage("L1", tier="L1"))
    index_rows(documents, written).write.parquet(run.stage(INDEX))
    return evidence(kept, written if written is not None else kept.limit(0).select("doc_id"), assigned, dedup)
