"""Pools ranked by their effect over the same-size control, and which of them the loop accepts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from verification.experiment import ExperimentResult


@dataclass(frozen=True)
class AcceptRule:
    """A pool is accepted when its interval's low end beats the control by `margin` and, when `top_k`
    is set, it ranks among the best `top_k` pools by delta."""

    margin: float = 0.0
    top_k: int | None = None


def rank_and_accept(experiments: list[ExperimentResult], rule: AcceptRule) -> tuple[list[str], list[str]]:
    """(pools by delta, best first; accepted pools) and each experiment's verdict set to the rule's answer."""
    ranked = sorted(experiments, key=lambda e: e.verdict.delta, reverse=True)
    for position, experiment in enumerate(ranked):
        in_top = rule.top_k is None or position < rule.top_k
        experiment.verdict = dataclasses.replace(
            experiment.verdict, accepted=experiment.verdict.low > rule.margin and in_top
        )
    return [e.pool for e in ranked], [e.pool for e in ranked if e.verdict.accepted]
