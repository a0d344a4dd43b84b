"""Accept or reject a candidate data pool: the mean delta of candidate runs over baseline runs (one
metric per seed and arm) with a bootstrap confidence interval, paired by seed when the arms share
their random numbers; accepted when the interval lies above `min_delta` (0 by default)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Verdict:
    delta: float
    low: float
    high: float
    accepted: bool
    confidence: float


def bootstrap_verdict(
    candidate: list[float],
    baseline: list[float],
    confidence: float = 0.95,
    min_delta: float = 0.0,
    resamples: int = 10_000,
    seed: int = 0,
    paired: bool = False,
) -> Verdict:
    """`paired`: the i-th candidate and baseline runs share a seed and their default data (common random
    numbers), so seeds are resampled together and the interval is that of the mean per-seed difference."""
    if len(candidate) < 2 or len(baseline) < 2:
        raise ValueError("need at least two seeds per arm for a confidence interval")
    rng = np.random.default_rng(seed)
    cand, base = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    if paired:
        if len(cand) != len(base):
            raise ValueError("paired runs need as many candidate as baseline seeds")
        deltas = rng.choice(cand - base, (resamples, len(cand))).mean(axis=1)
    else:
        deltas = rng.choice(cand, (resamples, len(cand))).mean(axis=1) - rng.choice(base, (resamples, len(base))).mean(
            axis=1
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(deltas, [tail, 1 - tail])
    return Verdict(float(cand.mean() - base.mean()), float(low), float(high), bool(low > min_delta), confidence)
