"""The search's regression and proposal: a known linear effect is recovered, the held-out rank
correlation is checked against a hand-ranked example, and the proposal moves to the best cells."""

from __future__ import annotations

import numpy as np
import pytest

from tiers.apps.allocation.mixture import fit_linear, held_out_rank_correlation, propose, sample_mixtures, spearman

EFFECT = np.array([0.03, 0.01, -0.01, -0.02])  # what a unit of each cell adds to the metric


def trials(n: int = 12, noise: float = 0.0):
    x = np.array(sample_mixtures(np.full(4, 0.25), np.ones(4), n, seed=11))
    rng = np.random.default_rng(0)
    return x, x @ EFFECT + noise * rng.standard_normal(n)


def test_fit_recovers_differences_between_cells():
    x, y = trials()
    fit = fit_linear(x, y)
    # Only differences are identifiable (the weights sum to 1).
    assert np.diff(fit.coefficients) == pytest.approx(np.diff(EFFECT), abs=1e-3)
    assert fit.predict(x) == pytest.approx(y, abs=1e-4)


def test_held_out_rank_correlation():
    x, y = trials()
    assert held_out_rank_correlation(x, y) == pytest.approx(1.0)
    _, noisy = trials(noise=0.05)  # noise larger than the effect
    assert held_out_rank_correlation(x, noisy) < 0.9
    assert held_out_rank_correlation(x[:3], y[:3]) is None


def test_spearman_by_hand():
    # ranks (0, 1, 2, 3) and (1, 0, 2, 3): d^2 = 2, rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([20.0, 10, 30, 40])) == pytest.approx(0.8)
    assert spearman(np.array([1.0, 1, 1]), np.array([1.0, 2, 3])) is None


def test_proposal_puts_most_weight_on_the_best_cells_within_caps():
    x, y = trials()
    fit = fit_linear(x, y)
    proposal = propose(fit, np.full(4, 0.25), np.ones(4), seed=0)
    assert proposal.sum() == pytest.approx(1.0)
    assert proposal[0] > 0.6 and proposal[0] + proposal[1] > 0.8
    capped = propose(fit, np.full(4, 0.25), np.array([0.3, 1.0, 1.0, 1.0]), seed=0)
    assert capped[0] <= 0.3 + 1e-9 and capped[1] > 0.5
    assert np.array_equal(proposal, propose(fit, np.full(4, 0.25), np.ones(4), seed=0))
