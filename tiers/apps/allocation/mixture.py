"""Mixtures over cells (a weight per cell, summing to 1) for `tiers allocate --search`: sampling around
the current plan within the cells' caps, the regression from weights to a measured metric, and the
proposal. Pure numpy; the measuring is the verification loop's (`verification/mixture_search.py`).

- `sample_mixtures`: seeded Dirichlet draws around the current weights `w0`. The concentration of cell
  c is `K * concentration * (0.9 * w0_c + 0.1 / K)` over the K cells with room: with the default
  concentration 1 a uniform plan gives the flat Dirichlet (RegMix's prior), and a cell the plan leaves
  out still gets some draws. Each draw is then brought within the caps (`within_caps`).
- `fit_linear`: ridge regression of the metric on the weights (RegMix's linear variant). With 4 to 16
  trials a gradient-boosted model has too few points to split on; a linear model in the weights has one
  coefficient per cell (what the metric gains per unit of that cell) and is exact when cells add up.
- `propose`: RegMix's step: draw many mixtures from the same prior, predict each, and average the best
  `top_k`. The average of mixtures within the caps is within the caps (the caps are convex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOOR = 0.1  # share of the prior's mass spread evenly over all cells with room
RIDGE = 1e-4


class InfeasibleMixture(ValueError):
    """The cells' caps hold less than the stage's budget, so no mixture can be sampled."""


def within_caps(weights: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The nearest mixture (by proportional scaling) with every weight at most its `upper` bound: a cell
    over its bound is set to it and the excess goes to the other cells in proportion to their weights
    (to their room, where they have no weight), repeatedly."""
    w = np.asarray(weights, dtype=float).copy()
    upper = np.asarray(upper, dtype=float)
    if upper.sum() < 1 - 1e-9:
        raise InfeasibleMixture(f"the cells' caps hold {upper.sum():.4f} of the budget, less than all of it")
    w = w / w.sum()
    for _ in range(len(w) + 1):
        over = w > upper + 1e-12
        if not over.any():
            break
        excess = float((w[over] - upper[over]).sum())
        w[over] = upper[over]
        free = ~over & (w < upper - 1e-12)
        share = w * free
        if share.sum() <= 0:
            share = (upper - w) * free
        w = w + excess * share / share.sum()
    return np.minimum(w, upper) / np.minimum(w, upper).sum()


def prior(w0: np.ndarray, upper: np.ndarray, concentration: float) -> np.ndarray:
    """Dirichlet concentrations around `w0` (zero for cells without room)."""
    room = np.asarray(upper) > 0
    k = int(room.sum())
    alpha = k * concentration * ((1 - FLOOR) * np.asarray(w0, dtype=float) + FLOOR / k)
    return np.where(room, alpha, 0.0)


def sample_mixtures(
    w0: np.ndarray, upper: np.ndarray, n: int, seed: int, concentration: float = 1.0
) -> list[np.ndarray]:
    """`n` mixtures drawn around `w0` with `seed`, each within the caps; the first `m` of `n` draws do
    not depend on `n`, so a search with more candidates extends one with fewer."""
    rng = np.random.default_rng([seed, 17])
    alpha = prior(w0, upper, concentration)
    room = alpha > 0
    draws = []
    for _ in range(n):
        w = np.zeros(len(alpha))
        w[room] = rng.dirichlet(alpha[room])
        draws.append(within_caps(w, upper))
    return draws


@dataclass(frozen=True)
class LinearFit:
    """metric ~ intercept + coefficients . (weights - mean_weights)"""

    intercept: float
    coefficients: np.ndarray
    mean_weights: np.ndarray

    def predict(self, weights: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(weights, dtype=float)) - self.mean_weights
        return self.intercept + x @ self.coefficients


def fit_linear(weights: np.ndarray, metric: np.ndarray, ridge: float = RIDGE) -> LinearFit:
    """Ridge least squares on centred weights (the weights sum to 1, so an intercept and all K
    coefficients are not identifiable without the penalty; it picks the smallest coefficients)."""
    x = np.asarray(weights, dtype=float)
    y = np.asarray(metric, dtype=float)
    mean_x, mean_y = x.mean(axis=0), float(y.mean())
    xc = x - mean_x
    k = x.shape[1]
    a = np.vstack([xc, np.sqrt(ridge) * np.eye(k)])
    b = np.concatenate([y - mean_y, np.zeros(k)])
    coefficients = np.linalg.lstsq(a, b, rcond=None)[0]
    return LinearFit(mean_y, coefficients, mean_x)


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties given their mean rank."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        result[tied] = result[tied].mean()
    return result


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def held_out_rank_correlation(weights: np.ndarray, metric: np.ndarray, ridge: float = RIDGE) -> float | None:
    """Spearman correlation between each trial's metric and the prediction of a fit without that trial
    (leave-one-out); None with fewer than 4 trials or no spread."""
    x, y = np.asarray(weights, dtype=float), np.asarray(metric, dtype=float)
    if len(y) < 4:
        return None
    predicted = [
        float(fit_linear(np.delete(x, i, axis=0), np.delete(y, i), ridge).predict(x[i])[0]) for i in range(len(y))
    ]
    return spearman(y, np.array(predicted))


def propose(
    fit: LinearFit,
    w0: np.ndarray,
    upper: np.ndarray,
    seed: int,
    concentration: float = 1.0,
    samples: int = 20_000,
    top_k: int = 100,
) -> np.ndarray:
    """The mean of the `top_k` mixtures with the best predicted metric among `samples` draws from the
    search's prior (RegMix), within the caps."""
    draws = np.array(sample_mixtures(w0, upper, samples, seed + 1, concentration))
    best = np.argsort(-fit.predict(draws), kind="stable")[:top_k]
    return within_caps(draws[best].mean(axis=0), upper)
