"""Data roots for the allocation tests and benchmark, registered through the real catalog API.

Each tier is one committed run whose Parquet output has the columns the jobs write (L1: doc_id, text,
url, crawl, n_tokens, parent_ids, run_id; l2_scores; L2 = L1 + scores; L3 rewrites with parent_id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from tiers.catalog import Catalog, OutputRecord


@dataclass
class Doc:
    doc_id: str
    text: str
    n_tokens: int
    score: float | None = None  # quality_score (L1/L2)
    crawl: str = "CC-MAIN-2024-10"
    parent_id: str | None = None  # L3 rewrites
    task: str = "textbook"
    extra: dict = field(default_factory=dict)


def _write(folder: Path, batches: Iterable[pa.Table]) -> tuple[int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    for i, table in enumerate(batches):
        pq.write_table(table, folder / f"part-{i:05d}.parquet")
        rows += table.num_rows
    return rows, sum(p.stat().st_size for p in folder.glob("*.parquet"))


def commit(
    catalog: Catalog,
    job: str,
    kind: str,
    tier: str | None,
    batches: Iterable[pa.Table],
    run_id: str,
    inputs: list[str] | None = None,
) -> str:
    catalog.start_run(
        run_id, job, {"synthetic": job}, uuid.uuid4().hex, "test", input_runs=inputs or [], scope=["synthetic"]
    )
    folder = catalog.root / kind / run_id
    rows, size = _write(folder, batches)
    catalog.commit_run(run_id, [OutputRecord(kind, str(folder), rows, size, tier)], {"rows": rows})
    return run_id


def l1_table(docs: list[Doc], run_id: str) -> pa.Table:
    return pa.table(
        {
            "doc_id": [d.doc_id for d in docs],
            "text": [d.text for d in docs],
            "url": [f"https://example.org/{d.doc_id}" for d in docs],
            "crawl": [d.crawl for d in docs],
            "n_tokens": pa.array([d.n_tokens for d in docs], pa.int64()),
            "parent_ids": [[d.doc_id] for d in docs],
            "run_id": [run_id] * len(docs),
        }
    )


def scores_table(docs: list[Doc], run_id: str) -> pa.Table:
    return pa.table(
        {
            "doc_id": [d.doc_id for d in docs],
            "lang": ["en"] * len(docs),
            "model_lang": ["en"] * len(docs),
            "model_hash": ["synthetic"] * len(docs),
            "quality_score": pa.array([d.score for d in docs], pa.float64()),
            "run_id": [run_id] * len(docs),
        }
    )


def l3_table(docs: list[Doc], run_id: str) -> pa.Table:
    return pa.table(
        {
            "doc_id": [d.doc_id for d in docs],
            "parent_id": [d.parent_id for d in docs],
            "task": [d.task for d in docs],
            "model": ["SmolLM2-135M-Instruct"] * len(docs),
            "prompt_version": ["rewrite_v1"] * len(docs),
            "text": [d.text for d in docs],
            "n_tokens": pa.array([d.n_tokens for d in docs], pa.int64()),
            "run_id": [run_id] * len(docs),
        }
    )


def build_root(root: str | Path, l1: list[Doc], l2_ids: set[str], l3: list[Doc] | None = None) -> Catalog:
    """A root whose current L1 is `l1`, L2 the L1 documents in `l2_ids`, L3 the rewrites `l3`."""
    catalog = Catalog(root)
    l1_run = commit(catalog, "l1_dedup", "L1", "L1", [l1_table(l1, "l1run")], "l1run")
    commit(catalog, "l2_score", "l2_scores", None, [scores_table(l1, "scorerun")], "scorerun", [l1_run])
    selected = [d for d in l1 if d.doc_id in l2_ids]
    l2 = l1_table(selected, "l2run").drop_columns(["run_id"])
    scores = scores_table(selected, "l2run")
    for name in ("model_lang", "model_hash", "quality_score"):
        l2 = l2.append_column(name, scores.column(name))
    l2 = l2.append_column("run_id", pa.array(["l2run"] * len(selected)))
    commit(catalog, "l2_select", "L2", "L2", [l2], "l2run", [l1_run, "scorerun"])
    if l3:
        commit(catalog, "l2_to_l3", "L3", "L3", [l3_table(l3, "l3run")], "l3run", ["l2run"])
    return catalog
