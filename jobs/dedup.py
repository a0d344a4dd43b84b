"""Exact and MinHash-LSH near-duplicate dedup as Spark shuffles.

Nothing here collects documents, buckets or clusters on the driver: candidate pairs come from band
collisions as edges to each bucket's smallest and preceding id, connected components are found by iterated
min-label propagation in Spark, and the smallest doc_id of each component is kept.
"""
from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tiers.config import MinHashConfig
from tiers.dedup.minhash import band_keys, batch_shingle_hashes, jaccard, optimal_bands, shingles, signatures

log = logging.getLogger(__name__)

DROP_COLUMNS = ["doc_id", "stage", "reason", "details"]
BAND_ROWS = pa.schema([("doc_id", pa.string()), ("band", pa.int32()), ("band_key", pa.int64())])
EDGE_SCORES = pa.schema([("src", pa.string()), ("dst", pa.string()), ("jaccard", pa.float64())])


def _drops(frame: DataFrame, stage: str, reason: str, kept_col: str, extra: dict[str, str] | None = None) -> DataFrame:
    parts = [F.lit("kept"), F.col(kept_col)]
    for key, column in (extra or {}).items():
        parts += [F.lit(key), F.col(column)]
    return frame.select(
        "doc_id", F.lit(stage).alias("stage"), F.lit(reason).alias("reason"), F.to_json(F.create_map(*parts)).alias("details")
    )


def exact_dedup(docs: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Group on a hash of lower-cased, whitespace-collapsed text; keep the smallest doc_id of each group.

    Only (doc_id, hash) pairs are shuffled to find the groups; texts move once, in the final anti-join.
    """
    normalized = F.sha2(F.lower(F.trim(F.regexp_replace("text", r"\s+", " "))), 256)
    hashes = docs.select("doc_id", normalized.alias("_text_hash"))
    marked = hashes.withColumn("_kept_id", F.min("doc_id").over(Window.partitionBy("_text_hash")))
    duplicates = marked.filter(F.col("doc_id") != F.col("_kept_id"))
    kept = docs.join(duplicates.select("doc_id"), "doc_id", "left_anti")
    dropped = _drops(duplicates, "exact_dedup", "exact_duplicate", "_kept_id")
    return kept, dropped


def band_layout(config: MinHashConfig) -> tuple[int, int]:
    if config.threshold is not None:
        return optimal_bands(config.threshold, config.num_perm)
    return config.bands, config.rows


def _band_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig, bands: int, rows: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        ids = batch.column("doc_id").to_pylist()
        flat, counts = batch_shingle_hashes([t or "" for t in batch.column("text").to_pylist()], config.ngram)
        keys = band_keys(signatures(flat, counts, config.num_perm, config.seed), bands, rows)
        has_shingles = counts > 0
        doc_index = np.repeat(np.flatnonzero(has_shingles), bands)
        band_index = np.tile(np.arange(bands, dtype=np.int32), int(has_shingles.sum()))
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.array(ids, dtype=object)[doc_index], pa.string()), pa.array(band_index), pa.array(keys[has_shingles].ravel())],
            schema=BAND_ROWS,
        )


def _score_edges(batches: Iterator[pa.RecordBatch], ngram: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        src_texts = batch.column("src_text").to_pylist()
        dst_texts = batch.column("dst_text").to_pylist()
        scores = [jaccard(set(shingles(a or "", ngram)), set(shingles(b or "", ngram))) for a, b in zip(src_texts, dst_texts)]
        yield pa.RecordBatch.from_arrays([batch.column("src"), batch.column("dst"), pa.array(scores, pa.float64())], schema=EDGE_SCORES)


def candidate_edges(docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """Edges from each document to the smallest id and to the preceding id of every LSH bucket it is in.

    Two edges per bucket member keep the edge count linear in the bucket size (no all-pairs), while a
    member whose true near-duplicate is not the bucket's smallest id still links through its neighbour.
    """
    bands, rows = band_layout(config)
    log.info("minhash: %d permutations, %d bands x %d rows", config.num_perm, bands, rows)
    band_rows = docs.select("doc_id", "text").mapInArrow(
        lambda it: _band_rows(it, config, bands, rows), "doc_id string, band int, band_key long"
    )
    bucket = Window.partitionBy("band", "band_key")
    ordered = bucket.orderBy("doc_id")
    linked = band_rows.withColumn("root", F.min("doc_id").over(bucket)).withColumn("previous", F.lag("doc_id").over(ordered))
    to_root = linked.filter(F.col("doc_id") != F.col("root")).select(F.col("doc_id").alias("src"), F.col("root").alias("dst"))
    to_previous = linked.filter(F.col("previous").isNotNull() & (F.col("previous") != F.col("root")))
    edges = to_root.union(to_previous.select(F.col("doc_id").alias("src"), F.col("previous").alias("dst"))).distinct()
    if not config.verify_jaccard:
        return edges
    texts = docs.select("doc_id", "text")
    paired = (
        edges.join(texts.withColumnRenamed("doc_id", "src").withColumnRenamed("text", "src_text"), "src")
        .join(texts.withColumnRenamed("doc_id", "dst").withColumnRenamed("text", "dst_text"), "dst")
    )
    scored = paired.select("src", "dst", "src_text", "dst_text").mapInArrow(
        lambda it: _score_edges(it, config.ngram), "src string, dst string, jaccard double"
    )
    return scored.filter(F.col("jaccard") >= config.jaccard_threshold).select("src", "dst")


def connected_components(spark: SparkSession, edges: DataFrame, max_iterations: int = 100) -> DataFrame:
    """(node, component) where component is the smallest node id reachable, by min-label propagation.

    Each round proposes to every node the smallest label among its neighbours; rounds stop when no
    label changes. The graph and the labels stay in Spark (checkpointed each round to cut lineage).
    """
    both = edges.select("src", "dst").union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))).distinct()
    both = both.localCheckpoint()
    labels = both.groupBy("src").agg(F.least(F.min("dst"), F.first("src")).alias("label")).withColumnRenamed("src", "node")
    for iteration in range(max_iterations):
        proposed = (
            both.join(labels.withColumnRenamed("node", "dst"), "dst")
            .groupBy("src").agg(F.min("label").alias("proposed"))
            .withColumnRenamed("src", "node")
        )
        updated = (
            labels.join(proposed, "node", "left")
            .select("node", F.least("label", F.coalesce("proposed", "label")).alias("label"),
                    F.coalesce(F.col("proposed") < F.col("label"), F.lit(False)).alias("changed"))
            .localCheckpoint()
        )
        changed = updated.filter("changed").count()
        labels = updated.select("node", "label")
        log.info("connected components: iteration %d, %d labels changed", iteration + 1, changed)
        if changed == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} iterations")
    return labels.withColumnRenamed("label", "component")


def near_dedup(spark: SparkSession, docs: DataFrame, config: MinHashConfig) -> tuple[DataFrame, DataFrame]:
    """Keep the smallest doc_id of each near-duplicate cluster; the rest are drops naming cluster and kept id."""
    components = connected_components(spark, candidate_edges(docs, config))
    removed = components.filter(F.col("node") != F.col("component")).withColumnRenamed("node", "doc_id")
    kept = docs.join(removed.select("doc_id"), "doc_id", "left_anti")
    dropped = _drops(removed.withColumn("cluster", F.col("component")), "minhash_dedup", "near_duplicate", "component", {"cluster": "cluster"})
    return kept, dropped


