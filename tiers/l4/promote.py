"""From every decided item to the L4 tier, on narrow Arrow tables: evaluation-overlap flags, the merge of
exact and near-duplicate verified items across documents into canonical items with a corroboration count,
and the search postings.

Items are sorted by `ki_id` first, so the canonical item of a group, and with it every output, does not
depend on the order in which executors returned them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from tiers import schemas
from tiers.eval_overlap import EvalIndex
from tiers.l4.search import postings
from tiers.l4.merge import canonical_groups


@dataclass(frozen=True)
class Promotion:
    items: pa.Table  # every item, with eval_benchmark and canonical_id filled in
    l4: pa.Table  # canonical verified items outside the evaluation sets, with n_tokens
    postings: pa.Table
    eval_flagged: int
    merged: int  # verified items folded into another canonical item


def searchable_text(text: str | None, answer: str | None) -> str:
    """What an item says: its statement or question, then its answer."""
    return " ".join(part for part in (text, answer) if part)


def promote(
    items: pa.Table,
    run_id: str,
    index: EvalIndex | None,
    merge_threshold: float,
    count_tokens: Callable[[list[str]], list[int | None]],
) -> Promotion:
    items = items.sort_by("ki_id")
    rows = items.to_pylist()
    said = [searchable_text(r["text"], r["answer"]) for r in rows]
    flags = index.matches(said) if index is not None else [None] * len(rows)
    candidates = [i for i, r in enumerate(rows) if r["status"] == "verified" and flags[i] is None]
    groups = canonical_groups(
        [(rows[i]["kind"], rows[i]["text"], rows[i]["answer"]) for i in candidates], merge_threshold
    )
    members: dict[int, list[int]] = {}
    for position, group in enumerate(groups):
        members.setdefault(candidates[group], []).append(candidates[position])
    canonical_of: dict[int, int] = {m: head for head, group in members.items() for m in group}
    for i, row in enumerate(rows):
        row["eval_benchmark"] = flags[i]
        row["canonical_id"] = rows[canonical_of[i]]["ki_id"] if i in canonical_of else None
        row["run_id"] = run_id
    l4_rows = []
    for head, group in sorted(members.items()):
        h = rows[head]
        l4_rows.append(
            {
                **{name: h[name] for name in schemas.L4.names if name in h},
                "corroboration": len({rows[m]["source_doc_id"] for m in group}),
                "member_ids": sorted(rows[m]["ki_id"] for m in group),
                "source_doc_ids": sorted({rows[m]["source_doc_id"] for m in group}),
                "run_id": run_id,
            }
        )
    l4 = pa.Table.from_pylist(l4_rows, schema=schemas.L4)
    tokens = count_tokens([searchable_text(r["text"], r["answer"]) for r in l4_rows])
    l4 = l4.append_column(schemas.N_TOKENS, pa.array(tokens, pa.int64()))
    posting_rows = [{**p, "run_id": run_id} for p in postings([r["ki_id"] for r in rows], said)]
    return Promotion(
        items=pa.Table.from_pylist(rows, schema=schemas.L4_ITEMS),
        l4=l4,
        postings=pa.Table.from_pylist(posting_rows, schema=schemas.L4_POSTINGS),
        eval_flagged=sum(1 for i, r in enumerate(rows) if r["status"] == "verified" and flags[i] is not None),
        merged=len(candidates) - len(members),
    )
