"""``emg simulate`` from the command line: output folder, exit codes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emg.cli import main

ROOT = Path(__file__).resolve().parents[2]
MONEY = str(ROOT / "scenarios" / "cia-money.toml")


def test_a_short_run_writes_the_folder_and_reports_no_convergence(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    code = main(["simulate", MONEY, "--rounds", "2", "--quiet", "--out", str(out)])
    assert code == 1  # two rounds are not enough to converge: exit 1, files still written
    printed = capsys.readouterr().out
    assert "converged: False after 2 rounds" in printed
    assert "|chain/Nash-1|" in printed and "ledger: electricity ok, bytecoins ok" in printed
    doc = json.loads((out / "summary.json").read_text())
    assert doc["convergence"]["converged"] is False
    assert doc["convergence"]["rounds_played"] == 2
    assert doc["settings"]["rounds"] == 2  # the override is what was run
    assert doc["ledger"]["ok"] is True
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize(("args", "message"), [
    (["--damping", "2"], "--damping: must be in (0, 1]"),
    (["--rounds", "0"], "--rounds: must be >= 1"),
    (["--tolerance", "inf"], "--tolerance: must be finite, got inf"),
    (["--scale-money", "-1"], "--scale-money: must be > 0"),
])
def test_bad_options_are_named(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["simulate", MONEY, *args]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_scenario_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["simulate", str(tmp_path / "nope.toml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", ["equilibrium", "fictitious-play"])
def test_every_named_strategy_trades_on_chain(strategy: str, tmp_path: Path) -> None:
    out = tmp_path / strategy
    main(["simulate", MONEY, "--rounds", "3", "--strategy", strategy, "--quiet", "--out", str(out)])
    doc = json.loads((out / "summary.json").read_text())
    assert doc["settings"]["strategy"] == strategy
    assert doc["failures"] == [] and doc["ledger"]["ok"] is True
    assert doc["gas"]["orders"] == 15  # 5 agents x 3 rounds, nobody abstained
    assert all(p > 0 for p in doc["prices"][-1])  # every post trades
