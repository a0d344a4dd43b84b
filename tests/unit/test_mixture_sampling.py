"""Candidate mixtures for the allocation search: seeded, within the caps, extendable, and the caps'
projection checked against hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tiers.apps.allocation.mixture import InfeasibleMixture, prior, sample_mixtures, within_caps

UNIFORM = np.full(4, 0.25)


def test_same_seed_same_candidates_other_seed_other():
    upper = np.ones(4)
    first = sample_mixtures(UNIFORM, upper, 4, seed=3)
    again = sample_mixtures(UNIFORM, upper, 4, seed=3)
    other = sample_mixtures(UNIFORM, upper, 4, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.allclose(a, b) for a, b in zip(first, other))


def test_more_candidates_extend_fewer():
    upper = np.ones(4)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(sample_mixtures(UNIFORM, upper, 3, 0), sample_mixtures(UNIFORM, upper, 8, 0)[:3])
    )


def test_candidates_are_mixtures_within_caps():
    upper = np.array([1.0, 0.05, 0.3, 1.0])
    for w in sample_mixtures(UNIFORM, upper, 200, seed=1):
        assert w.sum() == pytest.approx(1.0)
        assert (w >= 0).all() and (w <= upper + 1e-9).all()


def test_cells_without_room_get_nothing():
    upper = np.array([1.0, 0.0, 1.0, 1.0])
    assert prior(UNIFORM, upper, 1.0)[1] == 0
    assert all(w[1] == 0 for w in sample_mixtures(UNIFORM, upper, 20, seed=2))


def test_uniform_plan_gives_flat_dirichlet():
    # K * 1 * (0.9 / K + 0.1 / K) = 1 for every cell
    assert prior(UNIFORM, np.ones(4), 1.0) == pytest.approx(np.ones(4))


def test_draws_center_on_the_plan():
    w0 = np.array([0.7, 0.1, 0.1, 0.1])
    mean = np.mean(sample_mixtures(w0, np.ones(4), 4000, seed=5), axis=0)
    # Dirichlet mean: alpha / sum(alpha) = 0.9 * w0 + 0.1 / K
    assert mean == pytest.approx(0.9 * w0 + 0.025, abs=0.01)


def test_within_caps_by_hand():
    # 0.6 over a cap of 0.4: the 0.2 excess goes to the others in proportion to 0.3 and 0.1.
    assert within_caps(np.array([0.6, 0.3, 0.1]), np.array([0.4, 1.0, 1.0])) == pytest.approx([0.4, 0.45, 0.15])
    # The excess fills the second cell to its cap of 0.35; the rest goes to the third.
    assert within_caps(np.array([0.6, 0.3, 0.1]), np.array([0.4, 0.35, 1.0])) == pytest.approx([0.4, 0.35, 0.25])
    with pytest.raises(InfeasibleMixture):
        within_caps(np.array([0.5, 0.5]), np.array([0.4, 0.4]))
