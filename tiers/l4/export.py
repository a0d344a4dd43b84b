"""L4 as training data: verifiable-answer records for RL, and passages with their verified QA pairs
appended for mid-training; JSON lines or Parquet, written by DuckDB from the catalog's views."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb

ExportKind = Literal["rl", "midtrain"]
ExportFormat = Literal["jsonl", "parquet"]

RL_SQL = """
SELECT ki_id, text AS question, answer, answer_type, grade, confidence, corroboration, evidence, passage_id, source_doc_id
FROM l4 WHERE kind = 'qa' ORDER BY ki_id
"""

# A passage's QA pairs: its own verified canonical items, in ki_id order, appended after the passage.
MIDTRAIN_SQL = """
WITH pairs AS (
    SELECT passage_id,
           string_agg('Question: ' || text || chr(10) || 'Answer: ' || answer, chr(10) || chr(10) ORDER BY ki_id) AS qa,
           list(ki_id ORDER BY ki_id) AS ki_ids, count(*) AS qa_pairs
    FROM l4 WHERE kind = 'qa' GROUP BY passage_id
)
SELECT p.passage_id, p.doc_id, p.source_tier, p.text || chr(10) || chr(10) || q.qa AS text, q.ki_ids, q.qa_pairs
FROM l4_passages p JOIN pairs q USING (passage_id)
ORDER BY p.passage_id
"""


def export_l4(
    con: duckdb.DuckDBPyConnection, kind: ExportKind, out_dir: str | Path, fmt: ExportFormat = "jsonl"
) -> tuple[Path, int]:
    """Write `kind` records to `out_dir/l4_<kind>.<jsonl|parquet>`; returns (file, records)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"l4_{kind}.{fmt}"
    sql = RL_SQL if kind == "rl" else MIDTRAIN_SQL
    options = "FORMAT json" if fmt == "jsonl" else "FORMAT parquet"
    con.execute(f"COPY ({sql}) TO '{str(target).replace(chr(39), chr(39) * 2)}' ({options})")
    count = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    return target, int(count)
