"""The report's allocation section and per-operator table against the catalog's own counts (issue 26):
the allocation renders after a real `allocate`, and the operator table is in pipeline order with the
documents that really entered dedup. No Chromium and no shared data: the aggregates are read from
`tiers.apps.report.collect`, the roots are built here (the operator root by a real `tiers run l0-to-l1`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.allocation_roots import Doc, build_root
from tests.unit.test_allocation import plan, words
from tiers.apps.allocation.allocate import allocate
from tiers.apps.report import collect

REPO = Path(__file__).resolve().parents[2]


def panel(root: Path, key: str):
    data = collect(root)
    return next(p for s in data.sections for p in s.panels if p.key == key)


def test_the_allocation_section_renders_the_current_allocation(tmp_path):
    l1 = [Doc(f"a{i:02d}", words("alpha", 100), 100, score=0.10 + i / 100) for i in range(10)]
    l1 += [Doc(f"b{i:02d}", words("beta", 100), 100, score=0.60 + i / 100) for i in range(5)]
    l3 = [Doc(f"r{i}", words("token", 100), 100, parent_id=f"b0{i}") for i in range(2)]
    root = tmp_path / "root"
    build_root(root, l1, {d.doc_id for d in l1 if d.doc_id[0] == "b"}, l3)
    assert panel(root, "allocation").missing  # nothing allocated yet: one line, no table

    allocate(root, plan(eval_dir=None))
    shown = panel(root, "allocation")
    assert shown.missing is None and shown.table is not None
    rows = {(r[0], r[1]): dict(zip(shown.table.columns, r)) for r in shown.table.rows}
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        tokens = {d.doc_id: d.n_tokens for d in l1 + l3}
        allocated = con.execute("SELECT stage, tier, doc_id, repeats FROM allocation").fetchall()
    expected: dict[tuple[str, str], list[int]] = {}
    for stage, tier, doc_id, repeats in allocated:
        entry = expected.setdefault((stage, tier), [0, 0, 0])
        entry[0] += 1
        entry[1] += tokens[doc_id]
        entry[2] += repeats * tokens[doc_id]
    assert expected and set(rows) == set(expected)
    for key, (documents, unique, total) in expected.items():
        assert (rows[key]["documents"], rows[key]["unique tokens"], rows[key]["tokens"]) == (documents, unique, total)
    assert [r[0] for r in shown.table.rows][0] == "pretrain"  # stages in plan order


STEPS = ["unicode_repair", "length", "c4", "blank_lines", "pii"]  # not alphabetical


def sample_texts() -> list[str]:
    """Nine distinct multi-sentence documents, three exact copies of them, three too short to keep."""
    import random

    subjects = ["The farmer", "A young teacher", "My neighbour", "The old captain", "Our guide", "The baker"]
    verbs = ["walked to", "wrote about", "looked at", "talked with friends about", "cleaned", "visited"]
    places = ["the quiet harbour", "a broken bridge", "the market square", "an empty school", "a muddy field"]
    endings = ["before the rain started.", "and then went home for dinner.", "because it was a sunny day."]
    texts = []
    for seed in range(9):
        pick = random.Random(seed).choice
        texts.append(" ".join(f"{pick(subjects)} {pick(verbs)} {pick(places)} {pick(endings)}" for _ in range(14)))
    return texts + texts[:3] + ["buy now", "click", "ok ok ok"]


def test_the_operator_table_is_in_pipeline_order_with_the_documents_that_entered_dedup(tmp_path):
    texts = sample_texts()
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    root = tmp_path / "root"
    steps = "[" + ", ".join(f"{{name: {name}}}" for name in STEPS) + "]"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "run", "l0-to-l1", "--input", str(sample), "--root", str(root)]
        + ["--set", f"l1.steps={steps}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    shown = panel(root, "operators")
    names = [r[0] for r in shown.table.rows]
    assert names == [*STEPS, "exact dedup", "near dedup (MinHash)"]  # pipeline order, then dedup

    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        con.execute(f"SET file_search_path = '{root}'")
        l1 = con.execute("SELECT count(*) FROM l1").fetchone()[0]
        removed = dict(
            con.execute(
                "SELECT reason, count(*) FROM drops WHERE reason IN ('exact_duplicate', 'near_duplicate') GROUP BY 1"
            ).fetchall()
        )
    rows = {r[0]: r for r in shown.table.rows}
    entering = l1 + sum(removed.values())  # what the filter kept is what dedup read
    assert removed.get("exact_duplicate", 0) >= 3
    assert rows["exact dedup"][1:3] == (entering, removed.get("exact_duplicate", 0))
    assert rows["near dedup (MinHash)"][1] == entering - removed.get("exact_duplicate", 0)
    assert entering < len(texts)  # the short documents were dropped before dedup
