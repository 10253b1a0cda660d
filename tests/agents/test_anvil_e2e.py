"""End to end on a managed Anvil: ``emg simulate --node anvil`` writes the files eth-tester writes.

Parity is the contract (issue 12): the same scenario and seed give, on Anvil
and on the embedded eth-tester chain, byte-identical ``rounds.csv``,
``agents.csv`` and PNG plots (prices to the wei, gas per transaction,
reverted ones included), and a ``summary.json`` that differs only where it
names the chain (``settings.backend`` and the ``chain`` block of node runs).
``default`` closes every round early (everyone orders); ``pow-priced-out``
prices agents out, so its rounds close at the deadline through time travel.
Skips, saying why, only when the anvil binary is absent (``npm ci`` installs it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emg.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["default", "pow-priced-out"])
def test_shipped_scenario_on_anvil_writes_the_eth_tester_files(name: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import need_anvil

    need_anvil()
    scenario = str(ROOT / "scenarios" / f"{name}.toml")
    local, node = tmp_path / "eth-tester", tmp_path / "anvil"
    code_local = main(["simulate", scenario, "--quiet", "--out", str(local)])
    table_local = capsys.readouterr().out
    code_node = main(["simulate", scenario, "--quiet", "--node", "anvil", "--out", str(node)])
    captured = capsys.readouterr()
    assert code_node == code_local == 0, captured.err
    assert captured.out == table_local
    assert "managed Anvil" in captured.err and "hardfork prague" in captured.err
    assert "no parity" not in captured.err
    files = sorted(p.name for p in local.iterdir())
    assert files == sorted(p.name for p in node.iterdir()) and "rounds.csv" in files
    for f in files:
        if f != "summary.json":
            assert (local / f).read_bytes() == (node / f).read_bytes(), f"{name}: {f} differs"
    a, b = json.loads((local / "summary.json").read_text()), json.loads((node / "summary.json").read_text())
    assert "chain" not in a and a["settings"]["backend"] == "eth-tester"
    assert b.pop("chain") == {"backend": "anvil", "node": "anvil/v1.7.1", "hardfork": "prague",
                              "revert_data": "trace"}
    b["settings"]["backend"] = "eth-tester"
    assert a == b
    if name == "pow-priced-out":  # its rounds closed at the deadline (time travel): someone did not order
        import csv

        from market.scenario import load_scenario

        n = load_scenario(scenario).economy.N
        with open(node / "rounds.csv") as fh:
            orders = [int(row["orders"]) for row in csv.DictReader(fh)]
        assert orders and min(orders) < n
