"""Exact and MinHash near-duplicate dedup on Spark: this module moves data to and from the rule's pure
functions (tiers/dedup/: `exact.exact_keys`, `near.sketch`, `near.bucket_links`, `near.verified_components`,
`near.component_roots`, `clusters.clusters`, `records`), which the local engine runs in one process;
only the grouping is Spark's. Both steps return drop records computed on narrow data (ids, hashes,
sketches); the caller removes the dropped ids from the documents in one join, so texts move once.
Nothing is collected on the driver but one count and the evidence's aggregates. Near dedup:

1. `document_sketches`: each document's text hash, signature, band keys and sorted shingle-hash set,
   one pass over the texts (mapInArrow, one lower-cased buffer per batch for both, as locally).
2. `numbered`: each sketched document gets an int64 position in id order (one range sort of the ids
   and band keys), so everything after moves integers.
3. `candidate_edges`: the band keys exploded to (position, band, key), one shuffle by bucket, and
   `bucket_links` over each task's buckets sorted by (band, key, position) in numpy (exact duplicates
   are not in the buckets, and pairs of two reference documents are left out, as the local rule does).
4. `connected_components` of the candidate edges: in one task (`component_roots`) while they are at
   most `ONE_TASK_EDGES`, else components inside each partition and large-star / small-star rounds.
5. `assignments`: each candidate component's sketches (each document once) and edges in one task,
   sorted by position: `verified_components` and `clusters` there, exactly as `rule.near_clusters`
   runs them on a whole run. A verified component lies inside one candidate component, so the
   result is the local rule's.

Incremental runs pass a `reference`: the dedup indexes of earlier L1 runs. Only its L1 documents
(kept_id = doc_id) that share a text hash or a band key with a new document are read past the scan;
their ids get the `OLD` prefix, which sorts before every id, so they come first in the rule's order,
are always kept and are never absorbed. Pairs with an old document get the same exact check, from the
shingle sets in the index (the old texts are not read again).
"""

from __future__ import annotations

import functools
import logging
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, IntegerType, LongType, StructField, StructType

from jobs.spark import computed_once
from tiers.config import DedupConfig, MinHashConfig
from tiers.dedup import records
from tiers.dedup.clusters import clusters
from tiers.dedup.exact import exact_keys
from tiers.dedup.near import Sketches, band_layout, bucket_links, component_roots, sketch, verified_components
from tiers.dedup.sketch_columns import (
    KEYS,
    SIGNATURE,
    keys_column,
    matrix,
    packed_index,
    shingle_sets,
    shingles_column,
    signature_column,
)
from tiers.text import LoweredBatch

log = logging.getLogger(__name__)

DOCUMENT_SKETCHES = pa.schema(
    [
        ("doc_id", pa.string()),
        ("text_hash", pa.string()),
        ("signature", pa.binary()),
        ("keys", pa.binary()),
        ("shingles", pa.binary()),
    ]
)
EDGES = pa.schema([("src", pa.int64()), ("dst", pa.int64())])
COMPONENTS = pa.schema([("node", pa.int64()), ("component", pa.int64())])
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
SHOWN_COMPONENTS = 20  # the largest components the summary names
ONE_TASK_EDGES = 4_000_000
"""Candidate edges up to which connected components run in one task (about 100 bytes an edge there);
above it, in star rounds over the whole cluster."""

BROADCAST_DOCUMENTS = 1_000_000
"""Up to this many sketched documents, each document's (position, component, id) reaches every rule task
(a broadcast of about 60 bytes a document) and the sketches are shuffled once, into their components;
above it, they are shuffled twice (to meet their component, then into it)."""

OLD = "\x01"  # prefix of reference ids: sorts before every doc_id (hex), so the document already in L1 comes first


def _whole(batches: Iterator[pa.RecordBatch]) -> pa.RecordBatch | None:
    """A task's batches as one (a bucket or a component may span batches); None when it has no rows."""
    batches = [batch for batch in batches if batch.num_rows]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0] if batches else None


def _strip_old(column: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(column, "^\x01", "")


def _document_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig | None) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        texts = batch.column("text").to_pylist()
        lowered = LoweredBatch.of(texts)
        hashes = pa.array(exact_keys(texts, lowered), pa.string())
        if config is None:
            columns = [
                pa.nulls(batch.num_rows, DOCUMENT_SKETCHES.field(n).type) for n in ("signature", "keys", "shingles")
            ]
        else:
            found = sketch(lowered, config)
            row_of = np.full(batch.num_rows, -1, dtype=np.int64)
            row_of[found.present] = np.arange(len(found.present))
            rows = pa.array(row_of, mask=row_of < 0)
            columns = [c.take(rows) for c in (signature_column(found), keys_column(found), shingles_column(found))]
        yield pa.RecordBatch.from_arrays([batch.column("doc_id"), hashes, *columns], schema=DOCUMENT_SKETCHES)


def document_sketches(docs: DataFrame, config: MinHashConfig | None) -> DataFrame:
    """(doc_id, text_hash, signature, keys, shingles) of every document, in one pass over the texts:
    `text_hash` is `exact.exact_keys`; signature, keys and shingles (packed bytes, tiers/dedup/sketch_columns)
    are null without `config` and for a text without shingles."""
    return docs.select("doc_id", "text").mapInArrow(
        lambda it: _document_rows(it, config),
        "doc_id string, text_hash string, signature binary, keys binary, shingles binary",
    )


def text_hashes(docs: DataFrame) -> DataFrame:
    """(doc_id, text_hash), the exact-dedup key of `exact.exact_keys`."""
    return document_sketches(docs, None).select("doc_id", "text_hash")


def sketched(documents: DataFrame) -> DataFrame:
    """The rows of `document_sketches` that have a sketch: (doc_id, signature, keys, shingles)."""
    return documents.filter(F.col("keys").isNotNull()).select("doc_id", "signature", "keys", "shingles")


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


def sketch_frame(docs: DataFrame, config: MinHashConfig) -> DataFrame:
    """(doc_id, signature, keys, shingles) of every document with at least one shingle."""
    return sketched(document_sketches(docs, config))


def _band_rows(batches: Iterator[pa.RecordBatch], carried: list[str]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        batch = batch.filter(pc.is_valid(batch.column("keys")))
        keys = matrix(batch.column("keys"), KEYS)
        bands = keys.shape[1] if keys.size else 0
        rows = pa.array(np.repeat(np.arange(batch.num_rows), bands))
        columns = [batch.column(name).take(rows) for name in carried]
        band = pa.array(np.tile(np.arange(bands, dtype=np.int32), batch.num_rows))
        yield pa.RecordBatch.from_arrays(
            [*columns, band, pa.array(keys.ravel().astype(np.int64))], [*carried, "band", "key"]
        )


def band_rows(frame: DataFrame, carried: list[str]) -> DataFrame:
    """(carried columns, band, key): one row per band key of each row of `frame` that has keys."""
    fields = [frame.schema[name] for name in carried]
    schema = StructType([*fields, StructField("band", IntegerType(), False), StructField("key", LongType(), False)])
    return frame.select(*carried, "keys").mapInArrow(lambda it: _band_rows(it, carried), schema)


def numbered(sketches: DataFrame) -> DataFrame:
    """(doc_id, pos, keys) of the sketched documents: `pos` is an int64 that orders the documents as their
    ids do (a range sort by doc_id, then each partition's row numbers above the partitions before it), so
    links, components and the rule's tasks move and compare integers, not ids."""
    ordered = sketches.select("doc_id", "keys").orderBy("doc_id")
    return ordered.select("doc_id", F.monotonically_increasing_id().alias("pos"), "keys")


def _bucket_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """`near.bucket_links` over one task's (pos, old, band, key) rows, each bucket's members in position
    order; a link between two reference documents is left out."""
    table = _whole(batches)
    if table is None:
        return
    band, key, pos = (table[name].to_numpy() for name in ("band", "key", "pos"))
    order = np.lexsort((pos, key, band))
    band, key, pos, old = band[order], key[order], pos[order], table["old"].to_numpy(zero_copy_only=False)[order]
    opens = np.ones(len(band), dtype=bool)
    opens[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    members, targets, further = bucket_links(opens)
    has_further = further >= 0
    src = np.concatenate([members, members[has_further]])
    dst = np.concatenate([targets, further[has_further]])
    new = ~(old[src] & old[dst])
    yield pa.RecordBatch.from_arrays([pa.array(pos[src[new]]), pa.array(pos[dst[new]])], schema=EDGES)


def candidate_edges(numbered: DataFrame) -> DataFrame:
    """Distinct (src, dst) positions with dst < src: `near.bucket_links` over the members of each (band,
    key) bucket of `numbered` (doc_id, pos, keys), pairs of two reference documents left out."""
    exploded = band_rows(numbered.withColumn("old", F.col("doc_id").startswith(OLD)), ["pos", "old"])
    return exploded.repartition("band", "key").mapInArrow(_bucket_rows, "src long, dst long").distinct()


def _roots(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, the smallest node each reaches) over the edges (src, dst)."""
    nodes = np.unique(np.concatenate([src, dst]))
    roots = component_roots(len(nodes), np.searchsorted(nodes, src), np.searchsorted(nodes, dst))
    return nodes, nodes[roots]


def _partition_stars(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition's edges collapsed to stars: (node, smallest node it reaches within the partition)."""
    table = _whole(batches)
    if table is None:
        return
    nodes, roots = _roots(table["src"].to_numpy(), table["dst"].to_numpy())
    moved = nodes != roots
    yield pa.RecordBatch.from_arrays([pa.array(nodes[moved]), pa.array(roots[moved])], schema=EDGES)


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


def _one_task_components(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = _whole(batches)
    if table is None:
        return
    nodes, roots = _roots(table["src"].to_numpy(), table["dst"].to_numpy())
    yield pa.RecordBatch.from_arrays([pa.array(nodes), pa.array(roots)], schema=COMPONENTS)


def connected_components(
    spark: SparkSession, edges: DataFrame, max_iterations: int = 50, one_task_edges: int = ONE_TASK_EDGES
) -> DataFrame:
    """(node, component) for every node of `edges`, component being the smallest node id reachable.

    Up to `one_task_edges` edges (one count decides), one task runs `near.component_roots` over all of
    them. Above, the components inside each partition first collapse what one task can see into stars;
    then large-star and small-star rounds (Kiveris et al., "Connected Components in MapReduce and
    Beyond") alternate until every edge points from a node to a root that has no smaller neighbour,
    which takes O(log n) rounds even on long chains. Each round is checkpointed; nothing reaches the
    driver but one count per round.
    """
    edges = edges.select("src", "dst")
    if one_task_edges > 0 and edges.count() <= one_task_edges:
        return edges.repartition(1).mapInArrow(_one_task_components, "node long, component long")
    current = computed_once(edges.mapInArrow(_partition_stars, "src long, dst long"))
    for iteration in range(max_iterations):
        current = computed_once(_small_star(_large_star(current)))
        # converged when no edge's target is itself the source of another edge (every component a star)
        unfinished = current.join(current.select(F.col("src").alias("dst")).distinct(), "dst", "left_semi").count()
        log.info("connected components: round %d, %d edges not yet at their root", iteration + 1, unfinished)
        if unfinished == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")
    roots = current.select(F.col("dst").alias("node"), F.col("dst").alias("component")).distinct()
    return current.select(F.col("src").alias("node"), F.col("dst").alias("component")).union(roots)


def _packed_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from packed_index(pa.Table.from_batches([batch])).to_batches()


def reference_indexes(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The dedup indexes at `paths` as one frame, sketch columns packed (`sketch_columns.packed_index`:
    indexes written before stored signature and keys as arrays)."""
    frames = []
    for path in paths:
        frame = spark.read.parquet(path)
        if frame.schema["signature"].dataType.typeName() == "array":
            packed = StructType(
                [
                    StructField(f.name, BinaryType(), True) if f.name in ("signature", "keys") else f
                    for f in frame.schema.fields
                ]
            )
            frame = frame.mapInArrow(_packed_rows, packed)
        frames.append(frame)
    return functools.reduce(DataFrame.unionByName, frames)


def reference_sketches(reference: DataFrame, sketches: DataFrame) -> DataFrame:
    """The reference L1 documents (ids prefixed with OLD) that share a band key with a new document."""
    new_keys = band_rows(sketches, []).distinct()
    old = (
        l1_rows(reference)
        .filter(F.col("keys").isNotNull())
        .select(F.concat(F.lit(OLD), "doc_id").alias("doc_id"), "signature", "keys", "shingles")
    )
    touching = band_rows(old, ["doc_id"]).join(new_keys, ["band", "key"], "left_semi").select("doc_id").distinct()
    return old.join(touching, "doc_id", "left_semi")


def _rule_rows(batches: Iterator[pa.RecordBatch], config: MinHashConfig) -> Iterator[pa.RecordBatch]:
    """The rule over one task's candidate components: members (rows with a `doc_id`) sorted by (component,
    pos) and their candidate edges (src in `pos`); yields the members of verified components of at least
    two documents."""
    table = _whole(batches)
    if table is None:
        return
    is_member = pc.is_valid(table.column("doc_id"))
    members, edges = table.filter(is_member), table.filter(pc.invert(is_member))
    ids, positions, rows = members.column("doc_id"), members.column("pos"), members.num_rows
    values, offsets = shingle_sets(members.column("shingles"))
    signature_matrix = matrix(members.column("signature"), SIGNATURE).astype(np.uint32, copy=False)
    sketches = Sketches(np.arange(rows), signature_matrix, np.empty((rows, 0)), values, offsets)
    src = pc.index_in(edges.column("pos"), value_set=positions).to_numpy(zero_copy_only=False).astype(np.int64)
    dst = pc.index_in(edges.column("dst"), value_set=positions).to_numpy(zero_copy_only=False).astype(np.int64)
    roots = verified_components(sketches, src, dst, config).roots
    fixed = pc.starts_with(ids, OLD).to_numpy(zero_copy_only=False)
    found = clusters(roots, sketches, config.jaccard_threshold, config.max_cluster_comparisons, fixed)
    shown = pa.array(np.flatnonzero(np.bincount(roots, minlength=rows)[roots] > 1))
    plain = _strip_old(ids)
    yield pa.RecordBatch.from_arrays(
        [
            plain.take(shown),
            plain.take(pa.array(found.kept)).take(shown),
            plain.take(pa.array(roots)).take(shown),
            pa.array(found.jaccard, pa.float64()).take(shown),
            pa.array(found.capped, pa.bool_()).take(shown),
        ],
        schema=ASSIGNED,
    )


def assignments(
    sketches: DataFrame,
    numbered: DataFrame,
    edges: DataFrame,
    components: DataFrame,
    config: MinHashConfig,
    documents: int | None = None,
) -> DataFrame:
    """(doc_id, kept_id, component, jaccard, capped) of every member of a verified component of at least
    two documents: each candidate component's sketches and candidate edges in one task (`_rule_rows`);
    `numbered` gives the documents' positions, `documents` their number (up to `BROADCAST_DOCUMENTS`, the
    placements are broadcast)."""
    small = documents is not None and documents <= BROADCAST_DOCUMENTS
    shared = F.broadcast(components) if small else components
    placed = shared.join(numbered.select(F.col("pos").alias("node"), "doc_id"), "node")
    if small:
        placed = F.broadcast(placed)
    members = (
        sketches.select("doc_id", "signature", "shingles")
        .join(placed, "doc_id")
        .select(
            "component",
            F.col("node").alias("pos"),
            "doc_id",
            "signature",
            "shingles",
            F.lit(None).cast("long").alias("dst"),
        )
    )
    pairs = edges.join(shared.select(F.col("node").alias("src"), "component"), "src").select(
        "component",
        F.col("src").alias("pos"),
        F.lit(None).cast("string").alias("doc_id"),
        F.lit(None).cast("binary").alias("signature"),
        F.lit(None).cast("binary").alias("shingles"),
        "dst",
    )
    ordered = members.unionByName(pairs).repartition("component").sortWithinPartitions("component", "pos")
    return ordered.mapInArrow(
        lambda it: _rule_rows(it, config),
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
    excluded: DataFrame | None = None,
) -> DataFrame:
    """The rule's assignments of the sketched documents (and the reference L1 documents they touch);
    documents in `excluded` (doc_id: the exact duplicates) are left out of the buckets, as in
    `rule.near_clusters`."""
    bands, rows = band_layout(config)
    log.info("minhash: %d permutations, %d bands x %d rows, verify=%s", config.num_perm, bands, rows, config.verify)
    old = reference_sketches(reference, sketches) if reference is not None else None  # by every new key, as locally
    if excluded is not None:
        sketches = sketches.join(excluded.select("doc_id"), "doc_id", "left_anti")
    if old is not None:
        sketches = computed_once(sketches.unionByName(old))
    positions = computed_once(numbered(sketches))
    edges = computed_once(candidate_edges(positions))  # read by the components and by the rule's tasks
    components = connected_components(spark, edges)
    return assignments(sketches, positions, edges, components, config, positions.count())


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
        is_near = F.col("kept_id") != F.col("doc_id")
        near_jaccard = F.when(is_near, F.col("jaccard"))
        stats = assigned.agg(
            F.min(near_jaccard),
            F.median(near_jaccard),
            F.sum((is_near & (F.col("jaccard") < dedup.minhash.jaccard_threshold)).cast("int")),
            F.countDistinct(F.when(F.col("capped"), F.col("component"))),
            F.sum(F.col("capped").cast("int")),
        ).first()
        sizes = assigned.groupBy("component").count()
        large = sizes.filter(F.col("count") > flags.component_size)
        counted = sizes.agg(F.max("count"), F.sum((F.col("count") > flags.component_size).cast("int"))).first()
        shown = large.orderBy(F.desc("count"), "component").limit(SHOWN_COMPONENTS).collect()
        found = {
            "capped_components": int(stats[3]),
            "capped_documents": int(stats[4] or 0),
            **records.flagged_components(
                {row["component"]: row["count"] for row in shown},
                flags.component_size,
                largest=counted[0] or 0,
                show=SHOWN_COMPONENTS,
            ),
            "components_over_size": int(counted[1] or 0),  # `shown` holds at most SHOWN_COMPONENTS of them
        }
        found.update(records.jaccard_stats(stats[0], stats[1], int(stats[2] or 0), dedup.minhash.jaccard_threshold))
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
