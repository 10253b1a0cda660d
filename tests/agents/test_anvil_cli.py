"""``emg simulate --backend URL`` / ``--node anvil`` and the scenario's ``backend``: checks and the node's lifetime."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emg.cli import main
from market.errors import ScenarioError
from market.scenario import check_simulation_value

ROOT = Path(__file__).resolve().parents[2]
MONEY = str(ROOT / "scenarios" / "cia-money.toml")


@pytest.mark.parametrize("value", ["eth-tester", "anvil", "http://127.0.0.1:8545", "https://node.example/rpc",
                                   "ws://127.0.0.1:8546", "wss://node.example", "/tmp/anvil.ipc"])
def test_the_scenario_accepts_every_backend_that_works(value: str) -> None:
    check_simulation_value("backend", value, "simulation.backend")


@pytest.mark.parametrize("value", ["ftp://x", "geth", ".ipc", "127.0.0.1:8545"])
def test_the_scenario_names_a_bad_backend(value: str) -> None:
    with pytest.raises(ScenarioError, match=r"^simulation\.backend: expected \"eth-tester\", \"anvil\""):
        check_simulation_value("backend", value, "simulation.backend")


@pytest.mark.parametrize("args, message", [
    (["--backend", "ftp://x"], r"--backend: expected"),
    (["--backend", "anvil"], r"--backend: a managed Anvil is --node anvil"),
    (["--backend", "http://127.0.0.1:9"], r"no Ethereum JSON-RPC node answers at http://127.0.0.1:9"),
])
def test_bad_backends_are_one_clear_line(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["simulate", MONEY, "--rounds", "1", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("emg simulate: error: ")
    assert re.search(message, err), err


def test_backend_and_node_exclude_each_other(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        main(["simulate", MONEY, "--node", "anvil", "--backend", "http://127.0.0.1:8545"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_a_managed_node_is_stopped_on_ctrl_c_and_on_errors(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import need_anvil

    need_anvil()
    from agents.simulation import Simulation

    nodes = []
    real_init = Simulation.__init__

    def spy_init(self, *a, **kw):  # type: ignore[no-untyped-def]
        real_init(self, *a, **kw)
        nodes.append(self.node)

    def interrupted(self):  # type: ignore[no-untyped-def]
        assert self.node.running()
        raise KeyboardInterrupt

    monkeypatch.setattr(Simulation, "__init__", spy_init)
    monkeypatch.setattr(Simulation, "run", interrupted)
    assert main(["simulate", MONEY, "--quiet", "--node", "anvil"]) == 130
    assert nodes and not nodes[-1].running()

    def failing(self):  # type: ignore[no-untyped-def]
        from market.errors import SimulationError

        raise SimulationError("boom")

    monkeypatch.setattr(Simulation, "run", failing)
    assert main(["simulate", MONEY, "--quiet", "--node", "anvil"]) == 2
    assert len(nodes) == 2 and not nodes[-1].running()
    assert "boom" in capsys.readouterr().err


def test_a_run_on_a_node_by_url_records_the_node(anvil_node, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    out = tmp_path / "run"
    code = main(["simulate", MONEY, "--rounds", "2", "--quiet", "--backend", anvil_node.url, "--out", str(out)])
    assert code in (0, 1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["backend"] == anvil_node.url
    assert summary["chain"] == {"backend": anvil_node.url, "node": "anvil/v1.7.1", "hardfork": "prague",
                                "revert_data": "trace"}
    # a user's node is not a managed one: it keeps running
    assert anvil_node.running()
