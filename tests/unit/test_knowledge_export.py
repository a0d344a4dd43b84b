"""L4 exports on hand-made views: RL records are the verified QA items; a mid-training record is a passage
followed by its verified QA pairs."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from tiers.l4.export import export_l4

PASSAGE_A = "The Tay Bridge opened on 1 June 1878.\nIt was 3.5 km long."


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE l4 AS SELECT * FROM (VALUES
        ('k2', 'qa', 'How long was the Tay Bridge?', '3.5 km', 'number', 'B', 0.8, 1, 'It was 3.5 km long.', 'pa', 'd1'),
        ('k1', 'qa', 'When did the Tay Bridge open?', '1 June 1878', 'date', 'A', 0.9, 2, 'opened on 1 June 1878', 'pa', 'd1'),
        ('k3', 'fact', 'The Tay Bridge opened in 1878.', NULL, NULL, 'C', 0.5, 1, 'opened on 1 June 1878', 'pa', 'd1'),
        ('k4', 'qa', 'Who wrote Hamlet?', 'Shakespeare', 'span', 'A', 0.9, 1, 'Shakespeare wrote Hamlet.', 'pb', 'd2'))
        t(ki_id, kind, text, answer, answer_type, grade, confidence, corroboration, evidence, passage_id, source_doc_id)""")
    c.execute(
        "CREATE TABLE l4_passages AS SELECT * FROM (VALUES ('pa', 'd1', 'L3', ?), ('pb', 'd2', 'L3', 'Shakespeare wrote Hamlet.'), "
        "('pc', 'd3', 'L2', 'Nothing verified here.')) t(passage_id, doc_id, source_tier, text)",
        [PASSAGE_A],
    )
    return c


def test_rl_records_are_the_qa_items(con, tmp_path):
    path, count = export_l4(con, "rl", tmp_path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert count == 3 and [r["ki_id"] for r in records] == ["k1", "k2", "k4"]
    assert records[0] == {
        **records[0],
        "question": "When did the Tay Bridge open?",
        "answer": "1 June 1878",
        "answer_type": "date",
        "grade": "A",
    }


def test_midtrain_appends_each_passages_pairs(con, tmp_path):
    path, count = export_l4(con, "midtrain", tmp_path, "parquet")
    rows = pq.read_table(path).to_pylist()
    assert count == 2 and [r["passage_id"] for r in rows] == ["pa", "pb"]
    assert rows[0]["text"] == (
        PASSAGE_A + "\n\nQuestion: When did the Tay Bridge open?\nAnswer: 1 June 1878"
        "\n\nQuestion: How long was the Tay Bridge?\nAnswer: 3.5 km"
    )
    assert rows[0]["ki_ids"] == ["k1", "k2"] and rows[0]["qa_pairs"] == 2
