"""Plan validation: the shipped plan loads; every error names its key."""

from __future__ import annotations

import pytest

from tiers.apps.allocation.plan import PlanError, load_plan, parse_plan
from tiers.resources import PROJECT


def base() -> dict:
    return {
        "stages": [
            {
                "name": "pretrain",
                "budget": {"tokens": 1000},
                "sources": [{"name": "web", "tiers": ["L1"], "weight": 1.0}],
            },
            {
                "name": "decay",
                "budget": {"tokens": 200},
                "sources": [{"name": "hq", "tiers": ["L2"], "buckets": [19], "weight": 1.0}],
            },
        ]
    }


def test_shipped_plan_loads():
    plan = load_plan(PROJECT / "conf" / "allocation.yaml")
    assert [s.name for s in plan.stages] == ["pretrain", "decay", "midtrain", "sft"]
    assert plan.caps == {"L1": 4, "L2": 4, "L3": 2, "L4": 4} and plan.buckets.n_buckets == 20


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p.update(sede=1), "sede: unknown key"),
        (
            lambda p: p["stages"][0]["sources"][0].update(tiers=["L4"]),
            "stages.0.sources.0.tiers: L4 items are allowed only in",
        ),
        (lambda p: p["stages"][1]["budget"].update(tokens=50), "stages.1.budget.tokens: decay must be at least"),
        (
            lambda p: p["stages"][1]["sources"][0].update(buckets=[20]),
            "stages.1.sources.0.buckets: bucket 20 does not exist",
        ),
        (lambda p: p["stages"].reverse(), "stages.1.name: stages run in the order"),
        (
            lambda p: p["stages"][0]["sources"].append({"name": "all", "tiers": ["L1", "L2"], "weight": 1.0}),
            "stages.0.sources.1: 'all' draws documents that 'web' also draws",
        ),
        (lambda p: p["stages"][0]["budget"].update(share=0.5), "stages.0.budget: give exactly one of tokens or share"),
        (lambda p: p["stages"][0]["sources"][0].update(weight=-1.0), "stages.0.sources.0.weight"),
        (
            lambda p: p["stages"][0]["sources"][0].update(buckets=[1], tiers=["L3"]),
            "stages.0.sources.0.buckets: buckets apply to L1 and L2 only",
        ),
        (lambda p: p["stages"][1].update(name="sft"), None),
    ],
)
def test_errors_name_the_key(change, message):
    plan = base()
    change(plan)
    if message is None:
        parse_plan(plan)
        return
    with pytest.raises(PlanError) as failure:
        parse_plan(plan)
    assert message in str(failure.value)


def test_duplicate_yaml_keys_refused(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("seed: 1\nseed: 2\nstages: []\n")
    with pytest.raises(PlanError, match="duplicate key"):
        load_plan(path)
