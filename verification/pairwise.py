"""Every pool against every other: the paired difference of their candidate arms run by run (same base,
seed and default windows, so the same anneal budget of each pool's text) with a bootstrap interval over
base models x anneal seeds, and the ranking those intervals support."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

from verification.decision import bootstrap_verdict
from verification.experiment import Arm


@dataclass(frozen=True)
class PairResult:
    """`better` minus `worse` (oriented so that the mean difference is not negative)."""

    better: str
    worse: str
    delta: float
    low: float
    high: float
    resolved: bool  # the interval lies above zero

    def as_dict(self) -> dict:
        return asdict(self)


def pairwise(arms: dict[str, Arm], confidence: float = 0.95) -> list[PairResult]:
    """One result per unordered pair of pools, best-separated first."""
    results = []
    for a, b in combinations(sorted(arms), 2):
        groups = arms[a].groups if len(set(arms[a].groups)) > 1 else None
        v = bootstrap_verdict(arms[a].overall, arms[b].overall, confidence, paired=True, groups=groups)
        if v.delta >= 0:
            results.append(PairResult(a, b, v.delta, v.low, v.high, v.low > 0))
        else:
            results.append(PairResult(b, a, -v.delta, -v.high, -v.low, -v.high > 0))
    return sorted(results, key=lambda p: p.low, reverse=True)


def supported_order(effects: dict[str, float], pairs: list[PairResult]) -> str:
    """Pools by effect, best first, with `>` between neighbours whose difference's interval lies above
    zero and `~` where the runs cannot tell them apart, e.g. `gold > l2 ~ openstax > spam`."""
    resolved = {(p.better, p.worse) for p in pairs if p.resolved}
    ranked = sorted(effects, key=effects.get, reverse=True)
    text = ranked[0] if ranked else ""
    for upper, lower in zip(ranked, ranked[1:]):
        text += f" {'>' if (upper, lower) in resolved else '~'} {lower}"
    return text


def beats(pairs: list[PairResult]) -> dict[str, list[str]]:
    """For each pool, the pools it beats with the interval above zero."""
    table: dict[str, list[str]] = {}
    for p in pairs:
        table.setdefault(p.better, [])
        table.setdefault(p.worse, [])
        if p.resolved:
            table[p.better].append(p.worse)
    return {name: sorted(worse) for name, worse in table.items()}
