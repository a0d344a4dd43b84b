"""Accept or reject a candidate data pool: the mean delta of candidate runs over control runs (one
metric per run and arm) with a bootstrap confidence interval, paired by run when the arms share their
random numbers; accepted when the interval lies above `min_delta` (0 by default).

Runs come from several base models (base seeds) times several anneal seeds. With `groups` (the base
of each run), the bootstrap resamples base models, then anneal seeds within each drawn base, so the
interval carries the variation between base models and not only that between anneal seeds."""

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


def _grouped(values: np.ndarray, groups: list[int]) -> np.ndarray:
    """values as a (bases, runs per base) matrix; every base needs the same number of runs."""
    names = sorted(set(groups))
    rows = [values[[i for i, g in enumerate(groups) if g == name]] for name in names]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("every base model needs the same number of anneal seeds")
    return np.stack(rows)


def resampled_means(values: np.ndarray, groups: list[int] | None, resamples: int, rng: np.random.Generator):
    """Bootstrap means of `values`: runs resampled, or bases then runs within bases when `groups` is given."""
    if groups is None:
        return rng.choice(values, (resamples, len(values))).mean(axis=1)
    matrix = _grouped(values, groups)
    bases, runs = matrix.shape
    drawn = rng.integers(bases, size=(resamples, bases, 1))
    within = rng.integers(runs, size=(resamples, bases, runs))
    return matrix[drawn, within].mean(axis=(1, 2))


def bootstrap_verdict(
    candidate: list[float],
    baseline: list[float],
    confidence: float = 0.95,
    min_delta: float = 0.0,
    resamples: int = 10_000,
    seed: int = 0,
    paired: bool = False,
    groups: list[int] | None = None,
) -> Verdict:
    """`paired`: the i-th candidate and baseline runs share a base, a seed and their default data (common
    random numbers), so runs are resampled together and the interval is that of the mean per-run
    difference. `groups` (paired only): the base model of each run, resampled hierarchically."""
    if len(candidate) < 2 or len(baseline) < 2:
        raise ValueError("need at least two runs per arm for a confidence interval")
    rng = np.random.default_rng(seed)
    cand, base = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    if paired:
        if len(cand) != len(base):
            raise ValueError("paired runs need as many candidate as baseline runs")
        if groups is not None and len(groups) != len(cand):
            raise ValueError("groups needs one base per run")
        deltas = resampled_means(cand - base, groups, resamples, rng)
    else:
        deltas = rng.choice(cand, (resamples, len(cand))).mean(axis=1) - rng.choice(base, (resamples, len(base))).mean(
            axis=1
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(deltas, [tail, 1 - tail])
    return Verdict(float(cand.mean() - base.mean()), float(low), float(high), bool(low > min_delta), confidence)
