"""The simulation on the sealed-bid market (``simulation.market = "sealed"``):
it converges, its ledger holds, and, with free verification, it plays exactly the
plain market's game (the loop's agents never see the open round in either mode);
a reveal that fails forfeits its escrow and the books still balance.

The economy is ``scenarios/cia-money.toml`` (5 agents, T = 2, κ = 0).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from market.errors import ScenarioError
from market.scenario import load_scenario, scenario_from_dict

from agents.records import SimulationResult
from agents.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
MONEY = ROOT / "scenarios" / "cia-money.toml"


def run(sim: Simulation) -> SimulationResult:
    with sim:
        return sim.run()


@pytest.fixture(scope="module")
def runs() -> tuple[SimulationResult, SimulationResult]:
    sc = load_scenario(MONEY)
    return (run(Simulation(sc, replace(sc.simulation, rounds=40))),
            run(Simulation(sc, replace(sc.simulation, rounds=40, market="sealed"))))


@pytest.mark.slow
def test_sealed_run_converges_with_its_ledger(runs) -> None:  # type: ignore[no-untyped-def]
    _, sealed = runs
    assert sealed.converged and sealed.distance <= 1e-6 and len(sealed.log.rounds) < 40
    led = sealed.ledger
    assert led.ok and led.electricity.ok and led.bytecoins.ok and led.bytecoins.books_match_chain
    assert led.bytecoins.balances_wei + led.bytecoins.escrow_wei == led.bytecoins.supply_wei
    assert led.bytecoins.escrow_wei == led.bytecoins.dust_forecast_wei  # nothing forfeited
    assert led.settlements_checked == sealed.orders_total
    assert sealed.log.failures == []


@pytest.mark.slow
def test_with_free_verification_sealing_changes_the_gas_and_nothing_else(runs) -> None:  # type: ignore[no-untyped-def]
    """κ = 0: gas does not feed back into v, and the agents decide from the last closed
    round in both modes, so every round's prices and allocations are the same to the
    bit; each order costs a commit and a reveal instead of one transaction."""
    plain, sealed = runs
    assert [r.prices for r in sealed.log.rounds] == [r.prices for r in plain.log.rounds]
    assert [(a.agent, a.bids, a.offers, a.allocations) for a in sealed.log.agents] == [
        (a.agent, a.bids, a.offers, a.allocations) for a in plain.log.agents]
    for a, b in zip(plain.log.agents, sealed.log.agents):
        assert b.gas_used > a.gas_used + 21_000  # at least one more transaction's base gas
    assert sealed.gas_total > plain.gas_total


def test_a_failed_reveal_forfeits_the_escrow_and_the_books_balance() -> None:
    """One agent's reveal in round 1 does not match its commitment (its kept salt is
    corrupted after committing): it fails that round with RevealMismatch, its previous
    order was still settled by the commitment, its escrow is forfeited to the market,
    and it trades again from round 2; the bytecoin ledger counts the forfeit."""
    sc = load_scenario(MONEY)
    sim = Simulation(sc, replace(sc.simulation, rounds=4, market="sealed"))
    victim = sim.agents[0].account
    original = sim.client.commit_all

    def commit_all(orders: Any, round: int) -> Any:
        out = original(orders, round)
        if round == 1 and victim.address in sim.client._sealed:
            r, _, b, o = sim.client._sealed[victim.address]
            sim.client._sealed[victim.address] = (r, b"\x00" * 32, b, o)
        return out

    sim.client.commit_all = commit_all  # type: ignore[method-assign]
    res = run(sim)
    fails = list(res.log.failures)
    assert [(f.round, f.agent) for f in fails] == [(1, sim.agents[0].id)]
    assert fails[0].reason == "revert" and "RevealMismatch" in fails[0].error
    forfeited = sim.state.forfeited_total
    assert forfeited > 0
    led = res.ledger.bytecoins
    assert led.ok and led.books_match_chain and led.escrow_wei == led.dust_forecast_wei + forfeited
    assert res.ledger.electricity.ok
    assert [a.status.value for a in res.log.agents if a.round == 2 and a.agent == sim.agents[0].id] == ["ok"]


def test_scenario_market_option_is_validated() -> None:
    import tomllib

    doc = tomllib.loads(MONEY.read_text())
    assert scenario_from_dict({**doc, "simulation": {**doc.get("simulation", {}), "market": "sealed"}}
                              ).simulation.market == "sealed"
    assert scenario_from_dict(doc).simulation.market == "plain"
    with pytest.raises(ScenarioError, match=r"^simulation\.market: expected \"plain\".*got 'auction'$"):
        scenario_from_dict({**doc, "simulation": {**doc.get("simulation", {}), "market": "auction"}})
