"""Promotion on a hand-made item table: exact duplicates across documents merge into one canonical item
whose corroboration counts distinct documents; an item quoting an evaluation set is flagged and never
promoted; rejected and failed items stay out of L4; the result does not depend on row order."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tiers import schemas
from tiers.eval_overlap import build_index
from tiers.l4.promote import promote

EVAL_LINE = "which gas do green plants take in from the air to make their food during photosynthesis in sunlight"


def _item(ki_id: str, text: str, answer: str | None, doc: str, status: str = "verified") -> dict:
    return {
        "ki_id": ki_id,
        "kind": "qa" if answer else "fact",
        "text": text,
        "answer": answer,
        "answer_type": "span",
        "evidence": text,
        "evidence_start": 0,
        "evidence_end": len(text),
        "passage_id": f"p-{doc}",
        "source_doc_id": doc,
        "source_tier": "L3",
        "model": "m",
        "status": status,
        "grade": "A",
        "confidence": 0.9,
        "reasons": [] if status == "verified" else ["evidence_not_found"],
        "verifier_answers": "[]",
        "raw_answer": None,
        "eval_benchmark": None,
        "canonical_id": None,
        "run_id": None,
    }


ITEMS = [
    _item("k3", "When did the Tay Bridge open?", "1878", "d2"),
    _item("k1", "When did the Tay Bridge open?", "1878", "d1"),
    _item("k5", "When did the Tay Bridge open?", "1878", "d1"),  # same document again: corroboration stays 2
    _item("k2", "How long was the Tay Bridge?", "3.5 km", "d1"),
    _item("k4", EVAL_LINE.capitalize() + "?", "carbon dioxide", "d3"),
    _item("k6", "Who built the Tay Bridge?", "Thomas Bouch", "d1", status="rejected"),
    _item("k7", "Who designed it?", None, "d1", status="failed"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    (folder / "sciq").mkdir()
    (folder / "sciq" / "test.txt").write_text(EVAL_LINE + "\n")
    return build_index(folder)


def _promote(rows, index):
    table = pa.Table.from_pylist(rows, schema=schemas.L4_ITEMS)
    return promote(table, "run-1", index, 0.8, lambda texts: [len(t.split()) for t in texts])


def test_merge_flags_and_promotion(index):
    result = _promote(ITEMS, index)
    l4 = {r["ki_id"]: r for r in result.l4.to_pylist()}
    assert set(l4) == {"k1", "k2"}
    assert l4["k1"]["member_ids"] == ["k1", "k3", "k5"] and l4["k1"]["corroboration"] == 2
    assert l4["k1"]["source_doc_ids"] == ["d1", "d2"] and l4["k2"]["corroboration"] == 1
    assert l4["k1"]["n_tokens"] == len("When did the Tay Bridge open? 1878".split())
    items = {r["ki_id"]: r for r in result.items.to_pylist()}
    assert items["k4"]["eval_benchmark"] == "sciq" and items["k4"]["canonical_id"] is None
    assert items["k3"]["canonical_id"] == items["k5"]["canonical_id"] == "k1"
    assert items["k6"]["canonical_id"] is None and items["k7"]["canonical_id"] is None
    assert all(r["run_id"] == "run-1" for r in items.values())
    assert (result.eval_flagged, result.merged) == (1, 2)


def test_row_order_does_not_matter(index):
    assert _promote(ITEMS, index).l4.equals(_promote(ITEMS[::-1], index).l4)


def test_postings_cover_every_item(index):
    postings = _promote(ITEMS, index).postings.to_pylist()
    assert {p["ki_id"] for p in postings} == {r["ki_id"] for r in ITEMS}
    tay = {p["term"]: p["tf"] for p in postings if p["ki_id"] == "k2"}
    assert tay == {"how": 1, "long": 1, "was": 1, "the": 1, "tay": 1, "bridge": 1, "3": 1, "5": 1, "km": 1}
