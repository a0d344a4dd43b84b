"""The cells of a stage for the allocation search (current shares and caps worked by hand from the
allocation's arithmetic) and the plan a search writes: provenance, round trip, and its allocation."""

from __future__ import annotations

import numpy as np
import pytest

from tiers.apps.allocation.cells import plan_with_mixture, search_cells
from tiers.apps.allocation.plan import PlanError, Provenance, load_plan, parse_plan, write_plan
from tiers.apps.allocation.solve import Cell, solve

CELLS = [Cell("L1", 0, 4, 400), Cell("L1", 1, 6, 600), Cell("L3", None, 3, 150)]


def plan(pretrain_budget=None):
    return parse_plan(
        {
            "buckets": {"edges": [0.5]},
            "caps": {"L1": 2, "L3": 1},
            "eval_dir": None,
            "stages": [
                {
                    "name": "pretrain",
                    "budget": pretrain_budget or {"tokens": 1000},
                    "sources": [{"name": "web", "tiers": ["L1"], "weight": 1.0}],
                },
                {
                    "name": "decay",
                    "budget": {"tokens": 200},
                    "sources": [
                        {"name": "top", "tiers": ["L1"], "buckets": [1], "weight": 0.5},
                        {"name": "rewrites", "tiers": ["L3"], "weight": 0.5},
                    ],
                },
            ],
        }
    )


def provenance(stage="decay"):
    return Provenance(
        search_id="search-x",
        stage=stage,
        metric="benchmark_bpb",
        delta=0.01,
        ci_low=0.002,
        ci_high=0.02,
        confidence=0.95,
        baseline_plan="abc",
    )


def test_decay_cells_by_hand():
    budget, cells = search_cells(plan(), "decay", CELLS)
    # pretrain takes 1 epoch of L1 (400 + 600). decay 200: top 100 from L1_b1, rewrites 100 from L3.
    # L1_b1 room: 2 x 600 - 600 = 600 (upper min(1, 600 / 200) = 1); L3 room 150 -> upper 0.75.
    assert budget == 200
    assert [c.name for c in cells] == ["L1_b1", "L3"]
    assert [c.current for c in cells] == pytest.approx([0.5, 0.5])
    assert [c.upper for c in cells] == pytest.approx([1.0, 0.75])


def test_pretrain_cells_by_hand():
    budget, cells = search_cells(plan(), "pretrain", CELLS)
    assert budget == 1000 and [c.name for c in cells] == ["L1_b0", "L1_b1"]
    assert [c.current for c in cells] == pytest.approx([0.4, 0.6])
    assert [c.upper for c in cells] == pytest.approx([0.8, 1.0])  # 2 x 400 / 1000


def test_unscored_documents_of_a_bucketed_tier_are_left_out():
    _, cells = search_cells(plan(), "pretrain", CELLS + [Cell("L1", None, 1, 100)])
    assert [c.name for c in cells] == ["L1_b0", "L1_b1"]


def test_unknown_stage():
    with pytest.raises(PlanError, match="stage 'sft' is not in the plan"):
        search_cells(plan(), "sft", CELLS)


def test_searched_plan_round_trip_and_allocation(tmp_path):
    budget, cells = search_cells(plan(), "decay", CELLS)
    searched = plan_with_mixture(plan(), "decay", cells, np.array([0.3, 0.7]), budget, provenance())
    path = write_plan(searched, tmp_path / "searched.yaml")
    again = load_plan(path)
    assert again == searched and again.provenance.search_id == "search-x"
    sources = again.stage("decay").sources
    assert [(s.name, s.tiers, s.buckets, s.weight) for s in sources] == [
        ("L1_b1", ["L1"], [1], 0.3),
        ("L3", ["L3"], None, 0.7),
    ]
    decay = solve(again, CELLS)[1]
    assert {s.source: s.allocated for s in decay.sources} == pytest.approx({"L1_b1": 60, "L3": 140})


def test_share_budget_becomes_its_tokens_and_tiny_weights_drop():
    original = plan({"share": 0.5})
    budget, cells = search_cells(original, "pretrain", CELLS)
    assert budget == 500  # half of the 1000 unique tokens its source holds
    searched = plan_with_mixture(original, "pretrain", cells, np.array([1e-9, 1.0]), budget, provenance("pretrain"))
    assert searched.stage("pretrain").budget.tokens == 500
    assert [s.name for s in searched.stage("pretrain").sources] == ["L1_b1"]


def test_provenance_must_name_a_stage_of_the_plan():
    data = plan().model_dump(mode="json")
    data["provenance"] = provenance("midtrain").model_dump(mode="json")
    with pytest.raises(PlanError, match="provenance.stage"):
        parse_plan(data)
