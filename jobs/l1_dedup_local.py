"""L1 dedup's local body: exact and near dedup in this process (tiers/dedup/near.py), with the same
decisions as the Spark body: the smallest id of a cluster is kept, a document of an earlier L1 run
(from its dedup index) is always kept, and a new copy of it is dropped naming its L1 document."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiers.schemas import DEDUP_INDEX as INDEX
from jobs.parquet_folder import folder_files, read_files, write_folder
from jobs.runner import JobRun
from jobs.token_spec import can_count_tokens
from tiers import schemas
from tiers.config import MinHashConfig, TiersConfig
from tiers.dedup.exact import exact_keys
from tiers.dedup.near import Sketches, candidate_pairs, component_roots, sketch, verified_pairs
from tiers.dedup.sketch_columns import keys_column, shingles_column, signature_column, sketches_of
from tiers.text import LoweredBatch
from tiers.tokens import count_tokens

log = logging.getLogger(__name__)

INDEX_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("text_hash", pa.string()),
        ("signature", pa.list_(pa.int32())),
        ("keys", pa.list_(pa.int64())),
        ("shingles", pa.binary()),
        ("kept_id", pa.string()),
    ]
)


@dataclass
class Reference:
    """Rows of earlier runs' dedup indexes that share a text hash or a band key with a new document,
    ordered by doc_id (an older document always sorts first, so it is always the one kept)."""

    by_hash: pa.Table
    sketched: pa.Table


def load_reference(references: list[str], hashes: list[str | None], keys: np.ndarray | None) -> Reference:
    files = folder_files(references)
    small = read_files(files, columns=["doc_id", "text_hash", "keys", "kept_id"])
    by_hash = small.filter(
        pc.is_in(small["text_hash"], value_set=pa.array(sorted({h for h in hashes if h is not None}), pa.string()))
    )
    touching: list[str] = []
    if keys is not None and len(keys):
        lists = small["keys"].combine_chunks()
        parents = pc.list_parent_indices(lists).to_numpy()
        offsets = lists.offsets.to_numpy()
        bands = np.arange(len(parents)) - (offsets[parents] - offsets[0])  # each key's place in its list
        values = pc.list_flatten(lists).to_numpy()
        shared = np.zeros(len(values), dtype=bool)
        for band in range(keys.shape[1]):
            in_band = np.flatnonzero(bands == band)
            shared[in_band] = np.isin(values[in_band], keys[:, band])
        rows = np.unique(parents[shared])
        touching = sorted(set(small["doc_id"].take(pa.array(rows, pa.int64())).to_pylist()))
    wanted_ids = pa.array(touching, pa.string())
    sketched = (
        read_files(files, keep=lambda table: pc.is_in(table["doc_id"], value_set=wanted_ids))
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
    ids: list[str], sketches: Sketches, config: MinHashConfig, reference: Reference | None
) -> dict[int, str]:
    """Position of each new document in a near-duplicate cluster with an older or smaller one -> the kept L1 id."""
    old = reference.sketched if reference is not None else INDEX_SCHEMA.empty_table()
    m = old.num_rows
    combined = sketches_of(old).followed_by(sketches) if m else sketches
    src, dst = candidate_pairs(combined.keys)
    new_pair = src >= m  # a pair of two old documents was decided by an earlier run
    src, dst = src[new_pair], dst[new_pair]
    keep = verified_pairs(combined, src, dst, config)
    roots = component_roots(len(combined.keys), src[keep], dst[keep])
    old_kept = old["kept_id"].to_pylist()
    drops = {}
    for node in np.flatnonzero(roots[m:] != np.arange(m, len(roots))) + m:
        root = int(roots[node])
        drops[int(sketches.present[node - m])] = old_kept[root] if root < m else ids[int(sketches.present[root - m])]
    log.info("minhash: %d candidate pairs, %d verified, %d near duplicates", len(src), int(keep.sum()), len(drops))
    return drops


def _drop_rows(
    drops: dict[int, str], ids: list[str], stage: str, reason: str, with_cluster: bool, run_id: str
) -> pa.Table:
    positions = sorted(drops)
    details = [
        json.dumps(
            {"kept": drops[p], "cluster": drops[p]} if with_cluster else {"kept": drops[p]}, separators=(",", ":")
        )
        for p in positions
    ]
    return pa.table(
        {
            "doc_id": [ids[p] for p in positions],
            "stage": [stage] * len(positions),
            "reason": [reason] * len(positions),
            "details": details,
            "run_id": [run_id] * len(positions),
        },
        schema=schemas.DROPS,
    )


def write_dedup_outputs(config: TiersConfig, source: str, references: list[str], run: JobRun) -> None:
    """Write L1, the drops and the dedup index of `source` (deduplicated against `references`) under `run`'s staging."""
    dedup, minhash = config.l1.dedup, config.l1.dedup.minhash
    docs = read_files(folder_files([source])).sort_by("doc_id")
    ids, texts = docs["doc_id"].to_pylist(), docs["text"].to_pylist()
    lowered = LoweredBatch.of(texts)
    hashes = exact_keys(texts, lowered)
    sketches = sketch(lowered, minhash) if minhash.enabled else None
    reference = load_reference(references, hashes, sketches.keys if sketches else None) if references else None
    exact = exact_drops(ids, hashes, reference) if dedup.exact else {}
    near = near_drops(ids, sketches, minhash, reference) if sketches is not None else {}
    near = {p: kept for p, kept in near.items() if p not in exact}
    write_folder(
        run.stage("drops"),
        schemas.DROPS,
        [
            _drop_rows(exact, ids, "exact_dedup", "exact_duplicate", False, run.run_id),
            _drop_rows(near, ids, "minhash_dedup", "near_duplicate", True, run.run_id),
        ],
    )
    kept_of = {**exact, **near}
    survivors = np.setdiff1d(np.arange(len(ids)), np.fromiter(kept_of, dtype=np.int64, count=len(kept_of)))
    l1 = docs.take(pa.array(survivors, pa.int64()))
    l1_texts = l1["text"].to_pylist()
    counts = (
        count_tokens(l1_texts, config.tokens.tokenizer)
        if can_count_tokens(config.tokens.tokenizer)
        else [None] * l1.num_rows
    )
    l1 = l1.append_column(schemas.N_TOKENS, pa.array(counts, pa.int64()))
    l1 = l1.append_column("parent_ids", pa.array([[i] for i in l1["doc_id"].to_pylist()], pa.list_(pa.string())))
    l1 = l1.append_column("run_id", pa.array([run.run_id] * l1.num_rows, pa.string()))
    write_folder(run.stage("L1", tier="L1"), l1.schema, [l1])
    write_folder(run.stage(INDEX), INDEX_SCHEMA, [_index_rows(ids, hashes, sketches, kept_of)])


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
            "kept_id": [kept_of.get(p, doc_id) for p, doc_id in enumerate(ids)],
        },
        schema=INDEX_SCHEMA,
    )
