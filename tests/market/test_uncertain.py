"""Uncertain verification: expected-utility best bids, best responses, Nash and its check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from market.bestresponse import best_response
from market.kappa import discrete_states, uniform_states, with_dispersion
from market.model import Economy, ProducerGroup, StandardGroup, Verification
from market.nash import solve_nash
from market.shares import BidCurve, ExpectedBidCurve, best_bid
from market.verify import is_nash


def small_economy(kappa: float = 2e-4) -> Economy:
    """Two groups, two producers, T = 2: verification a visible share of the electricity."""
    return Economy(
        T=2,
        standard=(StandardGroup("big", 2, 100.0, (0.5, 0.5), bytecoins=1000.0),
                  StandardGroup("small", 2, 20.0, (0.3, 0.7), bytecoins=200.0)),
        producers=(ProducerGroup("plant", 2, (40.0, 60.0), 0.8, K=2000.0, alpha=(0.5, 0.5),
                                 bytecoins=1000.0, stock=50.0),),
        verification=Verification(kappa=kappa, schedule=(0.5, 0.5)))


STATES = discrete_states([0.5e-4, 2e-4, 3.5e-4], [0.25, 0.5, 0.25])


@pytest.mark.parametrize("rho", [0.0, -0.5, 0.4])
def test_expected_bid_maximises_expected_utility(rho: float) -> None:
    rng = np.random.default_rng(5)
    n, K = 6, 4
    alpha = rng.uniform(0.1, 1.0, n)
    Q = rng.uniform(50, 100, n)
    R = rng.uniform(10, 50, n)
    req = rng.uniform(0.0, 20.0, (n, K))
    probs = rng.dirichlet(np.ones(K))
    lam = rng.uniform(0.01, 0.2, n)
    curve = ExpectedBidCurve(alpha, req, probs, Q, R, rho)
    b, db = curve.at(lam)
    u = (lambda E: np.log(E)) if rho == 0 else (lambda E: E ** rho / rho)
    for j in range(n):
        def neg(x: float, j: int = j) -> float:
            E = x * Q[j] / (R[j] + x) - req[j]
            return -(alpha[j] * float(probs @ u(np.maximum(E, 1e-300)))) + lam[j] * x
        lo = curve.bmin[j] * (1 + 1e-12)
        ref = optimize.minimize_scalar(neg, bounds=(lo, 50 * (R[j] + 1)), method="bounded",
                                       options={"xatol": 1e-12})
        assert b[j] == pytest.approx(ref.x, rel=1e-6)
        # the slope against a central difference in ln λ
        h = 1e-6
        bp = curve.at(lam * np.exp(h))[0][j]
        bm = curve.at(lam * np.exp(-h))[0][j]
        assert db[j] == pytest.approx((bp - bm) / (2 * h), rel=1e-5)
    # expected utility needs more than the mean requirement, less than the largest (Jensen)
    rr = np.full(n, rho)
    assert np.all(b >= best_bid(alpha, req @ probs, Q, R, lam, rr) * (1 - 1e-12))
    assert np.all(b <= best_bid(alpha, req.max(axis=1), Q, R, lam, rr) * (1 + 1e-12))


def test_expected_bid_with_one_state_is_the_certain_bid() -> None:
    rng = np.random.default_rng(2)
    n = 8
    alpha, Q, R = rng.uniform(0.1, 1, n), rng.uniform(50, 100, n), rng.uniform(10, 50, n)
    req, lam = rng.uniform(0, 20, n), rng.uniform(0.01, 0.2, n)
    b1, d1 = ExpectedBidCurve(alpha, req[:, None], np.ones(1), Q, R, 0.0).at(lam)
    b0, d0 = BidCurve(alpha, req, Q, R, 0.0).at(lam)
    np.testing.assert_allclose(b1, b0, rtol=1e-13)
    np.testing.assert_allclose(d1, d0, rtol=1e-9)


def test_one_state_reproduces_the_scalar_economy_bit_for_bit() -> None:
    e = small_economy()
    one = e.with_kappa_states(discrete_states([2e-4], [1.0]))
    a, b = solve_nash(e), solve_nash(one)
    assert np.array_equal(a.bids, b.bids) and np.array_equal(a.offers, b.offers)
    assert np.array_equal(a.utility, b.utility)


@pytest.mark.slow
def test_uncertain_nash_passes_the_deviation_check_and_differs_from_the_mean() -> None:
    e = small_economy().with_kappa_states(STATES)
    eq = solve_nash(e)
    assert eq.converged and eq.max_residual <= 1e-9, eq.message
    assert "expected utility over 3 states" in eq.message
    check = is_nash(e, eq.bids, eq.offers, participants=~eq.priced_out, starts=2,
                    scales=(0.1, 10.0))
    assert check.max_gain <= 1e-8, check
    mean = solve_nash(e.with_kappa_states(None))
    assert np.max(np.abs(eq.prices / mean.prices - 1)) > 1e-7  # the uncertainty matters
    # the certain equilibrium is not one of the uncertain game
    assert is_nash(e, mean.bids, mean.offers, participants=~mean.priced_out,
                   starts=1).max_gain > 1e-9


@pytest.mark.slow
def test_dispersion_to_zero_converges_to_the_mean_kappa_equilibrium() -> None:
    e = small_economy()
    mean = solve_nash(e)
    gaps = []
    for k in (1.0, 0.1, 0.01):
        eq = solve_nash(e.with_kappa_states(with_dispersion(STATES, k)))
        gaps.append(float(np.max(np.abs(eq.bids - mean.bids) / np.abs(mean.bids).max())))
    # the effect is of second order in the dispersion (Jensen): a tenth of it, ~a hundredth
    assert gaps[0] > 10 * gaps[1] > 100 * gaps[2]
    assert gaps[2] < 1e-7


def test_standard_best_response_is_feasible_in_the_dearest_state() -> None:
    e = small_economy().with_kappa_states(uniform_states(1e-4, 4e-4, 4))
    eq = solve_nash(e.with_kappa_states(None))
    v = e.verification_energy()
    f, _ = e.kappa_states.factors()  # type: ignore[union-attr]
    i = 2
    act = best_response(e, i, eq.bids, eq.offers, v=float(v[i]))
    Q = eq.offers.sum(axis=0)
    B = eq.bids.sum(axis=0) - eq.bids[i] + act.bids
    x = act.bids[1:] * Q[1:] / B[1:]
    assert np.all(x > e.schedule * v[i] * f.max())


def test_price_taking_demand_with_two_states_has_a_closed_form() -> None:
    """T = 1, the good valued: α^0/c = λ p^0 and α Σ_k π_k/(x − r_k) = λ p^1 with
    p^0 c + p^1 x = I give p^1 α^0 (x − r_1)(x − r_2) = α (I − p^1 x)(x − r̃),
    r̃ = π_1 r_2 + π_2 r_1: a quadratic."""
    from market.competitive import expected_consumer_demand

    a0, a1, inc, p0, p1 = 0.3, 0.7, 50.0, 1.3, 0.8
    for r1, r2, pi1 in ((1.0, 9.0, 0.5), (0.0, 20.0, 0.9), (5.0, 5.5, 0.2)):
        rbar = pi1 * r2 + (1 - pi1) * r1
        # p1 a0 (x^2 - (r1+r2) x + r1 r2) - a1 (-p1 x^2 + (I + p1 rbar) x - I rbar) = 0
        coeffs = [p1 * a0 + a1 * p1, -p1 * a0 * (r1 + r2) - a1 * (inc + p1 * rbar),
                  p1 * a0 * r1 * r2 + a1 * inc * rbar]
        roots = np.roots(coeffs)
        x_exact = float(max(r.real for r in roots if abs(r.imag) < 1e-12 and r.real > r2))
        req = np.array([[[0.0, 0.0], [r1, r2]]])
        x, ok = expected_consumer_demand(np.array([[a0, a1]]), req, np.array([pi1, 1 - pi1]),
                                         np.array([inc]), np.array([p0, p1]), np.array([1.0]))
        assert ok[0]
        assert x[0, 1] == pytest.approx(x_exact, rel=1e-12)
        assert p0 * x[0, 0] + p1 * x[0, 1] == pytest.approx(inc, rel=1e-13)


def test_competitive_one_state_is_exact_and_uncertainty_is_second_order() -> None:
    from market.competitive import solve_competitive

    e = small_economy()
    base = solve_competitive(e)
    one = solve_competitive(e.with_kappa_states(discrete_states([2e-4], [1.0])))
    assert np.array_equal(base.bids, one.bids) and np.array_equal(base.offers, one.offers)
    gaps = []
    for k in (1.0, 0.1):
        eq = solve_competitive(e.with_kappa_states(with_dispersion(STATES, k)))
        assert eq.converged and eq.max_residual <= 1e-9
        gaps.append(float(np.max(np.abs(eq.allocations - base.allocations))
                          / np.abs(base.allocations).max()))
    assert gaps[0] > 0 and gaps[0] > 30 * gaps[1]
