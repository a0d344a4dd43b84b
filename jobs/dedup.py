"""Exact and MinHash-LSH near-duplicate dedup as Spark shuffles.

Both steps return drop records only, computed on narrow data (ids, hashes, signatures); the caller
removes the dropped ids from the documents in one anti-join, so texts move once. Nothing is collected
on the driver: candidate pairs come from band collisions as edges to each bucket's smallest and
preceding id, candidate edges are checked (exact shingle Jaccard, or the signatures' estimate),
connected components are found by iterated min-label propagation in Spark, and the smallest doc_id of
each component is kept.
"""
from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tiers.config import MinHashConfig
from tiers.schemas import DROPS
from tiers.dedup.minhash import jaccard, optimal_bands, signatures
from tiers.text import batch_shingle_hashes, shingles

log = logging.getLogger(__name__)

DROP_COLUMNS = [n for n in DROPS.names if n != "run_id"]
SIGNATURES = pa.schema([("doc_id", pa.string()), ("signature", pa.binary())])
EDGE_SCORES = pa.schema([("src", pa.string()), ("dst", pa.string()), ("jaccard", pa.float64())])


def _drops(frame: DataFrame, stage: str, reason: str, kept_col: str, extra: dict[str, str] | None = None) -> DataFrame:
    parts = [F.lit("kept"), F.col(kept_col)]
    for key, column in (extra or {}).items():
        parts += [F.lit(key), F.col(column)]
    return frame.select(
        "doc_id", F.lit(stage).alias("stage"), F.lit(reason).alias("reason"), F.to_json(F.create_map(*parts)).alias("details")
    )


def exact_duplicates(docs: DataFrame) -> DataFrame:
    """Drops for every document whose lower-cased, whitespace-collapsed text equals a smaller doc_id's."""
    normalized = F.sha2(F.lower(F.trim(F.regexp_replace("text", r"\s+", " "))), 256)
    hashes = docs.select("doc_id", normalized.alias("_text_hash"))
    marked = hashes.withColumn("_kept_id", F.min("doc_id").over(Window.partitionBy("_text_hash")))
    return _drops(marked.filter(F.col("doc_id") != F.col("_kept_id")), "exact_dedup", "exact_duplicate", "_kept_id")


def band_layout(config: MinHashConfig) -> tuple[int, int]:
    if config.threshold is not None:
        return optimal_bands(config.threshold, config.num_perm)
    return config.bands, config.rows


def _signature_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        ids = np.array(batch.column("doc_id").to_pylist(), dtype=object)
        flat, counts = batch_shingle_hashes([t or "" for t in batch.column("text").to_pylist()], config.ngram)
        matrix = signatures(flat, counts, config.num_perm, config.seed)
        keep = counts > 0
        rows = [row.tobytes() for row in matrix[keep]]
        yield pa.RecordBatch.from_arrays([pa.array(ids[keep], pa.string()), pa.array(rows, pa.binary())], schema=SIGNATURES)


def signature_frame(docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """(doc_id, signature as num_perm little-endian uint32) for every document with at least one shingle."""
    return docs.select("doc_id", "text").mapInArrow(lambda it: _signature_rows(it, config), "doc_id string, signature binary")


def band_rows(sigs: DataFrame, bands: int, rows: int) -> DataFrame:
    """(doc_id, band, band_key): a 64-bit hash of each band's bytes, computed in the JVM."""
    width = rows * 4
    keys = F.array(*[F.xxhash64(F.substring("signature", b * width + 1, width)) for b in range(bands)])
    return sigs.select("doc_id", F.posexplode(keys).alias("band", "band_key"))


def _score_texts(batches: Iterator[pa.RecordBatch], ngram: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        pairs = zip(batch.column("src_value").to_pylist(), batch.column("dst_value").to_pylist())
        scores = [jaccard(set(shingles(a or "", ngram)), set(shingles(b or "", ngram))) for a, b in pairs]
        yield pa.RecordBatch.from_arrays([batch.column("src"), batch.column("dst"), pa.array(scores, pa.float64())], schema=EDGE_SCORES)


def _score_signatures(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        src = np.frombuffer(b"".join(batch.column("src_value").to_pylist()), dtype=np.uint32).reshape(batch.num_rows, -1)
        dst = np.frombuffer(b"".join(batch.column("dst_value").to_pylist()), dtype=np.uint32).reshape(batch.num_rows, -1)
        scores = (src == dst).mean(axis=1) if batch.num_rows else np.empty(0)
        yield pa.RecordBatch.from_arrays([batch.column("src"), batch.column("dst"), pa.array(scores, pa.float64())], schema=EDGE_SCORES)


def candidate_edges(docs: DataFrame, sigs: DataFrame, config: MinHashConfig) -> DataFrame:
    """Edges from each document to the smallest id and to the preceding id of every LSH bucket it is in,
    kept when the pair's Jaccard (exact, or estimated from signatures) reaches the threshold.

    Two edges per bucket member keep the edge count linear in the bucket size (no all-pairs), while a
    member whose true near-duplicate is not the bucket's smallest id still links through its neighbour.
    """
    bands, rows = band_layout(config)
    log.info("minhash: %d permutations, %d bands x %d rows, verify=%s", config.num_perm, bands, rows, config.verify)
    bucket = Window.partitionBy("band", "band_key")
    linked = (
        band_rows(sigs, bands, rows)
        .withColumn("root", F.min("doc_id").over(bucket))
        .withColumn("previous", F.lag("doc_id").over(bucket.orderBy("doc_id")))
    )
    to_root = linked.filter(F.col("doc_id") != F.col("root")).select(F.col("doc_id").alias("src"), F.col("root").alias("dst"))
    to_previous = linked.filter(F.col("previous").isNotNull() & (F.col("previous") != F.col("root")))
    edges = to_root.union(to_previous.select(F.col("doc_id").alias("src"), F.col("previous").alias("dst"))).distinct()
    if config.verify == "none":
        return edges
    if config.verify == "exact":
        values, scorer = docs.select("doc_id", F.col("text").alias("value")), lambda it: _score_texts(it, config.ngram)
    else:
        values, scorer = sigs.select("doc_id", F.col("signature").alias("value")), _score_signatures
    paired = (
        edges.join(values.withColumnRenamed("doc_id", "src").withColumnRenamed("value", "src_value"), "src")
        .join(values.withColumnRenamed("doc_id", "dst").withColumnRenamed("value", "dst_value"), "dst")
        .select("src", "dst", "src_value", "dst_value")
    )
    scored = paired.mapInArrow(scorer, "src string, dst string, jaccard double")
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


def near_duplicates(spark: SparkSession, docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """Drops for every member of a near-duplicate cluster but its smallest doc_id, naming cluster and kept id."""
    sigs = signature_frame(docs, config).persist(StorageLevel.DISK_ONLY)
    components = connected_components(spark, candidate_edges(docs, sigs, config))
    sigs.unpersist()
    removed = components.filter(F.col("node") != F.col("component")).withColumnRenamed("node", "doc_id")
    return _drops(removed.withColumn("cluster", F.col("component")), "minhash_dedup", "near_duplicate", "component", {"cluster": "cluster"})


def remove_dropped(docs: DataFrame, *drops: DataFrame) -> DataFrame:
    ids = drops[0].select("doc_id")
    for frame in drops[1:]:
        ids = ids.union(frame.select("doc_id"))
    return docs.join(ids.distinct(), "doc_id", "left_anti")


def exact_dedup(docs: DataFrame) -> tuple[DataFrame, DataFrame]:
    dropped = exact_duplicates(docs)
    return remove_dropped(docs, dropped), dropped


def near_dedup(spark: SparkSession, docs: DataFrame, config: MinHashConfig) -> tuple[DataFrame, DataFrame]:
    dropped = near_duplicates(spark, docs, config)
    return remove_dropped(docs, dropped), dropped
