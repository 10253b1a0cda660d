"""Scenario events carried out on chain between rounds: a transfer (agents' own keys),
an issue (the monetary authority's mints, the agents' deposits), a preference shock
(the economy in force), and what the output folder records of them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from market.errors import ScenarioError, SimulationError
from market.scenario import scenario_from_dict

from agents.chain.fixedpoint import WAD
from agents.simulation import Simulation

BASE = """
name = "events"
T = 2
[verification]
kappa = "free"
[[standard]]
name = "home"
count = 3
omega = 10.0
alpha = [0.6, 0.4]
bytecoins = 60.0
[[producer]]
name = "plant"
count = 2
theta = 1.0
c = 0.5
K = 50.0
stock = 10.0
alpha = [0.5, 0.5]
bytecoins = 60.0
[simulation]
rounds = 6
seed = 1
tolerance = 1e-15
"""

EVENTS = """
[[event]]
round = 2
kind = "transfer"
from = "plant"
to = "home"
amount = 10.0
[[event]]
round = 3
kind = "preferences"
group = "home"
alpha = [0.2, 0.8]
[[event]]
round = 3
kind = "issue"
to = "plant"
amount = 5.0
"""


def scenario(events: str = EVENTS):  # type: ignore[no-untyped-def]
    return scenario_from_dict(tomllib.loads(BASE + events))


def test_transfer_preferences_and_issue_on_chain(tmp_path: Path) -> None:
    from emg.output import write_run

    with Simulation(scenario()) as sim:
        res = sim.run()
        token_supply = sim.client.view("token.totalSupply")[0]
        authority = sim.events.authority
    assert len(res.log.rounds) == 6  # the tolerance is never met: every round is played
    assert res.ledger.ok and res.log.failures == []
    transfer, prefs, issue = res.events
    # the transfer: 5 from each plant, 10/3 to each home (to the wei), supply unchanged
    moved = transfer.applied.moved
    assert moved["plant-0"] == moved["plant-1"] == -5 * WAD
    assert sorted(moved[f"home-{k}"] for k in range(3)) == [3333333333333333333, 3333333333333333333,
                                                            3333333333333333334]
    assert transfer.applied.supply_before == transfer.applied.supply_after == 300 * WAD
    # the issue: minted by the authority, 2.5 to each plant
    assert authority is not None
    assert issue.applied.moved == {"plant-0": 5 * WAD // 2, "plant-1": 5 * WAD // 2}
    assert token_supply == issue.applied.supply_after == 305 * WAD == res.ledger.bytecoins.supply_wei
    # the preference shock: the economy in force, and every agent's view of it
    assert res.economy is not None and res.economy.standard[0].alpha == (0.2, 0.8)
    assert res.scenario.economy.standard[0].alpha == (0.6, 0.4)
    assert prefs.recovery.money_ratio == issue.recovery.money_ratio == 305 / 300  # one window: round 3
    assert [r.event for r in res.log.rounds] == ["", "", "transfer", "preferences;issue", "", ""]
    assert all(r.constrained is not None and 0.0 <= r.constrained <= 1.0 for r in res.log.rounds)
    # the plants, who just gave 5 bytecoins each, want to spend more than they hold
    plants = [a for a in res.log.agents if a.round == 2 and a.kind == "producer"]
    assert plants and all(a.cash_binds and not a.input_binds for a in plants)
    assert res.log.rounds[2].constrained == pytest.approx(len(plants) / 5)
    assert not any(a.cash_binds for a in res.log.agents if a.round == 0)  # the opening order wants nothing
    # the homes shift their bids towards period 2 after the shock
    rows = [a for a in res.log.agents if a.agent == "home-0"]
    assert rows[-1].bids[2] / rows[-1].bids[1] > rows[1].bids[2] / rows[1].bids[1]
    # the output folder: event columns, the events in the summary, the constrained plot
    write_run(tmp_path / "out", res)
    rounds_csv = (tmp_path / "out" / "rounds.csv").read_text().splitlines()
    assert rounds_csv[0].endswith(",event,constrained")
    assert rounds_csv[4].split(",")[-2] == "preferences;issue"
    assert (tmp_path / "out" / "agents.csv").read_text().splitlines()[0].endswith(",cash_binds,input_binds")
    assert (tmp_path / "out" / "constrained.png").exists()

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [e["kind"] for e in summary["events"]] == ["transfer", "preferences", "issue"]
    assert summary["events"][2]["supply_after"] == 305.0
    assert len(summary["constrained_by_round"]) == 6
    # the HTML report: an events table, markers, the constrained chart
    from emg.report import run_report_html

    page = run_report_html(tmp_path / "out")
    assert "<h2>Events</h2>" in page and 'id="emg-constrained"' in page and "dashdot" in page


@pytest.mark.slow
def test_without_events_no_event_columns_and_no_authority(tmp_path: Path) -> None:
    from emg.output import write_run

    sc = scenario("")
    sc = type(sc)(**{**sc.__dict__, "simulation": type(sc.simulation)(**{**sc.simulation.__dict__, "rounds": 2})})
    with Simulation(sc) as sim:
        res = sim.run()
        assert sim.events.authority is None
        assert sim.client.view("token.authority")[0] == "0x" + "00" * 20
    write_run(tmp_path / "out", res)
    assert "event" not in (tmp_path / "out" / "rounds.csv").read_text().splitlines()[0]
    assert "cash_binds" not in (tmp_path / "out" / "agents.csv").read_text().splitlines()[0]
    assert not (tmp_path / "out" / "constrained.png").exists()
    assert "events" not in json.loads((tmp_path / "out" / "summary.json").read_text())


def test_a_transfer_larger_than_the_balances_fails_naming_the_event() -> None:
    sc = scenario('[[event]]\nround = 1\nkind = "transfer"\nfrom = "home"\nto = "plant"\namount = 1000.0\n')
    with Simulation(sc) as sim, pytest.raises(SimulationError, match=r"^event\[0\]\.amount: home-0 holds"):
        sim.run()


def test_an_event_after_the_last_round_is_refused() -> None:
    from dataclasses import replace

    sc = scenario('[[event]]\nround = 5\nkind = "kappa"\nkappa = "pos"\n')
    with pytest.raises(ScenarioError, match=r"^event\[0\]\.round: 5 is not before the run's last round \(rounds = 3\)"):
        Simulation(sc, settings=replace(sc.simulation, rounds=3))


def test_issues_beyond_the_supply_bound_are_refused_before_the_chain_starts() -> None:
    """--scale-money scales the balances after the events were loaded: the bound is re-checked."""
    from dataclasses import replace

    sc = scenario('[[event]]\nround = 1\nkind = "issue"\nto = "all"\namount = 1.0e7\n')
    big = replace(sc, economy=sc.economy.scale_bytecoins(40000.0))  # 1.2e7 bytecoins
    with pytest.raises(ScenarioError, match=r"^event\[0\]\.amount: the supply would reach 2\.2e\+07"):
        Simulation(big)
