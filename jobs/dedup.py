"""Exact and MinHash near-duplicate dedup on Spark: this module moves data to and from the rule's pure
functions (tiers/dedup/: `near.sketch`, `near.bucket_links`, `near.screen`, `clusters.clusters`,
`records`), which the local engine runs in one process; only the grouping is Spark's. Both steps return
drop records computed on narrow data (ids, hashes, sketches); the caller removes the dropped ids from
the documents in one anti-join, so texts move once. Nothing is collected on the driver but the
evidence's aggregates. Near dedup, stage by stage:

1. `sketch_frame`: each document's signature, band keys and sorted shingle-hash set (mapInArrow).
2. `candidate_edges`: the band keys exploded, one partition per bucket range sorted by (band, key,
   doc_id), and `bucket_links` over each partition.
3. `verified_edges`: each pair's signature agreement (`near.agreement` over the two signatures) and
   `near.screen`; the unsure pairs get the exact check on just their shingle sets.
4. `connected_components`: a union-find inside each partition of the edges, then alternating
   large-star / small-star rounds until every component is a star around its smallest id.
5. `assignments`: one task per component's members, sorted by id, runs `clusters.clusters` (the
   per-document rule); `near_duplicates` writes the drops with `records.near_drop_table`.

Incremental runs pass a `reference`: the dedup indexes of earlier L1 runs. Only its L1 documents
(kept_id = doc_id) that share a text hash or a band key with a new document are read past the scan;
their ids get the `OLD` prefix, which sorts before every id, so they come first in the rule's order,
are always kept and are never absorbed. Pairs with an old document get the same exact check, from the
shingle sets in the index (the old texts are not read again).
"""

from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tiers.config import DedupConfig, MinHashConfig
from tiers.dedup import records
from tiers.dedup.clusters import clusters
from tiers.dedup.near import Sketches, agreement, band_layout, bucket_links, screen, sketch
from tiers.dedup.sketch_columns import keys_column, pair_jaccard, shingle_sets, shingles_column, signature_column
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
EDGE_STATES = pa.schema([("src", pa.string()), ("dst", pa.string()), ("state", pa.int8())])
EDGES = pa.schema([("src", pa.string()), ("dst", pa.string())])
ASSIGNED = pa.schema(
    [
        ("doc_id", pa.string()),
        ("kept_id", pa.string()),
        ("component", pa.string()),
        ("jaccard", pa.float64()),
        ("capped", pa.bool_()),
    ]
)
DROP_DDL = "doc_id string, stage string, reason string, details string"
SURE, UNSURE = 2, 1

OLD = "\x01"  # prefix of reference ids: sorts before every doc_id (hex), so the document already in L1 comes first


def _whole(batches: Iterator[pa.RecordBatch]) -> pa.RecordBatch | None:
    """A task's batches as one (a bucket or a component may span batches); None when it has no rows."""
    batches = [batch for batch in batches if batch.num_rows]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0] if batches else None


def _strip_old(column: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(column, "^\x01", "")


def text_hashes(docs: DataFrame) -> DataFrame:
    """(doc_id, text_hash): SHA-256 of the lower-cased, whitespace-collapsed text."""
    return docs.select("doc_id", F.sha2(F.lower(F.trim(F.regexp_replace("text", r"\s+", " "))), 256).alias("text_hash"))


def l1_rows(reference: DataFrame) -> DataFrame:
    """The reference rows of documents in L1 (not dropped by their run)."""
    return reference.filter(F.col("doc_id") == F.col("kept_id"))


def exact_twins(hashes: DataFrame, reference: DataFrame | None = None) -> DataFrame:
    """(doc_id, twin) of every document whose text hash equals a smaller doc_id's or a reference L1 document's."""
    if reference is not None:
        old = (
            l1_rows(reference)
            .select(F.concat(F.lit(OLD), "doc_id").alias("doc_id"), "text_hash")
            .join(hashes.select("text_hash").distinct(), "text_hash", "left_semi")
        )
        hashes = hashes.select("doc_id", "text_hash").unionByName(old)
    marked = hashes.withColumn("twin", F.min("doc_id").over(Window.partitionBy("text_hash")))
    dropped = marked.filter((F.col("doc_id") != F.col("twin")) & ~F.col("doc_id").startswith(OLD))
    return dropped.select("doc_id", F.regexp_replace("twin", "^\\x01", "").alias("twin"))


def _exact_drop_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        kept = batch.column("kept").to_pylist()
        yield from records.exact_drop_table(
            batch.column("doc_id").to_pylist(), kept, batch.column("copy_of").to_pylist()
        ).to_batches()


def exact_duplicates(twins: DataFrame, near: DataFrame | None = None) -> DataFrame:
    """Drop records of the exact copies; a copy whose twin the near rule dropped names the twin's L1 document."""
    named = twins.select("doc_id", F.col("twin").alias("kept"), F.lit(None).cast("string").alias("copy_of"))
    if near is not None:
        owners = near.select(F.col("doc_id").alias("twin"), F.get_json_object("details", "$.kept").alias("owner"))
        named = twins.join(owners, "twin", "left").select(
            "doc_id",
            F.coalesce("owner", "twin").alias("kept"),
            F.when(F.col("owner").isNotNull(), F.col("twin")).alias("copy_of"),
        )
    return named.mapInArrow(_exact_drop_rows, DROP_DDL)


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


def _bucket_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = _whole(batches)
    if table is None:
        return
    band, key = table["band"].to_numpy(), table["key"].to_numpy()
    opens = np.ones(len(band), dtype=bool)
    opens[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    members, firsts, previous = bucket_links(opens)
    ids = table["doc_id"]
    has_previous = previous >= 0
    src = pa.concat_arrays([ids.take(members), ids.take(members[has_previous])])
    dst = pa.concat_arrays([ids.take(firsts), ids.take(previous[has_previous])])
    yield pa.RecordBatch.from_arrays([src, dst], schema=EDGES)


def candidate_edges(sketches: DataFrame) -> DataFrame:
    """Distinct (src, dst) with dst < src: `near.bucket_links` over the members of each (band, key) bucket."""
    exploded = sketches.select("doc_id", F.posexplode("keys").alias("band", "key"))
    ordered = exploded.repartition("band", "key").sortWithinPartitions("band", "key", "doc_id")
    return ordered.mapInArrow(_bucket_rows, "src string, dst string").distinct()


def _signature_pairs(first: pa.Array, second: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = len(first)
    a = pc.list_flatten(first).to_numpy(zero_copy_only=False).reshape(rows, -1)
    b = pc.list_flatten(second).to_numpy(zero_copy_only=False).reshape(rows, -1)
    return np.vstack([a, b]), np.arange(rows), np.arange(rows, 2 * rows)


def _screen_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        estimate = agreement(*_signature_pairs(batch.column("a"), batch.column("b")))
        sure, unsure = screen(estimate, config)
        state = np.where(sure, SURE, np.where(unsure, UNSURE, 0)).astype(np.int8)
        yield pa.RecordBatch.from_arrays(
            [batch.column("src"), batch.column("dst"), pa.array(state)], schema=EDGE_STATES
        )


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
    """The candidate edges whose Jaccard reaches `config.jaccard_threshold` (`near.screen`, then the exact
    check of the unsure pairs)."""
    if config.verify == "none":
        return edges
    sig = sketches.select("doc_id", "signature")
    states = (
        edges.join(sig.select(F.col("doc_id").alias("src"), F.col("signature").alias("a")), "src")
        .join(sig.select(F.col("doc_id").alias("dst"), F.col("signature").alias("b")), "dst")
        .select("src", "dst", "a", "b")
        .mapInArrow(lambda it: _screen_rows(it, config), "src string, dst string, state tinyint")
        .localCheckpoint()  # read twice: the sure pairs and the unsure ones
    )
    sure = states.filter(F.col("state") == SURE).select("src", "dst")
    unsure = states.filter(F.col("state") == UNSURE).select("src", "dst")
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
    """The reference L1 documents (ids prefixed with OLD) that share a band key with a new document."""
    new_keys = sketches.select(F.posexplode("keys").alias("band", "key")).distinct()
    old = (
        l1_rows(reference)
        .filter(F.col("keys").isNotNull())
        .select(F.concat(F.lit(OLD), "doc_id").alias("doc_id"), "signature", "keys", "shingles")
    )
    touching = (
        old.select("doc_id", F.posexplode("keys").alias("band", "key"))
        .join(new_keys, ["band", "key"], "left_semi")
        .select("doc_id")
        .distinct()
    )
    return old.join(touching, "doc_id", "left_semi")


def _cluster_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig) -> Iterator[pa.RecordBatch]:
    table = _whole(batches)
    if table is None:
        return
    rows = table.num_rows
    values, offsets = shingle_sets(table["shingles"])
    signature_matrix = pc.list_flatten(table["signature"]).to_numpy(zero_copy_only=False).reshape(rows, -1)
    sketches = Sketches(np.arange(rows), signature_matrix.view(np.uint32), np.empty((rows, 0)), values, offsets)
    _, labels = np.unique(table["component"].to_numpy(zero_copy_only=False), return_inverse=True)
    fixed = pc.starts_with(table["doc_id"], OLD).to_numpy(zero_copy_only=False)
    found = clusters(labels, sketches, config.jaccard_threshold, config.max_cluster_comparisons, fixed)
    ids = _strip_old(table["doc_id"])
    yield pa.RecordBatch.from_arrays(
        [
            ids,
            ids.take(pa.array(found.kept)),
            _strip_old(table["component"]),
            pa.array(found.jaccard, pa.float64()),
            pa.array(found.capped, pa.bool_()),
        ],
        schema=ASSIGNED,
    )


def assignments(sketches: DataFrame, components: DataFrame, config: MinHashConfig) -> DataFrame:
    """(doc_id, kept_id, component, jaccard, capped) of every member of a component with an edge: the
    per-document rule (`clusters.clusters`) over each component's members in id order, in one task."""
    members = components.join(sketches.select(F.col("doc_id").alias("node"), "signature", "shingles"), "node").select(
        F.col("node").alias("doc_id"), "component", "signature", "shingles"
    )
    ordered = members.repartition("component").sortWithinPartitions("component", "doc_id")
    return ordered.mapInArrow(
        lambda it: _cluster_rows(it, config),
        "doc_id string, kept_id string, component string, jaccard double, capped boolean",
    )


def _near_drop_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from records.near_drop_table(
            batch.column("doc_id").to_pylist(),
            batch.column("kept_id").to_pylist(),
            batch.column("component").to_pylist(),
            batch.column("jaccard").to_numpy(zero_copy_only=False),
            batch.column("source").to_pylist(),
        ).to_batches()


def near_assignments(
    spark: SparkSession,
    config: MinHashConfig,
    sketches: DataFrame,
    reference: DataFrame | None = None,
) -> DataFrame:
    """The rule's assignments of the sketched documents (and the reference L1 documents they touch)."""
    bands, rows = band_layout(config)
    log.info("minhash: %d permutations, %d bands x %d rows, verify=%s", config.num_perm, bands, rows, config.verify)
    if reference is not None:
        sketches = sketches.unionByName(reference_sketches(reference, sketches)).localCheckpoint()
    edges = candidate_edges(sketches)
    if reference is not None:
        edges = edges.filter(~(F.col("src").startswith(OLD) & F.col("dst").startswith(OLD)))
    components = connected_components(spark, verified_edges(sketches, edges, config))
    return assignments(sketches, components, config)


def near_duplicates(assigned: DataFrame, docs: DataFrame) -> DataFrame:
    """Drop records of the near duplicates among `near_assignments`' rows (`docs`: their sources)."""
    dropped = (
        assigned.filter(F.col("kept_id") != F.col("doc_id"))
        .join(docs.select("doc_id", "source"), "doc_id", "left")
        .select("doc_id", "kept_id", "component", "jaccard", "source")
    )
    return dropped.mapInArrow(_near_drop_rows, DROP_DDL)


def evidence(docs: DataFrame, drops: DataFrame, assigned: DataFrame | None, dedup: DedupConfig) -> dict:
    """The summary's dedup evidence (as the local body's `evidence`), from aggregates only."""
    flags, found = dedup.flags, {}
    if assigned is not None:
        near = assigned.filter(F.col("kept_id") != F.col("doc_id"))
        stats = near.agg(F.min("jaccard"), F.median("jaccard"), F.count(F.lit(1))).first()
        below = near.filter(F.col("jaccard") < dedup.minhash.jaccard_threshold).count()
        capped = assigned.filter("capped").agg(F.countDistinct("component"), F.count(F.lit(1))).first()
        sizes = assigned.groupBy("component").count()
        large = sizes.filter(F.col("count") > flags.component_size)
        found = {
            "capped_components": int(capped[0]),
            "capped_documents": int(capped[1]),
            **records.flagged_components(
                {row["component"]: row["count"] for row in large.collect()},
                flags.component_size,
                largest=sizes.agg(F.max("count")).first()[0] or 0,
            ),
        }
        found.update(records.jaccard_stats(stats[0], stats[1], below, dedup.minhash.jaccard_threshold))
    lost = docs.select("doc_id", "source", "url").join(
        drops.select("doc_id", F.lit(True).alias("dropped")), "doc_id", "left"
    )
    host = F.regexp_extract(F.lower("url"), records.DOMAIN_PATTERN, 1)
    found["sources_flagged"] = []
    for kind, key in (("source", F.col("source")), ("domain", F.when(host != "", host))):
        counts = (
            lost.select(key.alias("key"), F.coalesce("dropped", F.lit(False)).cast("int").alias("dropped"))
            .filter(F.col("key").isNotNull())
            .groupBy("key")
            .agg(F.count(F.lit(1)).alias("docs"), F.sum("dropped").alias("lost"))
            .filter(
                (F.col("docs") >= flags.source_min_docs) & (F.col("lost") > F.col("docs") * flags.source_drop_share)
            )
        )
        found["sources_flagged"] += records.flag_sources(
            kind,
            [(r["key"], r["docs"], r["lost"]) for r in counts.collect()],
            flags.source_drop_share,
            flags.source_min_docs,
        )
    return found


def remove_dropped(docs: DataFrame, *drops: DataFrame) -> DataFrame:
    ids = drops[0].select("doc_id")
    for frame in drops[1:]:
        ids = ids.union(frame.select("doc_id"))
    return docs.join(ids.distinct(), "doc_id", "left_anti")
