"""Ranking and the acceptance rule of the verification loop, on hand-made verdicts."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the verification loop needs torch")

from verification.decision import Verdict  # noqa: E402
from verification.experiment import ExperimentResult  # noqa: E402
from verification.ranking import AcceptRule, rank_and_accept  # noqa: E402


def experiments() -> list[ExperimentResult]:
    verdicts = {
        "weak": (0.01, 0.002, 0.02),
        "best": (0.05, 0.04, 0.06),
        "worse_than_default": (-0.02, -0.03, -0.01),
        "second": (0.03, 0.025, 0.035),
    }
    return [
        ExperimentResult(name, [0.0, 0.0], [d, d], Verdict(d, low, high, low > 0, 0.95), 1.0, 100)
        for name, (d, low, high) in verdicts.items()
    ]


def test_pools_rank_by_delta_and_beat_the_default():
    ranking, accepted = rank_and_accept(experiments(), AcceptRule())
    assert ranking == ["best", "second", "weak", "worse_than_default"]
    assert accepted == ["best", "second", "weak"]


def test_margin_and_top_k():
    assert rank_and_accept(experiments(), AcceptRule(margin=0.02))[1] == ["best", "second"]
    assert rank_and_accept(experiments(), AcceptRule(top_k=1))[1] == ["best"]
    runs = experiments()
    rank_and_accept(runs, AcceptRule(margin=0.03, top_k=3))
    assert {e.pool: e.verdict.accepted for e in runs} == {
        "best": True,
        "second": False,
        "weak": False,
        "worse_than_default": False,
    }
