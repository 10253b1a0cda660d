"""The fast producer best response gives the answers of the slow one it replaced.

The producer's budget multiplier is found by Newton's method with analytic
slopes (:class:`market.shares.BidCurve`) instead of bracketing with
:func:`market.shares.best_bid`; these tests pin the pieces to the reference
arithmetic and the whole to the independent check (:func:`market.verify.is_nash`).
Correctness only: nothing here is timed.
"""

from __future__ import annotations

import dataclasses as dc
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import market.bestresponse as bestresponse
from market.bestresponse import (
    _ProducerProblem,
    best_response,
    producer_best_response,
    standard_best_response,
)
from market.model import Economy, Utility
from market.nash import solve_nash
from market.profile import nash_residuals
from market.results import Equilibrium
from market.scenario import load_scenario
from market.shares import BidCurve, best_bid
from market.verify import is_nash

ROOT = Path(__file__).resolve().parents[2]


def random_posts(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """``(α, r, Q, R, λ)`` for ``n`` posts, some with ``α = 0`` or ``r = 0``."""
    alpha = rng.uniform(0.0, 1.0, n) * (rng.random(n) > 0.2)
    Q = rng.uniform(1.0, 1000.0, n)
    req = Q * rng.uniform(0.0, 0.6, n) * (rng.random(n) > 0.3)
    R = rng.uniform(1.0, 1000.0, n)
    lam = np.exp(rng.uniform(-12.0, 3.0, n))
    return alpha, req, Q, R, lam


def test_bid_curve_is_best_bid_to_the_last_bit_for_log_utility() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 6))
        alpha, req, Q, R, lam = random_posts(rng, n)
        b, _ = BidCurve(alpha, req, Q, R, 0.0).at(lam)
        np.testing.assert_array_equal(b, best_bid(alpha, req, Q, R, lam, np.zeros(n)))


@pytest.mark.parametrize("rho", [0.5, -3.0])
def test_bid_curve_agrees_with_the_bisection_for_ces(rho: float) -> None:
    """Newton in ``ln E`` (then in ``b``) lands where 130 bisections do, to rounding."""
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 6))
        alpha, req, Q, R, lam = random_posts(rng, n)
        curve = BidCurve(alpha, req, Q, R, rho)
        ref = best_bid(alpha, req, Q, R, lam, np.full(n, rho))
        ok = ref > 0
        for factor in (1.0, 1.3, 0.6):  # later calls start from the previous solution
            ref = best_bid(alpha, req, Q, R, lam * factor, np.full(n, rho))
            b, _ = curve.at(lam * factor)
            np.testing.assert_allclose(b[ok], ref[ok], rtol=1e-13)
            np.testing.assert_array_equal(b[~ok], ref[~ok])


@pytest.mark.parametrize("rho", [0.0, 0.5, -1.0])
def test_bid_curve_slopes_are_the_derivatives(rho: float) -> None:
    rng = np.random.default_rng(2)
    h = 1e-5
    for _ in range(200):
        n = int(rng.integers(1, 6))
        alpha, req, Q, R, lam = random_posts(rng, n)
        b, db = BidCurve(alpha, req, Q, R, rho).at(lam)
        up = BidCurve(alpha, req, Q, R, rho).at(lam * np.exp(h))[0]
        down = BidCurve(alpha, req, Q, R, rho).at(lam * np.exp(-h))[0]
        fd = (up - down) / (2 * h)
        assert np.all(db <= 0)
        big = np.abs(db) > 1e-4 * b  # elsewhere the difference quotient is rounding
        np.testing.assert_allclose(db[big], fd[big], rtol=1e-5)
        np.testing.assert_array_equal(db[alpha == 0], 0.0)


@lru_cache(maxsize=None)
def variant(kind: str) -> tuple[Economy, Equilibrium]:
    """The default economy with its producers changed (CES, input weight, increasing returns)."""
    eco = load_scenario(ROOT / "scenarios" / "default.toml").economy
    change = {"ces": {"utility": Utility("ces", 2.0)},
              "ces-low": {"utility": Utility("ces", 0.5)},
              "alpha0": {"alpha0": 0.3},
              "alpha0-ces": {"alpha0": 0.3, "utility": Utility("ces", 2.0)},
              "c1.2": {"c": 1.2, "theta": (5.0, 7.0, 5.0)},
              "default": {}}[kind]
    eco = dc.replace(eco, producers=tuple(dc.replace(p, **change) for p in eco.producers))
    return eco, solve_nash(eco)


def others(economy: Economy, j: int, bids: np.ndarray, offers: np.ndarray) -> tuple[np.ndarray, ...]:
    mask = np.ones(economy.N, dtype=bool)
    mask[j] = False
    return bids[mask].sum(axis=0), offers[mask].sum(axis=0)


@pytest.mark.parametrize("kind", ["default", "ces", "ces-low", "alpha0", "alpha0-ces"])
def test_newton_multiplier_is_the_bracketed_one(kind: str) -> None:
    """For many offers, Newton's ``λ`` and bids are those of bracketing + Brent."""
    economy, eq = variant(kind)
    rng = np.random.default_rng(3)
    checked = 0
    for j in np.flatnonzero(economy.arrays.producer):
        R, S = others(economy, j, eq.bids, eq.offers)
        prob = _ProducerProblem(economy, int(j), R, S, float(eq.verification[j]))
        for _ in range(8):
            q = eq.offers[j, 1:] * np.exp(rng.normal(0.0, 0.4, economy.T))
            Qt = S[1:] + q
            phi = float(((q / prob.theta) ** (1.0 / prob.c)).sum())
            wedge = S[1:] / Qt
            income = float((R[1:] * q / Qt).sum())
            if prob.evaluate(q, prob.K) is None:
                continue
            curve = BidCurve(prob.alpha, np.concatenate(([phi], prob.req)),
                             np.concatenate(([prob.Omega], Qt)), R, prob.rho)
            fast = prob._newton_lambda(curve, wedge, income, income)
            assert fast is not None
            lam, b = prob._bracket_lambda(phi, Qt, wedge, income, income)
            assert fast[0] == pytest.approx(lam, rel=1e-12)
            np.testing.assert_allclose(fast[1], b, rtol=1e-12)
            checked += 1
    assert checked > 8


def moved_profile(kind: str, move: str) -> tuple[Economy, Equilibrium, int, np.ndarray,
                                                  np.ndarray]:
    """The Nash profile of ``variant(kind)`` moved away from equilibrium.

    ``"supply"``: the other producers offer 60% of their Nash output;
    ``"demand"``: the standard agents bid 30% more. Either way every other
    agent's action stays feasible, and the last producer has something to gain.
    """
    economy, eq = variant(kind)
    j = economy.N - 1
    bids = eq.bids.copy()
    offers = eq.offers.copy()
    if move == "supply":
        moved = economy.arrays.producer.copy()
        moved[j] = False
        offers[moved, 1:] *= 0.6
    else:
        bids[~economy.arrays.producer] *= 1.3
    return economy, eq, j, bids, offers


@pytest.mark.parametrize("kind", ["default", "ces", "ces-low", "alpha0", "alpha0-ces", "c1.2"])
@pytest.mark.parametrize("move", ["supply", "demand"])
def test_producer_best_response_meets_its_first_order_conditions(kind: str, move: str) -> None:
    """Eqs (12)–(17) and the budget hold at the best response (``nash_residuals``)."""
    economy, eq, j, bids, offers = moved_profile(kind, move)
    act = best_response(economy, j, bids, offers, v=float(eq.verification[j]))
    assert not act.priced_out
    bids[j], offers[j] = act.bids, act.offers
    res = nash_residuals(economy, bids, offers, eq.verification, np.ones(economy.N, dtype=bool))
    assert res[j] <= 1e-12


@pytest.mark.parametrize("kind", ["ces", "ces-low", "alpha0", "alpha0-ces", "c1.2"])
@pytest.mark.parametrize("move", ["supply", "demand"])
def test_producer_best_response_is_not_beaten(kind: str, move: str) -> None:
    """CES producers, producers that value the good, increasing returns: ``is_nash`` finds nothing better."""
    economy, eq, j, bids, offers = moved_profile(kind, move)
    act = best_response(economy, j, bids, offers, v=float(eq.verification[j]))
    assert not act.priced_out
    bids[j], offers[j] = act.bids, act.offers
    check = is_nash(economy, bids, offers, v=eq.verification, starts=2)
    assert check.gains[j] <= 1e-9


def test_repeated_and_restarted_calls_agree() -> None:
    """Warm starts and memoised evaluations do not change the answer beyond rounding."""
    economy, eq = variant("default")
    j = economy.N - 1
    R, S = others(economy, j, eq.bids, eq.offers)
    v = float(eq.verification[j])
    first = producer_best_response(economy, j, R, S, v, start=eq.offers[j])
    again = producer_best_response(economy, j, R, S, v, start=eq.offers[j])
    np.testing.assert_array_equal(first.offers, again.offers)
    cold = producer_best_response(economy, j, R, S, v, start=None)
    np.testing.assert_allclose(cold.offers, first.offers, rtol=1e-10)
    np.testing.assert_allclose(cold.bids, first.bids, rtol=1e-10)


@lru_cache(maxsize=None)
def standard_case(scenario: str, alpha0: str) -> tuple[Economy, Equilibrium]:
    """A shipped economy at its Nash profile, its standard agents given a weight on the good.

    ``"some"``: ``α^0 = 0.3`` besides the posts; ``"only"``: ``α^0`` alone
    (``α^t = 0``: the budget is spent on the good, the posts get their least bids).
    The profile is the unchanged economy's (a best response needs no equilibrium).
    """
    base = load_scenario(ROOT / "scenarios" / f"{scenario}.toml").economy
    eq = solve_nash(base)
    if alpha0 == "some":
        groups = tuple(dc.replace(g, alpha0=0.3) for g in base.standard)
    elif alpha0 == "only":
        groups = tuple(dc.replace(g, alpha0=0.5, alpha=(0.0,) * len(g.alpha)) for g in base.standard)
    else:
        groups = base.standard
    return dc.replace(base, standard=groups), eq


@pytest.mark.parametrize("scenario", ["default", "ces-steady-load", "cia-pow"])
@pytest.mark.parametrize("alpha0", ["none", "some", "only"])
def test_standard_newton_is_the_bracketed_best_response(scenario: str, alpha0: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Newton's ``λ`` (with :class:`BidCurve`) gives the bids and utility of bracketing + Brent.

    At the Nash profile and moved ones: others' bids scaled on some posts,
    producers' offers scaled, a post nobody else bids on (the ``EPS_BID``
    post) and a post nobody offers on (inactive).
    """
    economy, eq = standard_case(scenario, alpha0)
    producer = economy.arrays.producer
    rng = np.random.default_rng(4)
    profiles = [(eq.bids, eq.offers)]
    for f in (0.5, 1.3):
        bids = eq.bids.copy()
        bids[:, rng.random(economy.T + 1) < 0.5] *= f
        offers = eq.offers.copy()
        offers[producer] *= 1.5 - f / 2
        profiles.append((bids, offers))
    if economy.T >= 2:
        bids = eq.bids.copy()
        bids[:, 1] = 0.0
        offers = eq.offers.copy()
        offers[:, 2] = 0.0
        profiles += [(bids, eq.offers), (eq.bids, offers), (bids, offers)]
    cases = []
    for bids, offers in profiles:
        for i in np.flatnonzero(~producer)[::3]:
            R, S = others(economy, int(i), bids, offers)
            cases.append((int(i), R, S, float(eq.verification[i])))
    fast = [standard_best_response(economy, i, R, S, v) for i, R, S, v in cases]
    monkeypatch.setattr(bestresponse, "_newton_log_lambda", lambda *args: None)
    slow = [standard_best_response(economy, i, R, S, v) for i, R, S, v in cases]
    active = 0
    for a, b in zip(fast, slow):
        assert a.priced_out == b.priced_out
        if a.priced_out:
            continue
        active += 1
        np.testing.assert_allclose(a.bids, b.bids, rtol=1e-12, atol=0.0)
        np.testing.assert_array_equal(a.offers, b.offers)
        assert a.utility == pytest.approx(b.utility, rel=1e-12, abs=0.0)
    assert active >= len(cases) // 3
