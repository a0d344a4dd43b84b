"""Exact and MinHash-LSH near-duplicate dedup as Spark shuffles.

Both steps return drop records only, computed on narrow data (ids, hashes, signatures); the caller
removes the dropped ids from the documents in one anti-join, so texts move once. Nothing is collected
on the driver. Near dedup, stage by stage:

1. `sketch_frame`: one pass of Python over the texts (mapInArrow, numpy) gives each document's MinHash
   signature (array<int>), its band keys (array<bigint>) and its sorted shingle-hash set (binary);
   checkpointed on the executors and read by every later stage, which never touch the texts.
2. `candidate_edges`: the band keys are exploded in the JVM and one window per bucket links every
   member to the bucket's smallest and preceding id (linear in the bucket size, no all-pairs).
3. `verified_edges`: each candidate pair's signature agreement is computed in the JVM (a join with the
   sketches, no texts); an estimate far enough from the threshold (`estimate_margin`) decides the pair,
   and only the pairs in between get the exact check, on sorted shingle-hash sets of just those
   documents (the exact 5-gram Jaccard up to 32-bit hash collisions).
4. `connected_components`: a union-find inside each partition of the edges, then alternating
   large-star / small-star rounds until every component is a star around its smallest id.

Incremental runs pass a `reference`: the dedup index of the documents earlier runs deduplicated
(doc_id, text_hash, signature, keys, shingles, and kept_id: the L1 document it is, or was dropped for;
written beside L1 by every dedup run). Only its rows that share a text hash or a band key with a new document
are read past the scan; their ids get the `OLD` prefix, which sorts before every id, so an old
document is always the cluster's root: a new copy is dropped naming the L1 document of that cluster,
and nothing already in L1 moves. Pairs with an old document get the same exact check, from the
shingle sets in the index (the old texts are not read again).
"""

from __future__ import annotations

import logging
from typing import Iterator

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tiers.config import MinHashConfig
from tiers.dedup.minhash import estimate_margin
from tiers.dedup.near import band_layout, sketch
from tiers.dedup.sketch_columns import keys_column, pair_jaccard, shingles_column, signature_column
from tiers.dedup.unionfind import UnionFind

log = logging.getLogger(__name__)

SKETCH = pa.schema(
    [
        ("doc_id", pa.string()),
        ("signature", pa.list_(pa.int32())),
        ("keys", pa.list_(pa.int64())),
        ("shingles", pa.binary()),
    ]
)
EDGE_SCORES = pa.schema([("src", pa.string()), ("dst", pa.string()), ("jaccard", pa.float64())])
EDGES = pa.schema([("src", pa.string()), ("dst", pa.string())])


def _drops(frame: DataFrame, stage: str, reason: str, kept_col: str, extra: dict[str, str] | None = None) -> DataFrame:
    parts = [F.lit("kept"), F.col(kept_col)]
    for key, column in (extra or {}).items():
        parts += [F.lit(key), F.col(column)]
    return frame.select(
        "doc_id",
        F.lit(stage).alias("stage"),
        F.lit(reason).alias("reason"),
        F.to_json(F.create_map(*parts)).alias("details"),
    )


OLD = "\x01"  # prefix of reference ids: sorts before every doc_id (hex), so the document already in L1 is kept


def _strip_old(column: str) -> Column:
    return F.regexp_replace(F.col(column), "^\\x01", "")


def _name_l1_document(frame: DataFrame, column: str, reference: DataFrame | None) -> DataFrame:
    """Replace, in `column`, an old document that was itself dropped by the L1 document it was dropped for."""
    if reference is None:
        return frame
    ids = frame.select(F.col(column).alias("_ref_id")).distinct()
    owners = reference.select(F.col("doc_id").alias("_ref_id"), F.col("kept_id").alias("_owner")).join(
        ids, "_ref_id", "left_semi"
    )
    return (
        frame.join(owners, frame[column] == owners["_ref_id"], "left")
        .withColumn(column, F.coalesce(F.col("_owner"), F.col(column)))
        .drop("_ref_id", "_owner")
    )


def text_hashes(docs: DataFrame) -> DataFrame:
    """(doc_id, text_hash): SHA-256 of the lower-cased, whitespace-collapsed text."""
    return docs.select("doc_id", F.sha2(F.lower(F.trim(F.regexp_replace("text", r"\s+", " "))), 256).alias("text_hash"))


def exact_duplicates(hashes: DataFrame, reference: DataFrame | None = None) -> DataFrame:
    """Drops for every document whose text hash equals a smaller doc_id's, or a reference document's."""
    if reference is not None:
        old = reference.select(F.concat(F.lit(OLD), "doc_id").alias("doc_id"), "text_hash").join(
            hashes.select("text_hash").distinct(), "text_hash", "left_semi"
        )
        hashes = hashes.select("doc_id", "text_hash").unionByName(old)
    marked = hashes.withColumn("_kept_id", F.min("doc_id").over(Window.partitionBy("text_hash")))
    dropped = marked.filter((F.col("doc_id") != F.col("_kept_id")) & ~F.col("doc_id").startswith(OLD))
    dropped = _name_l1_document(dropped.withColumn("_kept_id", _strip_old("_kept_id")), "_kept_id", reference)
    return _drops(dropped, "exact_dedup", "exact_duplicate", "_kept_id")


def _sketch_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        sketches = sketch([t or "" for t in batch.column("text").to_pylist()], config)
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("doc_id").take(pa.array(sketches.present)),
                signature_column(sketches),
                keys_column(sketches),
                shingles_column(sketches),
            ],
            schema=SKETCH,
        )


def sketch_frame(docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """(doc_id, signature as array<int> of num_perm uint32 bit patterns, keys: one 64-bit key per band,
    shingles: the sorted unique uint32 shingle hashes as bytes) for every document with at least one shingle."""
    return docs.select("doc_id", "text").mapInArrow(
        lambda it: _sketch_rows(it, config), "doc_id string, signature array<int>, keys array<bigint>, shingles binary"
    )


def signature_frame(docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """Alias of `sketch_frame` (the name earlier callers use)."""
    return sketch_frame(docs, config)


def candidate_edges(sketches: DataFrame) -> DataFrame:
    """Distinct (src, dst) with dst < src: each member of an LSH bucket to the bucket's smallest id and to
    its preceding id. Two edges per member keep the count linear in the bucket size, while a member
    whose near-duplicate is not the bucket's smallest id still links through its neighbour."""
    bucket = Window.partitionBy("band", "key").orderBy("doc_id")
    linked = (
        sketches.select("doc_id", F.posexplode("keys").alias("band", "key"))
        .select("doc_id", F.first("doc_id").over(bucket).alias("root"), F.lag("doc_id").over(bucket).alias("previous"))
        .filter(F.col("doc_id") != F.col("root"))
    )
    to_root = linked.select(F.col("doc_id").alias("src"), F.col("root").alias("dst"))
    to_previous = linked.filter(F.col("previous") != F.col("root")).select(
        F.col("doc_id").alias("src"), F.col("previous").alias("dst")
    )
    return to_root.union(to_previous).distinct()


def _agreement(a: str, b: str, num_perm: int) -> Column:
    """Share of equal signature positions, computed in the JVM."""
    same = F.zip_with(F.col(a), F.col(b), lambda x, y: (x == y).cast("int"))
    return F.aggregate(same, F.lit(0), lambda acc, v: acc + v) / F.lit(num_perm)


def _score_sets(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        scores = pair_jaccard(batch.column("src_set"), batch.column("dst_set"))
        yield pa.RecordBatch.from_arrays(
            [batch.column("src"), batch.column("dst"), pa.array(scores, pa.float64())], schema=EDGE_SCORES
        )


def exact_scores(sketches: DataFrame, pairs: DataFrame) -> DataFrame:
    """(src, dst, jaccard): exact shingle Jaccard of each pair, from the sorted shingle-hash sets of only
    the documents that appear in `pairs`."""
    needed = pairs.select(F.col("src").alias("doc_id")).union(pairs.select(F.col("dst").alias("doc_id"))).distinct()
    sets = sketches.select("doc_id", "shingles").join(needed, "doc_id", "left_semi")
    # hash joins: the set payloads are large, sorting them for a sort-merge join is most of the cost
    paired = (
        pairs.join(
            sets.select(F.col("doc_id").alias("src"), F.col("shingles").alias("src_set")).hint("shuffle_hash"), "src"
        )
        .join(sets.select(F.col("doc_id").alias("dst"), F.col("shingles").alias("dst_set")).hint("shuffle_hash"), "dst")
        .select("src", "dst", "src_set", "dst_set")
    )
    return paired.mapInArrow(_score_sets, "src string, dst string, jaccard double")


def verified_edges(sketches: DataFrame, edges: DataFrame, config: MinHashConfig) -> DataFrame:
    """The candidate edges whose Jaccard reaches `config.jaccard_threshold`.

    verify=none keeps every candidate; signature keeps the pairs whose signature agreement reaches the
    threshold; exact decides by the signature where its estimate lies outside `estimate_margin` and by
    the exact shingle-set Jaccard in between.
    """
    if config.verify == "none":
        return edges
    sig = sketches.select("doc_id", "signature")
    estimated = (
        edges.join(sig.select(F.col("doc_id").alias("src"), F.col("signature").alias("a")), "src")
        .join(sig.select(F.col("doc_id").alias("dst"), F.col("signature").alias("b")), "dst")
        .select("src", "dst", _agreement("a", "b", config.num_perm).alias("estimate"))
    )
    if config.verify == "signature":
        return estimated.filter(F.col("estimate") >= config.jaccard_threshold).select("src", "dst")
    low, high = estimate_margin(config.jaccard_threshold, config.num_perm)
    # three branches read `estimated` (sure, unsure, the ids the exact check needs): computed once
    estimated = estimated.localCheckpoint()
    sure = estimated.filter(F.col("estimate") >= high).select("src", "dst")
    unsure = estimated.filter((F.col("estimate") >= low) & (F.col("estimate") < high)).select("src", "dst")
    checked = exact_scores(sketches, unsure).filter(F.col("jaccard") >= config.jaccard_threshold)
    return sure.union(checked.select("src", "dst"))


def _local_union_find(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition's edges collapsed to stars: (node, smallest node it reaches within the partition)."""
    uf = UnionFind()
    for batch in batches:
        for a, b in zip(batch.column("src").to_pylist(), batch.column("dst").to_pylist()):
            uf.union(a, b)
    pairs = [(node, root) for node, root in uf.components().items() if node != root]
    yield pa.RecordBatch.from_arrays(
        [pa.array([p[0] for p in pairs], pa.string()), pa.array([p[1] for p in pairs], pa.string())], schema=EDGES
    )


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node links its larger neighbours to the smallest of itself and its neighbours."""
    both = edges.union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    smallest = F.least(F.min("dst").over(Window.partitionBy("src")), F.col("src"))
    return (
        both.select("src", "dst", smallest.alias("m"))
        .filter(F.col("dst") > F.col("src"))
        .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node links itself and its smaller neighbours to the smallest of them."""
    oriented = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst"))
    smallest = F.min("dst").over(Window.partitionBy("src"))
    marked = oriented.select("src", "dst", smallest.alias("m"))
    neighbours = marked.filter(F.col("dst") != F.col("m")).select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    return neighbours.union(marked.select("src", F.col("m").alias("dst"))).distinct()


def connected_components(spark: SparkSession, edges: DataFrame, max_iterations: int = 50) -> DataFrame:
    """(node, component) for every node of `edges`, component being the smallest node id reachable.

    A union-find inside each partition first collapses what one task can see into stars; then
    large-star and small-star rounds (Kiveris et al., "Connected Components in MapReduce and Beyond")
    alternate until every edge points from a node to a root that has no smaller neighbour, which
    takes O(log n) rounds even on long chains. Each round is checkpointed; nothing reaches the driver
    but one count per round.
    """
    current = edges.select("src", "dst").mapInArrow(_local_union_find, "src string, dst string").localCheckpoint()
    for iteration in range(max_iterations):
        current = _small_star(_large_star(current)).localCheckpoint()
        # converged when no edge's target is itself the source of another edge (every component a star)
        unfinished = current.join(current.select(F.col("src").alias("dst")).distinct(), "dst", "left_semi").count()
        log.info("connected components: round %d, %d edges not yet at their root", iteration + 1, unfinished)
        if unfinished == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")
    roots = current.select(F.col("dst").alias("node"), F.col("dst").alias("component")).distinct()
    return current.select(F.col("src").alias("node"), F.col("dst").alias("component")).union(roots)


def reference_sketches(reference: DataFrame, sketches: DataFrame) -> DataFrame:
    """The reference documents (ids prefixed with OLD) that share a band key with a new document."""
    new_keys = sketches.select(F.posexplode("keys").alias("band", "key")).distinct()
    old = reference.filter(F.col("keys").isNotNull()).select(
        F.concat(F.lit(OLD), "doc_id").alias("doc_id"), "signature", "keys", "shingles"
    )
    touching = (
        old.select("doc_id", F.posexplode("keys").alias("band", "key"))
        .join(new_keys, ["band", "key"], "left_semi")
        .select("doc_id")
        .distinct()
    )
    return old.join(touching, "doc_id", "left_semi")


def near_duplicates(
    spark: SparkSession,
    docs: DataFrame,
    config: MinHashConfig,
    sketches: DataFrame | None = None,
    reference: DataFrame | None = None,
) -> DataFrame:
    """Drops for every member of a near-duplicate cluster but its smallest doc_id (or the reference
    document in it), naming cluster and kept id. `sketches` may be passed when the caller has them."""
    bands, rows = band_layout(config)
    log.info("minhash: %d permutations, %d bands x %d rows, verify=%s", config.num_perm, bands, rows, config.verify)
    # computed once, eagerly: every later stage reads it (bands, signature agreement)
    sketches = sketches if sketches is not None else sketch_frame(docs, config).localCheckpoint()
    if reference is not None:
        sketches = sketches.unionByName(reference_sketches(reference, sketches)).localCheckpoint()
    edges = candidate_edges(sketches)
    if reference is not None:
        edges = edges.filter(~(F.col("src").startswith(OLD) & F.col("dst").startswith(OLD)))
    components = connected_components(spark, verified_edges(sketches, edges, config))
    removed = (
        components.filter((F.col("node") != F.col("component")) & ~F.col("node").startswith(OLD))
        .withColumnRenamed("node", "doc_id")
        .withColumn("component", _strip_old("component"))
    )
    removed = _name_l1_document(removed, "component", reference)
    return _drops(
        removed.withColumn("cluster", F.col("component")),
        "minhash_dedup",
        "near_duplicate",
        "component",
        {"cluster": "cluster"},
    )


def remove_dropped(docs: DataFrame, *drops: DataFrame) -> DataFrame:
    ids = drops[0].select("doc_id")
    for frame in drops[1:]:
        ids = ids.union(frame.select("doc_id"))
    return docs.join(ids.distinct(), "doc_id", "left_anti")


def exact_dedup(docs: DataFrame) -> tuple[DataFrame, DataFrame]:
    dropped = exact_duplicates(text_hashes(docs))
    return remove_dropped(docs, dropped), dropped


def near_dedup(spark: SparkSession, docs: DataFrame, config: MinHashConfig) -> tuple[DataFrame, DataFrame]:
    dropped = near_duplicates(spark, docs, config)
    return remove_dropped(docs, dropped), dropped
