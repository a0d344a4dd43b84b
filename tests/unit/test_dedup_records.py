"""Dedup's drop records and evidence (tiers/dedup/records.py): the strings both engines write, and the
flags, checked against values computed here by hand."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from tiers.dedup import records
from tiers.dedup.reasons import EXACT_REASON, NEAR_REASON


def test_near_and_exact_records_carry_their_evidence():
    near = records.near_drop_table(["b", "c"], ["a", "a"], ["a", "a"], np.array([0.8123456789, 1.0]), ["s1", None])
    assert near["reason"].to_pylist() == [NEAR_REASON] * 2
    first = json.loads(near["details"][0].as_py())
    assert first == {"kept": "a", "cluster": "a", "component": "a", "jaccard": 0.812346, "source": "s1"}
    exact = records.exact_drop_table(["d", "e"], ["a", "x"], ["b", None])
    assert exact["reason"].to_pylist() == [EXACT_REASON] * 2
    assert [json.loads(d) for d in exact["details"].to_pylist()] == [{"kept": "a", "copy_of": "b"}, {"kept": "x"}]


def test_cluster_sizes_count_the_drops_naming_each_document():
    assert records.cluster_sizes(["a", "b", "z"], ["a", "a", "b", "q"]).tolist() == [3, 2, 1]


def test_domains_of_urls():
    urls = pa.array(["https://Forum.Example:8080/x?y", "http://user@shop.example/", "not a url", None])
    assert records.domains(urls).to_pylist() == ["forum.example", "shop.example", None, None]


def test_sources_losing_more_than_the_share_are_flagged():
    keys = pa.array(["f"] * 10 + ["g"] * 10 + ["h"] * 3)
    dropped = np.array([True] * 9 + [False] + [True] * 5 + [False] * 5 + [True] * 3)
    flagged = records.flag_sources("domain", records.source_counts(keys, dropped), share=0.5, min_docs=5)
    assert flagged == [{"domain": "f", "documents": 10, "dropped": 9, "share": 0.9}]


def test_components_above_the_size_are_flagged_largest_first():
    found = records.flagged_components({"a": 3, "b": 12, "c": 11, "d": 12}, limit=10, show=2)
    assert found == {
        "components_over_size": 3,
        "largest_component": 12,
        "large_components": [{"component": "b", "size": 12}, {"component": "d", "size": 12}],
    }
    assert records.flagged_components({}, limit=10)["largest_component"] == 0


def test_jaccard_summary_counts_drops_below_the_threshold():
    summary = records.jaccard_summary(np.array([0.9, 0.75, 0.65]), 0.7)
    assert summary["near_jaccard_min"] == 0.65 and summary["near_jaccard_median"] == 0.75
    assert summary["near_below_threshold"] == 1
