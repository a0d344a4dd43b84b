"""Drop records of dedup and the evidence the job summary reports, as pure functions over columns, so
both engines write the same strings."""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiers import schemas
from tiers.dedup.reasons import EXACT_REASON, EXACT_STAGE, NEAR_REASON, NEAR_STAGE

DROP_ROWS = pa.schema([schemas.DROPS.field(name) for name in schemas.DROP_COLUMNS])
JACCARD_DIGITS = 6


def exact_details(kept: str, copy_of: str | None) -> str:
    """`kept`: the L1 document; `copy_of`: the exact copy it equals when that copy was itself near-dropped for `kept`."""
    record = {"kept": kept} if copy_of is None or copy_of == kept else {"kept": kept, "copy_of": copy_of}
    return json.dumps(record, separators=(",", ":"))


def near_details(kept: str, component: str, jaccard: float, source: str | None) -> str:
    """The kept document is the cluster's id; `component` the smallest id of the verified edges' component;
    `jaccard` the exact Jaccard with the kept document; `source` the dropped document's. (What
    `json.dumps(..., separators=(",", ":"))` writes, formatted directly: this runs once per drop.)"""
    k = _quoted(kept)
    return (
        f'{{"kept":{k},"cluster":{k},"component":{_quoted(component)},'
        f'"jaccard":{round(float(jaccard), JACCARD_DIGITS)!r},"source":{_quoted(source)}}}'
    )


@lru_cache(maxsize=65536)
def _quoted(value: str | None) -> str:
    return json.dumps(value)


def exact_drop_table(doc_ids: Sequence[str], kept: Sequence[str], copy_of: Sequence[str | None]) -> pa.Table:
    details = [exact_details(k, c) for k, c in zip(kept, copy_of)]
    return _table(doc_ids, EXACT_STAGE, EXACT_REASON, details)


def near_drop_table(
    doc_ids: Sequence[str],
    kept: Sequence[str],
    components: Sequence[str],
    jaccard: np.ndarray,
    sources: Sequence[str | None],
) -> pa.Table:
    details = [near_details(k, c, j, s) for k, c, j, s in zip(kept, components, np.asarray(jaccard).tolist(), sources)]
    return _table(doc_ids, NEAR_STAGE, NEAR_REASON, details)


def _table(doc_ids: Sequence[str], stage: str, reason: str, details: list[str]) -> pa.Table:
    count = len(details)
    return pa.table(
        {
            "doc_id": pa.array(doc_ids, pa.string()),
            "stage": [stage] * count,
            "reason": [reason] * count,
            "details": details,
        },
        schema=DROP_ROWS,
    )


def cluster_sizes(l1_ids: Sequence[str], kept_of_drops: Sequence[str]) -> np.ndarray:
    """Per L1 document: 1 + the drops (exact and near) of this run that name it."""
    named = Counter(kept_of_drops)
    return np.array([1 + named.get(doc_id, 0) for doc_id in l1_ids], dtype=np.int64)


_SCHEME, _HOST = r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?", r"[^/:?#]+"
DOMAIN_PATTERN = f"{_SCHEME}({_HOST})"
"""A lower-cased URL's host (group 1), the same in RE2 (Arrow) and Java (Spark) syntax."""


def domains(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The host of each URL, lower-cased (null when there is none)."""
    found = pc.extract_regex(pc.utf8_lower(urls), f"{_SCHEME}(?P<host>{_HOST})")
    return pc.struct_field(found, "host")


def source_counts(keys: pa.Array | pa.ChunkedArray, dropped: np.ndarray) -> list[tuple[str, int, int]]:
    """(key, documents, dropped) per source, one key per document (nulls left out)."""
    table = pa.table({"key": keys, "dropped": pa.array(dropped, pa.bool_())}).filter(pc.is_valid(pc.field("key")))
    grouped = table.group_by("key").aggregate([("dropped", "count"), ("dropped", "sum")])
    return list(
        zip(grouped["key"].to_pylist(), grouped["dropped_count"].to_pylist(), grouped["dropped_sum"].to_pylist())
    )


def flag_sources(kind: str, counts: list[tuple[str, int, int]], share: float, min_docs: int) -> list[dict]:
    """The sources with at least `min_docs` documents that lose more than `share` of them."""
    rows = [
        {kind: key, "documents": docs, "dropped": lost, "share": round(lost / docs, 4)}
        for key, docs, lost in counts
        if docs >= min_docs and lost > docs * share
    ]
    return sorted(rows, key=lambda row: (-row["dropped"], row[kind]))


def flagged_components(sizes: Mapping[str, int], limit: int, largest: int | None = None, show: int = 20) -> dict:
    """Components of more than `limit` documents: how many, and the largest `show` (id, size); `sizes` may
    hold only those when `largest` is given."""
    large = sorted(((c, n) for c, n in sizes.items() if n > limit), key=lambda cn: (-cn[1], cn[0]))
    return {
        "components_over_size": len(large),
        "largest_component": max(sizes.values(), default=0) if largest is None else int(largest),
        "large_components": [{"component": c, "size": n} for c, n in large[:show]],
    }


def jaccard_summary(jaccard: np.ndarray, threshold: float) -> dict:
    """Lowest and median measured Jaccard of near drops with their kept documents, and how many lie below
    the threshold (the rule makes it 0)."""
    if not len(jaccard):
        return jaccard_stats(None, None, 0, threshold)
    return jaccard_stats(float(jaccard.min()), float(np.median(jaccard)), int((jaccard < threshold).sum()), threshold)


def jaccard_stats(lowest: float | None, median: float | None, below: int, threshold: float) -> dict:
    return {
        "near_jaccard_min": None if lowest is None else round(lowest, JACCARD_DIGITS),
        "near_jaccard_median": None if median is None else round(median, JACCARD_DIGITS),
        "near_below_threshold": int(below),
        "jaccard_threshold": threshold,
    }
