"""The technology functions of ``market.posts`` and the participation rules of ``market.participants``."""

from __future__ import annotations

import numpy as np
import pytest

from market.errors import SolverError
from market.participants import (
    ParticipantHistory,
    entry_possible,
    price_taking_entry_possible,
    worse_off_half,
)
from market.posts import dphi, marginal_cost, phi, production


@pytest.mark.parametrize("c", [0.6, 0.85, 1.0, 1.4])
def test_phi_is_the_inverse_of_production_and_dphi_its_derivative(c: float) -> None:
    theta = np.array([5.0, 12.0, 30.0])
    q = np.array([0.5, 3.0, 40.0])
    np.testing.assert_allclose(production(phi(q, theta, c), theta, c), q, rtol=1e-13)
    h = 1e-6 * q
    numeric = (phi(q + h, theta, c) - phi(q - h, theta, c)) / (2 * h)
    np.testing.assert_allclose(dphi(q, theta, c), numeric, rtol=1e-7)
    np.testing.assert_allclose(marginal_cost(2.5, q, theta, c), 2.5 * dphi(q, theta, c), rtol=1e-15)


def test_scalars_and_arrays_give_the_same_bits() -> None:
    """Broadcasting changes nothing: row by row equals the array (the solvers rely on it)."""
    theta = np.array([[5.0, 12.0], [7.0, 9.0]])
    c = np.array([[0.7], [1.0]])
    q = np.array([[0.5, 3.0], [2.0, 0.0]])
    for f in (phi, dphi):
        whole = f(q, theta, c)
        for i in range(2):
            for t in range(2):
                assert f(float(q[i, t]), float(theta[i, t]), float(c[i, 0])) == whole[i, t]


def test_dphi_at_zero_output() -> None:
    assert dphi(0.0, 10.0, 0.8) == 0.0
    assert dphi(np.array([0.0]), np.array([10.0]), 1.25)[0] == np.inf  # no warning either


def test_entry_needs_income_above_the_cost_of_verification() -> None:
    B = np.array([10.0, 4.0, 6.0])
    Q = np.array([100.0, 20.0, 30.0])
    # cost Σ r B/(Q − r), income B^0 ω/(Ω + ω)
    req = np.array([[0.5, 0.5], [19.0, 0.5], [20.0, 0.0], [0.0, 0.0]])
    omega = np.array([5.0, 5.0, 500.0, 1.0])
    with np.errstate(divide="ignore"):
        cost = np.where(req > 0, req * B[1:] / (Q[1:] - req), 0.0).sum(axis=1)
    income = B[0] * omega / (Q[0] + omega)
    expect = (cost < income) & ~np.any(req >= Q[1:], axis=1)
    expect[2] = False  # a post whose whole supply is its verification cannot be bought
    np.testing.assert_array_equal(entry_possible(omega, req, B, Q), expect)
    # one agent at a time, as the independent check asks
    for h in range(4):
        assert bool(entry_possible(omega[h], req[h], B, Q)) == expect[h]
    # price taking: p^0 ω against Σ p^t r
    prices = B / Q
    np.testing.assert_array_equal(price_taking_entry_possible(omega, req, prices),
                                  prices[0] * omega > (req * prices[1:]).sum(axis=1))


def test_the_worse_off_half_leaves_and_cycles_are_caught() -> None:
    surplus = np.array([0.3, -0.2, -0.5, 0.1, -0.1])
    assert sorted(worse_off_half(surplus, 3).tolist()) == [1, 2]
    assert worse_off_half(surplus, 1).tolist() == [2]
    history = ParticipantHistory("cycle")
    history.record(np.array([True, False]))
    history.record(np.array([True, True]))
    with pytest.raises(SolverError, match="cycle"):
        history.record(np.array([True, False]))
