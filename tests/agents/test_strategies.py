"""Strategies by name: the registry, a user's own class by ``module:Class``, and
the options a strategy does not use (rejected, naming the field or the option)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from market.errors import ScenarioError
from market.model import Economy, SimulationSettings
from market.results import Equilibrium
from market.scenario import load_scenario, scenario_from_dict

from agents import strategies
from agents.strategies import (
    STRATEGIES,
    Observation,
    Order,
    Strategy,
    StrategyContext,
    build_strategies,
    make_strategy,
    register,
    resolve_strategy,
)
from emg.cli import main

ROOT = Path(__file__).resolve().parents[2]
MONEY = ROOT / "scenarios" / "cia-money.toml"

SMALL = {
    "name": "small",
    "T": 2,
    "verification": {"kappa": "pos"},
    "standard": [{"name": "home", "count": 2, "omega": 10.0, "alpha": [0.6, 0.4],
                  "bytecoins": 100.0}],
    "producer": [{"name": "plant", "count": 2, "theta": 1.0, "c": 0.5, "K": 50.0,
                  "stock": 10.0, "alpha": [0.5, 0.5]}],
}

#: a user's strategy, in a package of its own (not in the repository)
USER_MODULE = '''
    """A user's strategy: the opening order every round, at a fraction of the balance."""
    import numpy as np

    from agents.strategies import Observation, Order, StrategyContext, opening_order
    from market.model import AgentSpec


    class Opening:
        """The opening order every round, scaled by a fraction of the balance."""

        def __init__(self, spec: AgentSpec, ctx: StrategyContext) -> None:
            self.fraction = 0.9 if spec.kind == "standard" else 1.0
            self.T = ctx.economy.T

        def decide(self, obs: Observation) -> Order | None:
            o = opening_order(obs)
            return Order(bids=self.fraction * o.bids, offers=np.asarray(o.offers))


    class NoDecide:
        def __init__(self, spec: AgentSpec, ctx: StrategyContext) -> None:
            pass


    class NoArguments:
        def decide(self, obs: Observation) -> Order | None:
            return None
'''


@pytest.fixture(scope="module")
def user_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("user")
    (root / "emg_user_strats").mkdir()
    (root / "emg_user_strats" / "__init__.py").write_text("")
    (root / "emg_user_strats" / "rules.py").write_text(textwrap.dedent(USER_MODULE))
    return root


@pytest.fixture
def on_path(user_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(user_package))


def _scenario_with(tmp_path: Path, **simulation: str | float) -> Path:
    text = MONEY.read_text()
    for key, value in simulation.items():
        old = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
        text = text.replace(old, f"{key} = {json.dumps(value)}", 1)
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- the registry

@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_registered_name_builds_and_decides(name: str) -> None:
    e = scenario_from_dict(SMALL).economy
    built = build_strategies(e, SimulationSettings(strategy=name), np.random.default_rng(0))
    assert len(built) == e.N
    for spec, strategy in zip(e.agents(), built):
        assert isinstance(strategy, Strategy)
        obs = Observation(0, e, spec, balance=spec.bytecoins, stock=spec.stock, v=1e-6)
        order = strategy.decide(obs)
        assert order is None or order.bids.shape == (e.T + 1,)


def test_the_default_strategy_is_the_first_registered() -> None:
    assert next(iter(STRATEGIES)) == SimulationSettings().strategy == "best-response"
    assert STRATEGIES["best-response"].options == {"damping"}
    assert not STRATEGIES["fictitious-play"].options and not STRATEGIES["equilibrium"].options


def test_a_registered_strategy_is_selectable_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strategies, "STRATEGIES", dict(STRATEGIES))

    class Silent:
        def decide(self, obs: Observation) -> Order | None:
            return None

    register("silent", "never orders")(lambda spec, ctx: Silent())
    e = scenario_from_dict(SMALL).economy
    assert isinstance(make_strategy("silent", e.agents()[0],
                                    StrategyContext(e, SimulationSettings(), np.random.default_rng(0))),
                      Silent)
    with pytest.raises(ScenarioError, match=r"known: best-response, equilibrium, fictitious-play, silent"):
        resolve_strategy("loud")
    with pytest.raises(ValueError, match="taken"):
        register("silent", "again")(lambda spec, ctx: Silent())
    with pytest.raises(ValueError, match="unknown options"):
        register("other", "x", options=("speed",))(lambda spec, ctx: Silent())


def test_the_equilibrium_is_solved_once_for_all_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.strategies

    calls: list[Economy] = []
    real = agents.strategies.solve_nash

    def counted(e: Economy) -> Equilibrium:
        calls.append(e)
        return real(e)

    monkeypatch.setattr(agents.strategies, "solve_nash", counted)
    e = scenario_from_dict(SMALL).economy
    built = build_strategies(e, SimulationSettings(strategy="equilibrium"), np.random.default_rng(0))
    assert len(calls) == 1
    eq = real(e)
    for spec, strategy in zip(e.agents(), built):
        assert np.array_equal(strategy.bids, eq.bids[spec.index])  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- bad names

@pytest.mark.parametrize(("name", "message"), [
    ("random", r"^simulation\.strategy: unknown strategy 'random' \(known: best-response, "
               r"equilibrium, fictitious-play; or a class of yours as \"package\.module:ClassName\"\)"),
    ("emg_no_such_module:Rule", r"^simulation\.strategy: cannot import 'emg_no_such_module'"),
    ("emg_user_strats.rules:Missing", r"is not a class with a decide\(obs\) method"),
    ("emg_user_strats.rules:NoDecide", r"is not a class with a decide\(obs\) method"),
    ("emg_user_strats.rules:NoArguments", r"must be built as NoArguments\(spec, ctx\)"),
    (":Rule", r"expected \"package\.module:ClassName\""),
    ("emg_user_strats.rules:", r"expected \"package\.module:ClassName\""),
])
def test_a_bad_name_is_a_clear_error(name: str, message: str, on_path: None) -> None:
    with pytest.raises(ScenarioError, match=message):
        resolve_strategy(name)


def test_a_bad_name_is_named_by_its_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(MONEY), "--strategy", "random"]) == 2
    assert "error: --strategy: unknown strategy 'random' (known: best-response," in capsys.readouterr().err
    toml = _scenario_with(tmp_path, strategy="random")
    assert main(["simulate", str(toml)]) == 2
    assert "error: simulation.strategy: unknown strategy 'random'" in capsys.readouterr().err
    from agents.simulation import Simulation  # checked before any chain is started

    with pytest.raises(ScenarioError, match=r"^simulation\.strategy: unknown strategy 'random'"):
        Simulation(load_scenario(toml))


def test_the_help_lists_the_registered_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in STRATEGIES) and "package.module:ClassName" in text
    assert "strategies that use it: best-response" in text


# ----------------------------------------------------------------------------- options

def test_damping_for_a_strategy_that_ignores_it_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    msg = "does not use damping (strategies that do: best-response)"
    for strategy in ("fictitious-play", "equilibrium"):
        assert main(["simulate", str(MONEY), "--strategy", strategy, "--damping", "0.3"]) == 2
        assert f"error: --damping: strategy '{strategy}' {msg}" in capsys.readouterr().err
    toml = _scenario_with(tmp_path, strategy="fictitious-play", damping=0.3)
    assert main(["simulate", str(toml), "--damping", "0.3"]) == 2
    assert "error: --damping: strategy 'fictitious-play'" in capsys.readouterr().err
    assert main(["simulate", str(toml)]) == 2
    assert f"error: simulation.damping: strategy 'fictitious-play' {msg}" in capsys.readouterr().err
    e = scenario_from_dict(SMALL).economy
    with pytest.raises(ScenarioError, match=r"^simulation\.damping: strategy 'fictitious-play'"):
        build_strategies(e, SimulationSettings(strategy="fictitious-play", damping=0.3),
                         np.random.default_rng(0))


def test_the_default_damping_and_a_strategy_override_are_accepted(tmp_path: Path) -> None:
    from emg.cli import build_parser
    from emg.simulate import _settings

    toml = _scenario_with(tmp_path, damping=0.3)  # best-response, damped 0.3
    sc = load_scenario(toml)
    args = build_parser().parse_args(["simulate", str(toml), "--strategy", "fictitious-play"])
    # the scenario's damping was for its own strategy: the override runs with the default
    assert _settings(args, sc) == replace(sc.simulation, strategy="fictitious-play", damping=0.5)
    args = build_parser().parse_args(["simulate", str(toml)])
    assert _settings(args, sc) == sc.simulation
    e = scenario_from_dict(SMALL).economy
    build_strategies(e, SimulationSettings(strategy="fictitious-play", damping=0.5),
                     np.random.default_rng(0))


# ----------------------------------------------------------------------------- a user's class

def _check_run(out: Path, name: str) -> None:
    doc = json.loads((out / "summary.json").read_text())
    assert doc["settings"]["strategy"] == name
    assert doc["failures"] == [] and doc["ledger"]["ok"] is True
    assert doc["gas"]["orders"] == 10  # 5 agents x 2 rounds, nobody abstained


def test_a_user_class_runs_from_the_command_line(tmp_path: Path, on_path: None) -> None:
    name = "emg_user_strats.rules:Opening"
    main(["simulate", str(MONEY), "--rounds", "2", "--strategy", name, "--damping", "0.3",
          "--quiet", "--out", str(tmp_path / "run")])  # a user's class may read every option
    _check_run(tmp_path / "run", name)


def test_a_user_class_runs_from_the_scenario(tmp_path: Path, on_path: None) -> None:
    name = "emg_user_strats.rules:Opening"
    toml = _scenario_with(tmp_path, strategy=name)
    main(["simulate", str(toml), "--rounds", "2", "--quiet", "--out", str(tmp_path / "run")])
    _check_run(tmp_path / "run", name)


def test_an_order_carries_its_unconstrained_wants_through_the_check() -> None:
    """cash_in_advance reports X* and the input the unfitted offers need; check_order keeps
    them (the simulation's cash_binds / input_binds) and refuses nonsense."""
    from agents.strategies import MalformedOrder, cash_in_advance, check_order, input_needed

    eco = scenario_from_dict(SMALL).economy
    plant = eco.agents()[2]
    target_b = np.array([5.0, 30.0, 20.0])
    target_q = np.array([0.0, 8.0, 8.0])
    order = cash_in_advance(plant, target_b, target_q, balance=40.0, stock=1.0, prev=None, damping=1.0)
    assert order.wanted_spend == pytest.approx(55.0)
    assert order.wanted_input == pytest.approx(input_needed(plant, target_q))
    assert input_needed(plant, order.offers) == pytest.approx(1.0)  # cut to the stock
    assert order.wanted_input > 100.0
    assert order.bids.sum() == pytest.approx(40.0)  # the whole balance: the cash constraint binds
    checked = check_order(order, plant, eco.T)
    assert checked is not None
    assert (checked.wanted_spend, checked.wanted_input) == (order.wanted_spend, order.wanted_input)
    with pytest.raises(MalformedOrder, match="wanted_spend must be None or a finite number >= 0"):
        check_order(replace(order, wanted_spend=float("nan")), plant, eco.T)
