"""The Nash solver against accounting identities, analytic results and an independent check."""

from __future__ import annotations

import dataclasses as dc
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from market.bestresponse import best_response
from market.competitive import solve_competitive
from market.errors import SolverError
from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Utility, Verification
from market.nash import solve_nash
from market.posts import settle
from market.results import Equilibrium
from market.scenario import load_scenario
from market.verify import is_nash

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))


@lru_cache(maxsize=None)
def scenario_economy(name: str) -> Economy:
    return load_scenario(ROOT / "scenarios" / name).economy


@lru_cache(maxsize=None)
def nash_of(name: str) -> Equilibrium:
    return solve_nash(scenario_economy(name))


def random_economy(seed: int) -> Economy:
    """A heterogeneous economy: groups with their own weights, endowments and technologies."""
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 4))
    std = tuple(StandardGroup(name=f"s{g}", count=int(rng.integers(1, 4)),
                              omega=float(rng.uniform(5, 50)),
                              alpha=tuple(float(a) for a in rng.uniform(0.1, 1.0, T)),
                              alpha0=float(rng.choice([0.0, 0.3])),
                              bytecoins=float(rng.uniform(10, 100)),
                              utility=Utility("ces", 0.6) if g == 2 else Utility())
                for g in range(3))
    prod = tuple(ProducerGroup(name=f"p{g}", count=2,
                               theta=tuple(float(x) for x in rng.uniform(5, 30, T)),
                               c=float(rng.choice([0.7, 0.85, 1.0])),
                               K=float(rng.uniform(200, 2000)),
                               alpha=tuple(float(a) for a in rng.uniform(0.0, 1.0, T)),
                               bytecoins=float(rng.uniform(10, 100)))
                 for g in range(2))
    return Economy(T=T, standard=std, producers=prod,
                   verification=Verification(kappa=float(rng.choice([0.0, 1e-6])),
                                             schedule=(1.0 / T,) * T))


def check_accounting(economy: Economy, eq: Equilibrium) -> None:
    """Clearing, energy accounting, budgets and FOCs of an equilibrium."""
    part = ~eq.priced_out
    out = settle(eq.bids, eq.offers)
    Q = eq.offers.sum(axis=0)
    # every post clears: allocations add up to what was offered
    np.testing.assert_allclose(eq.allocations.sum(axis=0), np.where(out.active, Q, 0.0),
                               rtol=1e-12)
    # energy: Σ_i (E_i + V_i) = Q per period, V_i = s^t v_i for participants
    V = np.where(part[:, None], economy.schedule[None, :] * eq.verification[:, None], 0.0)
    np.testing.assert_allclose((eq.consumption[:, 1:] + V).sum(axis=0), Q[1:], rtol=1e-12)
    assert np.all(eq.consumption[part][:, 1:] >= 0)
    # budgets (1)/(3): bids = revenue of the offers at the resulting prices
    np.testing.assert_allclose(eq.bids.sum(axis=1), out.revenue, rtol=1e-9)
    # price level: total bids = the participants' bytecoin supply
    assert eq.bids.sum() == pytest.approx(economy.arrays.bytecoins[part].sum(), rel=1e-12)
    # the good: producers' input is covered
    assert np.all(eq.allocations[:, 0] >= eq.inputs * (1 - 1e-12))
    assert eq.converged and eq.max_residual <= 1e-9
    assert np.all(eq.offers[part & economy.arrays.producer, 1:] <= economy.arrays.K[
        part & economy.arrays.producer][:, None] * (1 + 1e-12))
    assert np.all(eq.bids[~part] == 0) and np.all(eq.offers[~part] == 0)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_solve_and_are_nash(name: str) -> None:
    economy = scenario_economy(name)
    eq = nash_of(name)
    check_accounting(economy, eq)
    check = is_nash(economy, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                    starts=2)
    assert check.max_gain <= 1e-9, (check.worst_agent, check.max_gain)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_heterogeneous_economies(seed: int) -> None:
    economy = random_economy(seed)
    eq = solve_nash(economy)
    check_accounting(economy, eq)
    check = is_nash(economy, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                    starts=2)
    assert check.max_gain <= 1e-9, (check.worst_agent, check.max_gain)


def test_is_nash_detects_a_deviation() -> None:
    economy = scenario_economy("default.toml")
    eq = nash_of("default.toml")
    bids = eq.bids.copy()
    bids[0, 1:] *= [0.9, 1.0, 1.0]  # agent 0 underspends on period 1: it gains by spending it
    check = is_nash(economy, bids, eq.offers, starts=1)
    assert check.gains[0] > 1e-4
    offers = eq.offers.copy()
    offers[-1, 1] *= 0.8  # a producer withholds output in period 1
    check = is_nash(economy, eq.bids, offers, starts=1)
    assert check.max_gain > 1e-4


def test_best_response_at_equilibrium_is_the_equilibrium() -> None:
    economy = scenario_economy("default.toml")
    eq = nash_of("default.toml")
    for i in (0, 5, economy.N - 1):
        act = best_response(economy, i, eq.bids, eq.offers, v=float(eq.verification[i]))
        assert not act.priced_out
        scale = eq.bids[i].max()
        assert np.max(np.abs(act.bids - eq.bids[i])) <= 1e-7 * scale
        assert np.max(np.abs(act.offers - eq.offers[i])) <= 1e-7 * max(eq.offers[i].max(), 1)
        assert act.utility == pytest.approx(eq.utility[i], rel=1e-9, abs=1e-9)


def test_best_response_improves_on_a_bad_action() -> None:
    economy = scenario_economy("default.toml")
    eq = nash_of("default.toml")
    bids = eq.bids.copy()
    bids[2, 1:] = bids[2, 1:].sum() / 3
    act = best_response(economy, 2, bids, eq.offers, v=float(eq.verification[2]))
    # its own row is ignored: the answer is the equilibrium bid again
    np.testing.assert_allclose(act.bids, eq.bids[2], rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["market-power-8.toml", "peak-long-run.toml", "default.toml"])
@pytest.mark.parametrize("shrink", [0.5, 0.7])
def test_producer_best_response_is_not_beaten_by_the_independent_check(name: str, shrink: float) -> None:
    """Away from equilibrium a producer's best response leaves ``is_nash`` nothing to gain.

    The other producers offer ``shrink`` times their Nash output, so prices
    rise and the last producer (still playing its Nash row, now with money
    to spare) wants to produce more. Its best response, put in its row, must
    be one ``is_nash`` (SLSQP over the logs, a different method) cannot
    improve on. This failed before the producer search backed off
    infeasible steps: L-BFGS-B's first step overshot to offers whose input
    the producer could not pay for, and the search stopped at its start.
    """
    economy = scenario_economy(name)
    eq = nash_of(name)
    j = economy.N - 1
    others = economy.arrays.producer.copy()
    others[j] = False
    bids = eq.bids.copy()
    offers = eq.offers.copy()
    offers[others, 1:] *= shrink
    v = eq.verification
    before = is_nash(economy, bids, offers, v=v, starts=2)
    assert before.gains[j] > 1e-3  # the producer has something to gain
    act = best_response(economy, j, bids, offers, v=float(v[j]))
    assert not act.priced_out
    bids[j], offers[j] = act.bids, act.offers
    after = is_nash(economy, bids, offers, v=v, starts=2)
    assert after.gains[j] <= 1e-9


def symmetric_economy(M: int, P: int, theta: float, omega: float, kappa: float) -> Economy:
    """T = 1; standard agents value electricity; producers value only the good; c = 1."""
    return Economy(
        T=1,
        standard=(StandardGroup("s", M, omega, (1.0,), 0.0, 100.0),),
        producers=(ProducerGroup("p", P, (theta,), 1.0, K=1e12, alpha=(0.0,), alpha0=1.0,
                                 bytecoins=100.0),),
        verification=Verification(kappa=kappa, schedule=(1.0,),
                                  gas_per_order=GasPerOrder(standard=50_000, producer=0)))


@pytest.mark.parametrize(("M", "P"), [(3, 2), (5, 3), (4, 6)])
def test_symmetric_closed_form(M: int, P: int) -> None:
    """docs/economics.md §5: Q = θΩ(P−1)²/P², p/p⁰ = P²/(θ(P−1)²), x_h = Qω_h/Ω."""
    theta, omega = 12.0, 20.0
    eq = solve_nash(symmetric_economy(M, P, theta, omega, 0.0))
    Omega = M * omega
    Q = theta * Omega * (P - 1) ** 2 / P ** 2
    assert eq.offers[:, 1].sum() == pytest.approx(Q, rel=1e-10)
    assert eq.relative_prices[1] == pytest.approx(P ** 2 / (theta * (P - 1) ** 2), rel=1e-10)
    np.testing.assert_allclose(eq.allocations[:M, 1], Q / M, rtol=1e-10)
    c0 = (Omega / P) * (2 * P - 1) / P ** 2
    np.testing.assert_allclose(eq.consumption[M:, 0], c0, rtol=1e-9)


def test_verification_is_a_pure_shift_in_the_closed_form() -> None:
    """κ > 0 with T = 1: bids and prices are unchanged, consumption falls by exactly v."""
    free = solve_nash(symmetric_economy(4, 3, 12.0, 20.0, 0.0))
    kappa = 1e-4  # v = 5 kWh per standard agent
    paid = solve_nash(symmetric_economy(4, 3, 12.0, 20.0, kappa))
    np.testing.assert_allclose(paid.prices, free.prices, rtol=1e-10)
    np.testing.assert_allclose(paid.consumption[:4, 1], free.consumption[:4, 1] - 5.0, rtol=1e-10)
    assert paid.verification_share[0] == pytest.approx(20.0 / paid.offers[:, 1].sum(), rel=1e-10)


def test_verification_lowers_consumption_in_the_default_economy() -> None:
    economy = scenario_economy("default.toml")
    free = solve_nash(economy.with_kappa(0.0))
    costly = solve_nash(economy.with_kappa(6.6e-4))
    assert np.all(costly.consumption[:, 1:].sum(axis=1) < free.consumption[:, 1:].sum(axis=1))
    assert np.all(costly.verification_share > 0) and np.all(free.verification_share == 0)


def test_money_neutrality() -> None:
    economy = scenario_economy("default.toml")
    base = nash_of("default.toml")
    scaled = solve_nash(economy.scale_bytecoins(7.5))
    np.testing.assert_allclose(scaled.prices, 7.5 * base.prices, rtol=1e-10)
    np.testing.assert_allclose(scaled.allocations, base.allocations, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(scaled.offers, base.offers, rtol=1e-10)


def test_replication_market_power_falls_like_one_over_n() -> None:
    """The Nash/competitive price ratio tends to 1 at rate O(1/n)."""
    economy = scenario_economy("default.toml")
    excess = []
    for n in (2, 4, 8):
        en = economy.replicate(n)
        nash, comp = solve_nash(en), solve_competitive(en)
        excess.append(float(np.max(nash.relative_prices[1:] / comp.relative_prices[1:]) - 1.0))
    assert excess[0] > excess[1] > excess[2] > 0
    for a, b in zip(excess, excess[1:]):
        assert 0.35 < b / a < 0.65  # halving n halves the excess: O(1/n)


def test_closed_form_market_power_is_order_one_over_p() -> None:
    ratios = [solve_nash(symmetric_economy(2 * P, P, 10.0, 10.0, 0.0)).relative_prices[1] * 10.0
              for P in (4, 8, 16)]
    for P, r in zip((4, 8, 16), ratios):
        assert r == pytest.approx((P / (P - 1)) ** 2, rel=1e-10)


def test_pow_prices_small_agents_out() -> None:
    economy = scenario_economy("pow-priced-out.toml")
    eq = nash_of("pow-priced-out.toml")
    edge = [a.index for a in economy.agents() if a.group == "edge"]
    assert eq.priced_out[edge].all() and not eq.priced_out[: economy.M - len(edge)].any()
    assert not solve_nash(economy.with_kappa(6.6e-8)).priced_out.any()
    # the priced-out cannot afford verification even against the participants' bids
    check = is_nash(economy, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                    starts=1)
    assert np.all(check.gains[edge] <= 0)


def test_verification_override_vector() -> None:
    economy = scenario_economy("default.toml")
    v = np.linspace(0.0, 2.0, economy.N)
    eq = solve_nash(economy, v=v)
    np.testing.assert_array_equal(eq.verification, v)
    check_accounting(economy, eq)
    with pytest.raises(SolverError, match="shape"):
        solve_nash(economy, v=np.zeros(3))


def test_increasing_returns_and_long_run_variants() -> None:
    economy = scenario_economy("default.toml")
    ir = dc.replace(economy, producers=tuple(dc.replace(p, c=1.2, theta=(5.0, 7.0, 5.0))
                                             for p in economy.producers))
    eq = solve_nash(ir)
    check_accounting(ir, eq)
    assert is_nash(ir, eq.bids, eq.offers, starts=3).max_gain <= 1e-9
