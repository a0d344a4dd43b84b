"""L1 dedup's local body: moves a run's documents and the reference rows to the dedup rule
(tiers/dedup/rule.py) and its drops (tiers/dedup/records.py) to files, with the same decisions as the
Spark body: exact copies first (smallest id kept), then near duplicates by the per-document rule among
the survivors; a document of an earlier L1 run (from its dedup index) is always kept."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiers.schemas import DEDUP_INDEX as INDEX
from jobs.parquet_folder import folder_files, read_files, write_folder
from jobs.runner import JobRun
from jobs.stage_inputs import DedupInputs
from jobs.token_spec import can_count_tokens
from tiers import schemas
from tiers.config import TiersConfig
from tiers.dedup import records
from tiers.dedup.exact import exact_keys
from tiers.dedup.near import Sketches, sketch
from tiers.dedup.reasons import CLUSTER_SIZE
from tiers.dedup.rule import near_clusters
from tiers.dedup.sketch_columns import (
    KEYS,
    keys_column,
    matrix,
    packed_index,
    shingles_column,
    signature_column,
    sketches_of,
)
from tiers.text import LoweredBatch
from tiers.tokens import count_tokens
from tiers.names import L1

log = logging.getLogger(__name__)

INDEX_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("text_hash", pa.string()),
        ("signature", pa.binary()),
        ("keys", pa.binary()),
        ("shingles", pa.binary()),
        ("kept_id", pa.string()),
    ]
)


@dataclass
class Reference:
    """L1 documents of earlier runs' dedup indexes (rows whose kept_id is themselves) that share a text
    hash or a band key with a new document, ordered by doc_id: they come first in the rule's order."""

    by_hash: pa.Table
    sketched: pa.Table


@dataclass
class NearDrops:
    """The near duplicates of a run: positions among its documents, the L1 document each names, the
    measured Jaccard with it and the id of its component; plus the run's evidence."""

    positions: np.ndarray
    kept: list[str]
    jaccard: np.ndarray
    components: list[str]
    evidence: dict


def _read_index(files: list[str], columns: list[str] | None = None, keep=None) -> pa.Table:
    """Rows of dedup index files, each file's sketch columns packed (`packed_index`: older indexes)."""
    tables = [packed_index(t) for f in files if (t := read_files([f], columns=columns, keep=keep)) is not None]
    if not tables:
        schema = INDEX_SCHEMA if columns is None else pa.schema([INDEX_SCHEMA.field(c) for c in columns])
        return schema.empty_table()
    return pa.concat_tables(tables, promote_options="permissive")


def load_reference(references: list[str], hashes: list[str | None], keys: np.ndarray | None) -> Reference:
    files = folder_files(references)
    small = _read_index(files, columns=["doc_id", "text_hash", "keys", "kept_id"])
    small = small.filter(pc.equal(small["doc_id"], small["kept_id"]))
    by_hash = small.filter(
        pc.is_in(small["text_hash"], value_set=pa.array(sorted({h for h in hashes if h is not None}), pa.string()))
    )
    touching: list[str] = []
    if keys is not None and len(keys):
        sketched_rows = small.filter(pc.is_valid(small["keys"]))
        old_keys = matrix(sketched_rows["keys"], KEYS)
        shared = np.zeros(len(old_keys), dtype=bool)
        for band in range(min(keys.shape[1], old_keys.shape[1] if old_keys.size else 0)):
            shared |= np.isin(old_keys[:, band], keys[:, band])
        touching = sorted(set(sketched_rows["doc_id"].filter(pa.array(shared)).to_pylist()))
    wanted_ids = pa.array(touching, pa.string())
    sketched = (
        _read_index(files, keep=lambda table: pc.is_in(table["doc_id"], value_set=wanted_ids))
        if touching
        else INDEX_SCHEMA.empty_table()
    )
    return Reference(by_hash.sort_by("doc_id"), sketched.sort_by("doc_id"))


def exact_drops(ids: list[str], hashes: list[str | None], reference: Reference | None) -> dict[int, str]:
    """Position of each new document whose text hash an older or smaller document has -> the kept L1 id."""
    owner: dict[str | None, str] = {}
    if reference is not None:
        for old_hash, kept in zip(reference.by_hash["text_hash"].to_pylist(), reference.by_hash["kept_id"].to_pylist()):
            owner.setdefault(old_hash, kept)
    drops = {}
    for position, (doc_id, digest) in enumerate(zip(ids, hashes)):
        kept = owner.setdefault(digest, doc_id)
        if kept != doc_id:
            drops[position] = kept
    return drops


def near_drops(
    ids: list[str], sketches: Sketches, excluded: np.ndarray, config: TiersConfig, reference: Reference | None
) -> NearDrops:
    """The rule over the sketches but those at `excluded` (exact duplicates), after the reference documents."""
    minhash = config.l1.dedup.minhash
    old = reference.sketched if reference is not None else INDEX_SCHEMA.empty_table()
    m = old.num_rows
    combined = sketches_of(old).followed_by(sketches) if m else sketches
    result = near_clusters(combined, m, minhash, excluded + m)
    found = result.clusters
    names = old["doc_id"].to_pylist() + [ids[p] for p in sketches.present.tolist()]
    dropped = found.dropped()
    in_component = np.flatnonzero(np.bincount(result.components, minlength=len(names))[result.components] > 1)
    evidence = {
        "candidate_links": result.candidates,
        "joining_edges": result.edges,
        "capped_components": len(np.unique(result.components[found.capped])),
        "capped_documents": int(found.capped.sum()),
        **records.flagged_components(
            Counter(names[c] for c in result.components[in_component].tolist()), config.l1.dedup.flags.component_size
        ),
    }
    log.info(
        "minhash: %d candidate links, %d verified links joining components, %d near duplicates",
        result.candidates,
        result.edges,
        len(dropped),
    )
    return NearDrops(
        sketches.present[dropped - m],
        [names[k] for k in found.kept[dropped].tolist()],
        found.jaccard[dropped],
        [names[c] for c in result.components[dropped].tolist()],
        evidence,
    )


def exact_copies_of_near(exact: dict[int, str], near_kept: dict[str, str]) -> tuple[list[str], list[str | None]]:
    """Kept id and `copy_of` of each exact drop (by position): an exact copy of a document the near rule
    dropped names that document's L1 document."""
    kept, copy_of = [], []
    for position in sorted(exact):
        twin = exact[position]
        kept.append(near_kept.get(twin, twin))
        copy_of.append(twin if twin in near_kept else None)
    return kept, copy_of


def write_dedup_outputs(inputs: DedupInputs, run: JobRun) -> dict:
    """Write L1, the drops and the dedup index of `source` (deduplicated against `references`) under
    `run`'s staging; returns the run's dedup evidence for its summary."""
    config, source, references = inputs.config, inputs.source, inputs.references
    dedup, minhash = config.l1.dedup, config.l1.dedup.minhash
    docs = read_files(folder_files([source])).sort_by("doc_id")
    ids, texts = docs["doc_id"].to_pylist(), docs["text"].to_pylist()
    lowered = LoweredBatch.of(texts)
    hashes = exact_keys(texts, lowered)
    sketches = sketch(lowered, minhash) if minhash.enabled else None
    reference = load_reference(references, hashes, sketches.keys if sketches else None) if references else None
    exact = exact_drops(ids, hashes, reference) if dedup.exact else {}
    near = None
    if sketches is not None:
        duplicates = np.flatnonzero(np.isin(sketches.present, np.fromiter(exact, np.int64, len(exact))))
        near = near_drops(ids, sketches, duplicates, config, reference)
    near_kept = dict(zip((ids[p] for p in near.positions.tolist()), near.kept)) if near else {}
    exact_kept, copy_of = exact_copies_of_near(exact, near_kept)
    exact_ids = [ids[p] for p in sorted(exact)]
    tables = [records.exact_drop_table(exact_ids, exact_kept, copy_of)]
    if near is not None:
        sources = docs["source"].take(pa.array(near.positions, pa.int64())).to_pylist()
        tables.append(records.near_drop_table(list(near_kept), near.kept, near.components, near.jaccard, sources))
    drops = pa.concat_tables(tables)
    write_folder(
        run.stage("drops"),
        schemas.DROPS,
        [drops.append_column("run_id", pa.array([run.run_id] * drops.num_rows, pa.string()))],
    )
    kept_of = {**dict(zip(exact_ids, exact_kept)), **near_kept}
    dropped = np.isin(
        np.arange(len(ids)), np.concatenate([np.fromiter(exact, np.int64, len(exact)), near.positions if near else []])
    )
    l1 = docs.filter(pa.array(~dropped))
    l1_texts = l1["text"].to_pylist()
    counts = (
        count_tokens(l1_texts, config.tokens.tokenizer)
        if can_count_tokens(config.tokens.tokenizer)
        else [None] * l1.num_rows
    )
    l1_ids = l1["doc_id"].to_pylist()
    l1 = l1.append_column(schemas.N_TOKENS, pa.array(counts, pa.int64()))
    l1 = l1.append_column(CLUSTER_SIZE, pa.array(records.cluster_sizes(l1_ids, list(kept_of.values())), pa.int64()))
    l1 = l1.append_column("parent_ids", pa.array([[i] for i in l1_ids], pa.list_(pa.string())))
    l1 = l1.append_column("run_id", pa.array([run.run_id] * l1.num_rows, pa.string()))
    write_folder(run.stage(L1, tier=L1), l1.schema, [l1])
    write_folder(run.stage(INDEX), INDEX_SCHEMA, [_index_rows(ids, hashes, sketches, kept_of)])
    return evidence(config, docs, dropped, near)


def evidence(config: TiersConfig, docs: pa.Table, dropped: np.ndarray, near: NearDrops | None) -> dict:
    """The summary's dedup evidence: near drops' Jaccard, capped work, large components, sources that lose
    more than the configured share."""
    flags = config.l1.dedup.flags
    found = dict(near.evidence) if near else {}
    if near is not None:
        found.update(records.jaccard_summary(near.jaccard, config.l1.dedup.minhash.jaccard_threshold))
    found["sources_flagged"] = [
        flag
        for kind, keys in (("source", docs["source"]), ("domain", records.domains(docs["url"])))
        for flag in records.flag_sources(
            kind, records.source_counts(keys, dropped), flags.source_drop_share, flags.source_min_docs
        )
    ]
    return found


def _index_rows(
    ids: list[str], hashes: list[str | None], sketches: Sketches | None, kept_of: dict[int, str]
) -> pa.Table:
    count = len(ids)
    if sketches is None:
        signature, keys, shingles = (
            pa.nulls(count, INDEX_SCHEMA.field(name).type) for name in ("signature", "keys", "shingles")
        )
    else:
        row_of = np.full(count, -1, dtype=np.int64)
        row_of[sketches.present] = np.arange(len(sketches.present))
        rows = pa.array(row_of, mask=row_of < 0)
        signature, keys, shingles = (
            column.take(rows)
            for column in (signature_column(sketches), keys_column(sketches), shingles_column(sketches))
        )
    return pa.table(
        {
            "doc_id": ids,
            "text_hash": hashes,
            "signature": signature,
            "keys": keys,
            "shingles": shingles,
            "kept_id": [kept_of.get(doc_id, doc_id) for doc_id in ids],
        },
        schema=INDEX_SCHEMA,
    )
