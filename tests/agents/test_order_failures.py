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
    real_order = sim.client.order

    def spy(account, bids, offers):  # type: ignore[no-untyped-def]
        sent.append((account.address, bids))
        return real_order(account, bids, offers)

    sim.client.order = spy  # type: ignore[method-assign]
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
