"""BM25 in DuckDB SQL over a postings table, against scores computed by hand on a three-item corpus."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa
import pytest

from tiers.l4.search import bm25, postings, terms

# Items: a = "cat sat mat" (3 terms), b = "Cat, cat dog!" (3 terms), c = "bird flew" (2 terms).
# N = 3, avgdl = 8/3; k1 = 1.2, b = 0.75.
# df(cat) = 2: idf = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6
# df(dog) = 1: idf = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8/3)
# length factor of a 3-term item: 1 - 0.75 + 0.75 * 3 / (8/3) = 1.09375, so k1 * it = 1.3125
# a: cat tf 1 -> ln 1.6 * 1 * 2.2 / (1 + 1.3125)
# b: cat tf 2 -> ln 1.6 * 2 * 2.2 / (2 + 1.3125); dog tf 1 -> ln(8/3) * 2.2 / (1 + 1.3125)
SCORE_A = math.log(1.6) * 2.2 / 2.3125
SCORE_B = math.log(1.6) * 4.4 / 3.3125 + math.log(8 / 3) * 2.2 / 2.3125


@pytest.fixture()
def con():
    connection = duckdb.connect()
    rows = postings(["a", "b", "c"], ["cat sat mat", "Cat, cat dog!", "bird flew"])
    connection.register("postings_rows", pa.Table.from_pylist(rows))
    connection.execute("CREATE TABLE l4_postings AS SELECT * FROM postings_rows")
    connection.execute("CREATE TABLE l4 AS SELECT * FROM (VALUES ('a'), ('b'), ('c')) t(ki_id)")
    return connection


def test_terms_are_lower_cased_word_runs():
    assert terms("Cat, cat dog!") == ["cat", "cat", "dog"]
    assert terms("1932 U.S. river_bank") == ["1932", "u", "s", "river", "bank"]


def test_scores_match_the_hand_computed_values(con):
    ranked = bm25(con, "dog cat", limit=10)
    assert [ki for ki, _ in ranked] == ["b", "a"]
    assert ranked[0][1] == pytest.approx(SCORE_B, rel=1e-12)
    assert ranked[1][1] == pytest.approx(SCORE_A, rel=1e-12)
    assert SCORE_B == pytest.approx(0.6243 + 0.9331, abs=1e-4)  # the arithmetic above, done once by hand


def test_a_repeated_query_term_counts_once_and_unknown_terms_score_nothing(con):
    assert bm25(con, "cat cat zebra dog", limit=10) == bm25(con, "dog cat", limit=10)
    assert bm25(con, "zebra", limit=10) == []
    assert bm25(con, "!!", limit=10) == []


def test_the_scope_sets_the_corpus_statistics(con):
    # Only a and b: N = 2, avgdl = 3, df(cat) = 2 -> idf = ln(1 + 0.5 / 2.5) = ln 1.2; length factor 1.
    ranked = dict(bm25(con, "cat", limit=10, scope="SELECT 'a' AS ki_id UNION ALL SELECT 'b'"))
    assert ranked["a"] == pytest.approx(math.log(1.2) * 2.2 / (1 + 1.2), rel=1e-12)
    assert ranked["b"] == pytest.approx(math.log(1.2) * 4.4 / (2 + 1.2), rel=1e-12)


def test_limit_keeps_the_best(con):
    assert [ki for ki, _ in bm25(con, "cat dog", limit=1)] == ["b"]
