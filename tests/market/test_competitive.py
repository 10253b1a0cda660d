"""The competitive benchmark against its closed form, accounting and neutrality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from market.competitive import consumer_demand, solve_competitive
from market.errors import SolverError
from market.model import Economy, ProducerGroup, StandardGroup, Verification
from market.posts import settle
from market.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def economy_c(c: float, P: int = 3, kappa: float = 0.0, K: float = 1e12,
              alpha0: float = 0.0) -> Economy:
    return Economy(
        T=1,
        standard=(StandardGroup("s", 5, 20.0, (1.0,), alpha0, 100.0),),
        producers=(ProducerGroup("p", P, (15.0,), c, K=K, alpha=(1.0,), bytecoins=100.0),),
        verification=Verification(kappa=kappa, schedule=(1.0,)))


def test_closed_form_decreasing_returns() -> None:
    """docs/economics.md §6: all the good is input, φ_j = Ω/P, q_j = θ(Ω/P)^c, p/p⁰ = φ'(q_j)."""
    c, P, theta, Omega = 0.8, 3, 15.0, 100.0
    eq = solve_competitive(economy_c(c, P))
    phi = Omega / P
    q = theta * phi ** c
    np.testing.assert_allclose(eq.offers[5:, 1], q, rtol=1e-10)
    price = (1.0 / (c * theta)) * (q / theta) ** ((1.0 - c) / c)
    assert eq.relative_prices[1] == pytest.approx(price, rel=1e-10)
    # profits (1 − c) p q are spent on electricity by the producers
    profit = eq.relative_prices[1] * q - phi
    assert profit == pytest.approx((1 - c) * eq.relative_prices[1] * q, rel=1e-10)
    np.testing.assert_allclose(eq.allocations[5:, 1], profit / eq.relative_prices[1], rtol=1e-10)


def test_binding_capacity_earns_a_rent() -> None:
    """Default scenario: capacity binds in period 2 only; price = marginal cost elsewhere."""
    from emg.solve import markups

    economy = load_scenario(ROOT / "scenarios" / "default.toml").economy
    eq = solve_competitive(economy)
    np.testing.assert_allclose(eq.offers[-2:, 2], 2000.0, rtol=1e-12)
    assert np.all(eq.offers[-2:, [1, 3]] < 2000.0)
    m = markups(economy, eq)
    assert m[0] == pytest.approx(1.0, rel=1e-10) and m[2] == pytest.approx(1.0, rel=1e-10)
    assert m[1] > 1.0


def test_zero_profit_producers_cannot_pay_verification() -> None:
    with pytest.raises(SolverError, match="cannot|can pay"):
        solve_competitive(economy_c(1.0, P=2, kappa=1e-6))
    ok = solve_competitive(economy_c(1.0, P=2, kappa=0.0))  # free verification: fine
    assert ok.relative_prices[1] == pytest.approx(1.0 / 15.0, rel=1e-12)


@pytest.mark.parametrize("name", ["default.toml", "peak-long-run.toml", "pow-priced-out.toml",
                                  "ces-steady-load.toml"])
def test_shipped_accounting(name: str) -> None:
    economy = load_scenario(ROOT / "scenarios" / name).economy
    eq = solve_competitive(economy)
    assert eq.converged and eq.max_residual <= 1e-9
    part = ~eq.priced_out
    out = settle(eq.bids, eq.offers)
    Q = eq.offers.sum(axis=0)
    np.testing.assert_allclose(eq.allocations.sum(axis=0), Q, rtol=1e-12)
    V = np.where(part[:, None], economy.schedule[None, :] * eq.verification[:, None], 0.0)
    np.testing.assert_allclose((eq.consumption[:, 1:] + V).sum(axis=0), Q[1:], rtol=1e-12)
    np.testing.assert_allclose(eq.bids.sum(axis=1), out.revenue + np.where(
        economy.arrays.producer, 0.0, 0.0), rtol=1e-9)
    assert eq.bids.sum() == pytest.approx(economy.arrays.bytecoins[part].sum(), rel=1e-12)


def test_money_neutrality() -> None:
    economy = load_scenario(ROOT / "scenarios" / "default.toml").economy
    a, b = solve_competitive(economy), solve_competitive(economy.scale_bytecoins(0.25))
    np.testing.assert_allclose(b.prices, 0.25 * a.prices, rtol=1e-10)
    np.testing.assert_allclose(b.allocations, a.allocations, rtol=1e-10)


def test_stone_geary_demand() -> None:
    alpha = np.array([[0.0, 1.0, 3.0]])
    req = np.array([[0.0, 2.0, 1.0]])
    prices = np.array([1.0, 0.5, 2.0])
    x, ok = consumer_demand(alpha, req, np.array([10.0]), prices, np.array([1.0]))
    surplus = 10.0 - (0.5 * 2.0 + 2.0 * 1.0)
    np.testing.assert_allclose(x[0, 1:], [2.0 + 0.25 * surplus / 0.5, 1.0 + 0.75 * surplus / 2.0])
    assert ok[0]
    x, ok = consumer_demand(alpha, req, np.array([2.0]), prices, np.array([1.0]))
    assert not ok[0]


def test_an_unsolved_benchmark_says_which_markets_do_not_clear() -> None:
    """A price-taking point above the tolerance is described by its failing conditions,
    largest first (not only "aggregate residual 0.37")."""
    from market.competitive import _uncleared

    r = np.array([-0.372, 1e-12, 0.05, -0.2])  # T = 3 periods, then one long-run group
    text = _uncleared(r, 3, ["plants"])
    assert text.startswith("period 1's electricity market does not clear (excess supply 0.372")
    assert "the capacity rent of group plants falls short of the capacity cost by 0.2" in text
    assert "period 3's electricity market does not clear (excess demand 0.05" in text
    assert "period 2" not in text  # within the tolerance
