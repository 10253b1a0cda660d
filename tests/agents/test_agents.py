"""The agents off chain: strategies, the cash-in-advance conversion, exact integer
orders, and the best-response dynamic's fixed point (checked
against the Nash solver with the float trading posts, no chain)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from market.model import Scenario
from market.scenario import scenario_from_dict

from agents.strategies import (
    DampedBestResponse,
    Observation,
    Order,
    cash_in_advance,
    fit_to_stock,
    input_needed,
)

SMALL = {
    "name": "small",
    "T": 2,
    "verification": {"kappa": "pos"},
    "standard": [{"name": "home", "count": 3, "omega": 10.0, "alpha": [0.6, 0.4],
                  "bytecoins": 100.0}],
    "producer": [{"name": "plant", "count": 2, "theta": 1.0, "c": 0.5, "K": 50.0,
                  "stock": 10.0, "alpha": [0.5, 0.5]}],
    "simulation": {"rounds": 60, "damping": 0.5},
}


def small() -> Scenario:
    return scenario_from_dict(SMALL)


# ----------------------------------------------------------------------------- stock and cash

def test_fit_to_stock_short_run_uses_the_whole_stock_when_it_binds() -> None:
    spec = small().economy.agents()[3]
    q = np.array([0.0, 3.0, 4.0])
    need = input_needed(spec, q)  # (3/1)^2 + (4/1)^2 = 25
    assert need == pytest.approx(25.0, rel=1e-15)
    fitted = fit_to_stock(spec, q, 16.0)
    assert input_needed(spec, fitted) == pytest.approx(16.0, rel=1e-12)
    assert fitted[1] / fitted[2] == pytest.approx(0.75, rel=1e-12)  # scaled, shape kept
    assert np.array_equal(fit_to_stock(spec, q, 30.0), q)  # not binding: unchanged
    assert np.all(fit_to_stock(spec, q, 0.0) == 0.0)


def test_fit_to_stock_caps_capacity_and_solves_the_long_run() -> None:
    spec = small().economy.agents()[3]
    capped = fit_to_stock(spec, np.array([0.0, 80.0, 1.0]), 1e9)
    assert capped[1] == spec.K and capped[2] == 1.0
    long_run = replace(spec, K=None, rho=2.0, c=0.8)
    q = np.array([0.0, 5.0, 7.0])
    fitted = fit_to_stock(long_run, q, 10.0)
    assert input_needed(long_run, fitted) == pytest.approx(10.0, rel=1e-12)
    assert input_needed(long_run, q) > 10.0


def test_cash_in_advance_spends_the_balance_in_the_best_response_shares() -> None:
    spec = small().economy.agents()[0]
    target = np.array([0.0, 30.0, 10.0])  # X* = 40: shares 3/4, 1/4
    o = cash_in_advance(spec, target, np.zeros(3), balance=8.0, stock=0.0, prev=None, damping=1.0)
    assert o.bids.sum() == pytest.approx(8.0, rel=1e-15)
    assert o.bids[1] / o.bids[2] == pytest.approx(3.0, rel=1e-15)
    prev = Order(bids=np.array([0.0, 1.0, 1.0]), offers=np.zeros(3))
    d = cash_in_advance(spec, target, np.zeros(3), balance=8.0, stock=0.0, prev=prev, damping=0.5)
    # shares move halfway from (1/2, 1/2) to (3/4, 1/4)
    assert d.bids[1:] / 8.0 == pytest.approx([0.625, 0.375], rel=1e-14)


def test_producer_order_is_within_its_stock_exactly_on_the_contracts_arithmetic() -> None:
    from agents.chain.fixedpoint import required_input

    from agents.agent import GRID, WAD, Agent

    sc = small()
    spec = sc.economy.agents()[3]
    agent = Agent(spec, account=None, strategy=DampedBestResponse(),  # type: ignore[arg-type]
                  kappa=0.0, omega=0, balance=7 * WAD + 12345, stock=16 * WAD, v_prior=0.0)
    order = Order(bids=np.array([2.0, 3.0, 2.0 + 12345e-18]),
                  offers=fit_to_stock(spec, np.array([0.0, 3.0, 4.0]), 16.0))
    theta = (WAD,)

    def need(offers: tuple[int, ...]) -> int:
        return required_input(offers, theta, WAD // 2)

    bids, offers = agent.to_integers(order, agent.balance, agent.stock, need)
    assert sum(bids) == agent.balance  # it meant to spend all: spends exactly all
    assert need(offers) <= agent.stock
    assert all(q % GRID == 0 for q in offers)
    assert offers[1] > 0.99 * 2.4 * WAD  # fitted, not zeroed
    # an order above the balance is cut to it, never above
    over = Order(bids=np.array([5.0, 5.0, 5.0]), offers=np.zeros(3))
    b2, _ = agent.to_integers(over, agent.balance, agent.stock, need)
    assert sum(b2) == agent.balance and min(b2) >= 0


# ----------------------------------------------------------------------------- the dynamic

def test_damped_best_response_with_cash_in_advance_reaches_the_nash_equilibrium_off_chain() -> None:
    """The recommended rule, iterated on the float posts: balances are last round's
    revenue, stocks last round's purchases; the fixed point is solve_nash's equilibrium
    with total bids equal to the bytecoin supply (SPEC §4)."""
    from market.nash import solve_nash

    e = small().economy
    eq = solve_nash(e, v=e.verification_energy())
    strategies = [DampedBestResponse(damping=0.5) for _ in e.agents()]
    path = _play(strategies, e, 40)
    assert np.max(np.abs(path[-1] / eq.prices - 1.0)) < 1e-6
    assert np.max(np.abs(path[-2] / eq.prices - 1.0)) < 1e-6  # and stays there
    last = [s._prev for s in strategies]
    bids = np.array([o.bids for o in last if o is not None])
    assert bids.sum() == pytest.approx(e.total_bytecoins, rel=1e-12)  # money is all spent
    assert np.max(np.abs(bids - eq.bids)) < 1e-5 * eq.bids.max()


def _play(strategies, e, rounds, balance=None):  # type: ignore[no-untyped-def]
    """The crypto-in-advance dynamic on the float posts (no chain): prices by round."""
    from market.posts import settle

    specs = e.agents()
    v = e.verification_energy()
    balance = np.array([s.bytecoins for s in specs]) if balance is None else balance
    stock = np.array([s.stock for s in specs])
    bids = offers = prices = None
    path = []
    for r in range(rounds):
        rows = [strat.decide(Observation(r, e, s, float(balance[s.index]), float(stock[s.index]),
                                         float(v[s.index]), bids, offers, prices))
                for s, strat in zip(specs, strategies)]
        bids = np.array([o.bids for o in rows])
        offers = np.array([o.offers for o in rows])
        offers[: e.M, 0] = [s.omega for s in specs[: e.M]]
        assert np.all(bids.sum(axis=1) <= balance * (1 + 1e-12))  # cash in advance
        out = settle(bids, offers)
        prices = np.nan_to_num(out.prices, nan=0.0)
        refund = (bids * ~out.active[None, :]).sum(axis=1)
        balance = balance - bids.sum(axis=1) + out.revenue + refund
        stock = np.where(e.arrays.producer, out.allocations[:, 0], 0.0)
        path.append(prices)
    return path


def test_fictitious_play_learns_towards_the_equilibrium() -> None:
    from market.nash import solve_nash

    from agents.strategies import FictitiousPlay

    e = small().economy
    eq = solve_nash(e, v=e.verification_energy())
    path = _play([FictitiousPlay() for _ in e.agents()], e, 16)
    dist = [float(np.max(np.abs(p / eq.prices - 1.0))) if np.all(p > 0) else np.inf for p in path]
    assert dist[-1] < 0.05           # it gets close ...
    assert dist[-1] < dist[3] / 2    # ... by learning, round after round


def test_playing_the_equilibrium_with_its_own_budgets_gives_its_prices() -> None:
    from market.nash import solve_nash

    from agents.strategies import PlayEquilibrium

    e = small().economy
    eq = solve_nash(e, v=e.verification_energy())
    specs = e.agents()
    e2 = replace(e, producers=tuple(replace(g, stock=float(eq.inputs[e.M])) for g in e.producers))
    strategies = [PlayEquilibrium(eq.bids[s.index], eq.offers[s.index]) for s in specs]
    path = _play(strategies, e2, 3, balance=eq.bids.sum(axis=1).copy())
    for p in path:  # balances = equilibrium revenue, stocks = equilibrium inputs: stationary
        assert np.max(np.abs(p / eq.prices - 1.0)) < 1e-9

