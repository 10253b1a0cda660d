"""The simulation end to end on a local chain: convergence to emg solve's Nash
equilibrium, the ledger, money neutrality, an agent without bytecoins, failures
that do not stop a run, and byte-identical outputs.

Runs share module-scoped fixtures (each run deploys once and plays its rounds);
the economy is ``scenarios/cia-money.toml`` (5 agents, T = 2, free verification)
and small variants of it.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from market.errors import SimulationError
from market.scenario import load_scenario, scenario_from_dict

from agents.records import AgentStatus, SimulationResult
from agents.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
MONEY = ROOT / "scenarios" / "cia-money.toml"


def run(scenario: Any, **overrides: Any) -> SimulationResult:
    return Simulation(scenario, replace(scenario.simulation, **overrides)).run()


@pytest.fixture(scope="module")
def money_runs() -> tuple[SimulationResult, SimulationResult]:
    sc = load_scenario(MONEY)
    doubled = replace(sc, economy=sc.economy.scale_bytecoins(2.0))
    return run(sc, rounds=40), run(doubled, rounds=40)


@pytest.mark.slow
def test_prices_converge_to_the_nash_equilibrium_with_the_measured_verification(money_runs) -> None:  # type: ignore[no-untyped-def]
    from market.nash import solve_nash

    for res in money_runs:
        assert res.converged and res.distance <= 1e-6
        assert len(res.log.rounds) < 40
        # independently of the run's own bookkeeping: re-solve and compare the last round
        eq = solve_nash(res.scenario.economy, v=res.v_used)
        last = res.log.rounds[-1]
        ref = eq.prices * (sum(last.bids) / eq.bids.sum())
        assert np.max(np.abs(np.array(last.prices) / ref - 1.0)) <= 1e-6
        # the price level is pinned by the bytecoin supply (less rounding dust)
        supply = res.scenario.economy.total_bytecoins
        assert sum(last.bids) == pytest.approx(supply, rel=1e-15, abs=1e-15 * supply)
        assert sum(last.bids) <= supply


@pytest.mark.slow
def test_ledger_holds_and_every_settlement_matched_the_forecast(money_runs) -> None:  # type: ignore[no-untyped-def]
    for res in money_runs:
        led = res.ledger
        assert led.ok and led.electricity.ok and led.bytecoins.ok
        assert led.bytecoins.books_match_chain
        assert led.bytecoins.balances_wei + led.bytecoins.escrow_wei == led.bytecoins.supply_wei
        # each order is settled once: in the agent's next order, or by the final claim
        assert led.settlements_checked == res.orders_total
        for row in led.electricity.last_round:
            assert 0 <= row.dust_wad <= res.scenario.economy.N
            assert row.consumed + row.verification == pytest.approx(row.delivered, rel=1e-12)
        assert res.log.failures == []


@pytest.mark.slow
def test_doubling_every_balance_doubles_prices_and_leaves_allocations(money_runs) -> None:  # type: ignore[no-untyped-def]
    """Exact up to rounding and solver precision: orders are rounded down to the
    2^32-wei grid (a total B^t differs from its exact double by less than N grid
    steps), and a producer's best-response offers come from a quasi-Newton
    search, accurate to ~1e-12 relative, which is not exactly scale-invariant.
    Measured: 1.7e-10 on prices, 1.6e-11 on allocations. The bound: 10x the
    grid's relative error on the run's smallest total, or 1e-9 for the solver,
    whichever is larger."""
    from agents.agent import GRID
    from agents.chain.fixedpoint import WAD

    one, two = money_runs
    N = one.scenario.economy.N
    assert len(one.log.rounds) == len(two.log.rounds)
    smallest = min(b for r in one.log.rounds for b in r.bids if b > 0) * WAD
    bound = max(10 * N * GRID / smallest, 1e-9)
    assert bound <= 1e-8
    for a, b in zip(one.log.rounds, two.log.rounds):
        pa, pb = np.array(a.prices), np.array(b.prices)
        assert np.array_equal(pa > 0, pb > 0)
        m = pa > 0
        assert np.max(np.abs(pb[m] / (2.0 * pa[m]) - 1.0)) < bound
    xa = np.array([r.allocations for r in one.log.agents])
    xb = np.array([r.allocations for r in two.log.agents])
    assert np.max(np.abs(xb - xa)) <= bound * np.max(xa)
    assert not np.array_equal(np.array([r.balance for r in one.log.agents]),
                              np.array([r.balance for r in two.log.agents]))


@pytest.mark.slow
def test_summary_uses_emg_solves_agent_format(money_runs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from market.nash import solve_nash
    from emg.solve import agents_json

    from emg.output import write_run

    res = money_runs[0]
    written = write_run(tmp_path, res)
    assert {p.name for p in written} >= {"summary.json", "rounds.csv", "agents.csv", "prices.png",
                                         "verification.png", "balances.png"}
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["schema"] == "emg-simulate-summary/1"
    assert doc["convergence"]["converged"] is True
    assert len(doc["prices"]) == len(res.log.rounds)
    solve_keys = set(agents_json(res.scenario.economy, solve_nash(res.scenario.economy))[0])
    assert solve_keys <= set(doc["final"]["agents"][0])
    assert [a["id"] for a in doc["final"]["agents"]] == [s.id for s in res.scenario.economy.agents()]
    lines = (tmp_path / "agents.csv").read_text().splitlines()
    assert len(lines) == 1 + res.scenario.economy.N * len(res.log.rounds)
    assert len((tmp_path / "rounds.csv").read_text().splitlines()) == 1 + len(res.log.rounds)


def test_v_is_kappa_times_the_receipts_gas() -> None:
    doc = tomllib.loads(MONEY.read_text())
    doc["verification"]["kappa"] = "pos"
    sc = scenario_from_dict(doc, str(MONEY))
    res = run(sc, rounds=3)
    kappa = sc.economy.kappa
    for a in res.log.agents:
        assert a.gas_used > 21_000
        assert a.v == pytest.approx(kappa * a.gas_used, rel=1e-15)
        assert sum(a.verification) == pytest.approx(a.v, rel=1e-12)
    # each agent decides its round-r order with the v of its round r-1 receipt
    last = {a.agent: a for a in res.log.agents if a.round == 1}
    assert [last[s.id].v for s in sc.economy.agents()] == pytest.approx(list(res.v_used), rel=1e-15)


def test_an_agent_without_bytecoins_sells_before_it_buys() -> None:
    doc = tomllib.loads(MONEY.read_text())
    doc["standard"] = [dict(doc["standard"][0], name="newcomer", count=1, bytecoins=0.0),
                       dict(doc["standard"][0], count=2)]
    sc = scenario_from_dict(doc, "zero.toml")
    res = run(sc, rounds=3)
    rows = {(a.round, a.agent): a for a in res.log.agents}
    first = rows[(0, "newcomer-0")]
    assert first.status == AgentStatus.OK          # it ordered: sold its endowment on post 0
    assert sum(first.bids) == 0.0             # but could not bid
    assert first.offers[0] == 10.0
    assert first.balance > 0                  # the sale is credited when the round settles
    second = rows[(1, "newcomer-0")]
    assert sum(second.bids) == pytest.approx(first.balance, rel=1e-15)  # then it spends it all
    assert sum(second.allocations[1:]) > 0


def test_a_failing_agent_does_not_stop_the_run() -> None:
    from agents.strategies import DampedBestResponse, Observation, Order

    sc = load_scenario(MONEY)

    class Crashes(DampedBestResponse):
        def decide(self, obs: Observation) -> Order | None:
            if obs.round == 1:
                raise RuntimeError("agent process died")
            return super().decide(obs)

    def factory(spec):  # type: ignore[no-untyped-def]
        return Crashes() if spec.id == "home-1" else DampedBestResponse(damping=0.5)

    sim = Simulation(sc, replace(sc.simulation, rounds=4), strategy_factory=factory)
    greedy = next(a for a in sim.agents if a.id == "plant-0")
    honest = greedy.to_integers

    def overspend(order, balance, stock, input_of=None):  # type: ignore[no-untyped-def]
        bids, offers = honest(order, balance, stock, input_of)
        if sim.client.current_round().round == 2:
            bids = (bids[0] + balance + 1,) + bids[1:]  # more than it holds: the contract reverts
        return bids, offers

    greedy.to_integers = overspend  # type: ignore[method-assign]
    res = sim.run()
    assert len(res.log.rounds) == 4
    failures = {(f.round, f.agent): f for f in res.log.failures}
    assert failures[(1, "home-1")].reason == "strategy"
    assert "agent process died" in failures[(1, "home-1")].error
    assert failures[(2, "plant-0")].reason == "revert"
    assert "InsufficientBalance" in failures[(2, "plant-0")].error
    rounds = {r.round: r for r in res.log.rounds}
    assert rounds[1].orders == 4 and rounds[1].failed == 1  # closed at its deadline without it
    assert rounds[2].orders == 4 and rounds[2].failed == 1
    assert rounds[3].orders == 5 and rounds[3].failed == 0  # both back the round after
    status = {(a.round, a.agent): a.status for a in res.log.agents}
    assert status[(1, "home-1")] == AgentStatus.FAILED and status[(3, "home-1")] == AgentStatus.OK
    assert res.ledger.ok  # nothing lost: the failed agents' money waited in their accounts


@pytest.mark.slow
def test_same_scenario_and_seed_give_byte_identical_outputs(tmp_path: Path) -> None:
    from emg.output import OUTPUT_FILES, write_run

    sc = load_scenario(MONEY)
    for name in ("a", "b"):
        write_run(tmp_path / name, run(sc, rounds=3))
    written = [f for f in OUTPUT_FILES if (tmp_path / "a" / f).exists()]
    assert written == [f for f in OUTPUT_FILES if (tmp_path / "b" / f).exists()]
    assert set(OUTPUT_FILES) - set(written) == {"constrained.png"}  # written only for a run with events
    for f in written:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_a_simulation_steps_one_round_at_a_time_and_run_finishes_it() -> None:
    sc = load_scenario(MONEY)
    sim = Simulation(sc, replace(sc.simulation, rounds=3))
    N = sc.economy.N
    first = sim.step()
    assert first.round == 0 and first.orders == N and first.failed == 0
    assert sim.state.round == 1 and sim.state.log.rounds == [first]
    assert len(sim.state.log.agents) == N
    # between rounds: every order is pending, its settlement forecast from the closed totals
    assert all(a.pending is not None and a.pending.round == 0 for a in sim.agents)
    assert set(sim.state.forecasts) == {a.id for a in sim.agents}
    assert sim.state.closed[0] == (tuple(int(b) for b in sim.client.closed_round(0).B),
                                   sim.client.closed_round(0).Q)
    second = sim.step()
    assert second.round == 1 and sim.state.settle_checked == N  # round 0 settled in round 1's orders
    assert [r.round for r in sim.state.log.rounds] == [0, 1]
    res = sim.run()  # plays the rounds left, then claims and checks
    assert [r.round for r in res.log.rounds] == [0, 1, 2]
    assert res.ledger.ok and res.ledger.settlements_checked == res.orders_total == 3 * N
    assert res.final is not None and all(a.pending is None for a in sim.agents)
    for again in (sim.step, sim.run):
        with pytest.raises(SimulationError):
            again()  # the last orders were claimed: the run is over
