"""Misbehaving agents: a malformed order is that agent's failure for the round, recorded with
the reason; the run goes on, and nothing malformed is ever sent (not even as 0)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.records import AgentStatus
from agents.simulation import Simulation
from agents.strategies import DampedBestResponse, MalformedOrder, Observation, Order, check_order
from market.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
MONEY = ROOT / "scenarios" / "cia-money.toml"


def test_check_order_names_what_is_wrong() -> None:
    economy = load_scenario(MONEY).economy
    std, prd = economy.agents()[0], economy.agents()[-1]
    good = Order(bids=np.array([1.0, 2.0, 3.0]), offers=np.zeros(3))
    assert check_order(None, std, 2) is None
    checked = check_order(good, std, 2)
    assert checked is not None and checked.bids.tolist() == [1.0, 2.0, 3.0]
    cases: list[tuple[Any, Any, str]] = [
        (std, {"bids": [1.0, 2.0, 3.0]}, "decide returned a dict, not an Order or None"),
        (std, "buy", "decide returned a str"),
        (std, Order(bids="1,2,3", offers=np.zeros(3)), "bids must be 3 numbers, got a str"),  # type: ignore[arg-type]
        (std, Order(bids=["1", "2", "3"], offers=np.zeros(3)), "bids must be 3 numbers"),  # type: ignore[arg-type]
        (std, Order(bids={"0": 1.0}, offers=np.zeros(3)), "got a dict"),  # type: ignore[arg-type]
        (std, Order(bids=np.array([1.0, math.nan, 3.0]), offers=np.zeros(3)), "bids[1] must be a finite"),
        (std, Order(bids=np.array([1.0, 2.0, -3.0]), offers=np.zeros(3)), "bids[2] must be a finite"),
        (std, Order(bids=np.array([math.inf, 2.0, 3.0]), offers=np.zeros(3)), "got inf"),
        (std, Order(bids=np.array([1e300, 2.0, 3.0]), offers=np.zeros(3)), "got 1e+300"),
        (std, Order(bids=np.array([1.0, 2.0]), offers=np.zeros(3)), "got shape (2,)"),
        (std, Order(bids=np.array([True, False, True]), offers=np.zeros(3)), "'b'-kind"),
        (prd, Order(bids=np.zeros(3), offers=np.array([0.0, -1.0, 1.0])), "offers[1] must be a finite"),
        (prd, Order(bids=np.zeros(3), offers=np.array([0.0, 1.0, math.nan])), "offers[2]"),
    ]
    for spec, order, message in cases:
        with pytest.raises(MalformedOrder) as info:
            check_order(order, spec, 2)
        assert message in str(info.value), (message, str(info.value))


class Misbehaves(DampedBestResponse):
    """Plays the best response, except in the rounds given, where it returns ``bad``."""

    def __init__(self, bad: dict[int, Any]) -> None:
        super().__init__(damping=0.5)
        self.bad = bad

    def decide(self, obs: Observation) -> Order | None:
        order = super().decide(obs)
        if obs.round in self.bad:
            return self.bad[obs.round](order)  # type: ignore[no-any-return]
        return order


def test_malformed_orders_are_recorded_failures_and_the_run_goes_on() -> None:
    sc = load_scenario(MONEY)

    def nan_bid(o: Order) -> Order:
        bids = np.array(o.bids, dtype=float)
        bids[1] = math.nan
        return Order(bids=bids, offers=o.offers)

    def negative_bid(o: Order) -> Order:
        return Order(bids=-np.asarray(o.bids), offers=o.offers)

    def infinite_offer(o: Order) -> Order:
        offers = np.array(o.offers, dtype=float)
        offers[2] = math.inf
        return Order(bids=o.bids, offers=offers)

    plan: dict[str, dict[int, Any]] = {
        "home-0": {1: lambda o: Order(bids="all in", offers=o.offers)},  # type: ignore[arg-type]
        "home-1": {1: lambda o: {"bids": list(o.bids)}},
        "home-2": {2: nan_bid, 3: negative_bid},
        "plant-0": {2: infinite_offer},
    }

    def factory(spec):  # type: ignore[no-untyped-def]
        return Misbehaves(plan.get(spec.id, {}))

    sim = Simulation(sc, replace(sc.simulation, rounds=5), strategy_factory=factory)
    sent: list[tuple[str, tuple[int, ...]]] = []
    real_order_all = sim.client.order_all  # the loop sends a round's orders together

    def spy(orders, round=None):  # type: ignore[no-untyped-def]
        sent.extend((account.address, bids) for account, bids, _ in orders)
        return real_order_all(orders, round=round)

    sim.client.order_all = spy  # type: ignore[method-assign]
    res = sim.run()
    assert len(res.log.rounds) == 5  # the run went on
    failures = {(f.round, f.agent): f for f in res.log.failures}
    expected = {(1, "home-0"): "bids must be 3 numbers, got a str",
                (1, "home-1"): "decide returned a dict",
                (2, "home-2"): "bids[1] must be a finite number", (3, "home-2"): "got -",
                (2, "plant-0"): "offers[2] must be a finite number"}
    assert set(failures) == set(expected)
    for key, message in expected.items():
        assert failures[key].reason == "order" and message in failures[key].error, failures[key]
        assert failures[key].error.startswith("malformed order: ")
    status = {(a.round, a.agent): (a.status, a.error) for a in res.log.agents}
    for (r, agent) in expected:
        assert status[(r, agent)][0] == AgentStatus.FAILED and status[(r, agent)][1]
    rounds = {r.round: r for r in res.log.rounds}
    assert [rounds[r].failed for r in range(5)] == [0, 2, 2, 1, 0]
    assert [rounds[r].orders for r in range(5)] == [5, 3, 3, 4, 5]
    assert len(sent) == sum(rounds[r].orders for r in range(5))  # nothing else was sent, no 0-order
    assert res.ledger.ok
    assert not res.solver_errors


def test_a_lone_seller_has_no_best_response_and_says_so() -> None:
    """The cause of the honest producers' NaN: with the other producer's offers missing,
    a producer is the only seller on the posts it values, and with someone else bidding on
    the good (so the problem is not dead) its own bid there costs nothing net: no best
    response exists. It used to reach scipy's brentq as NaN (a bare ValueError)."""
    from market.bestresponse import NoBestResponse, best_response
    from market.errors import SolverError
    from market.nash import solve_nash

    economy = load_scenario(MONEY).economy
    eq = solve_nash(economy)
    bids, offers = eq.bids.copy(), eq.offers.copy()
    bids[3], offers[3] = 0.0, 0.0  # plant-0 missed its order
    bids[0] = 0.0
    bids[0, 0] = 1e-18  # home-0 bids one wei on the good
    with pytest.raises(NoBestResponse, match=r"plant-1 is the only seller on post\(s\) 1, 2"):
        best_response(economy, 4, bids, offers, v=0.0)
    assert issubclass(NoBestResponse, SolverError)
    bids[0, 0] = 0.0  # nobody else buys the good: a dead problem, priced out as before
    assert best_response(economy, 4, bids, offers, v=0.0).priced_out


def test_honest_producers_do_not_fail_after_a_missed_order_and_a_one_wei_bid() -> None:
    """plant-0 misses round 2 and home-0 adds a dust bid on the good: in round 3 plant-1
    (honest) holds its last order by the stated fallback rule, recorded, instead of failing."""
    sc = load_scenario(MONEY)

    def miss(o: Order) -> None:
        return None

    def dust(o: Order) -> Order:
        bids = np.array(o.bids, dtype=float)
        bids[0] += 1e-8  # above the order grid (2^32 wei), so it reaches the chain
        return Order(bids=bids, offers=o.offers)

    plan: dict[str, dict[int, Any]] = {"plant-0": {2: miss}, "home-0": {2: dust}}
    sim = Simulation(sc, replace(sc.simulation, rounds=6),
                     strategy_factory=lambda spec: Misbehaves(plan.get(spec.id, {})))
    res = sim.run()
    assert res.log.failures == []  # before the fix: plant-1 failed in round 3 (ValueError ... NaN)
    rows = {(a.round, a.agent): a for a in res.log.agents}
    assert rows[(2, "plant-0")].status == AgentStatus.ABSTAINED
    held = rows[(3, "plant-1")]
    assert held.status == AgentStatus.OK
    assert held.error.startswith("fallback, held its last shares and offers: plant-1 is the only "
                                 "seller on post(s) 1, 2")
    assert sum(held.offers) > 0 and sum(held.bids) > 0  # it traded
    notes = [(a.round, a.agent) for a in res.log.agents if a.error]
    assert notes == [(3, "plant-1")]  # one fallback, then back to the best response
    assert res.ledger.ok
