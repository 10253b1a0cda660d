"""``emg solve``: the table, the documented JSON summary, the output folder, and errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from emg import solve as report
from market.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = str(ROOT / "scenarios" / "default.toml")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    report.configure(parser)  # the same functions `emg solve` dispatches to
    return report.run(parser.parse_args(argv))


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("solve")
    assert run([DEFAULT, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["agents.csv", "prices.csv", "summary.json"]
    return json.loads((out / "summary.json").read_text())


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([DEFAULT]) == 0
    text = capsys.readouterr().out
    assert "p Nash" in text and "p comp" in text and "markup" in text
    assert "datacenter" in text and "priced out" in text


def test_json_schema(summary: dict) -> None:  # type: ignore[type-arg]
    sc = summary["scenario"]
    assert sc["T"] == 3 and len(sc["schedule"]) == 3 and sc["kappa_preset"] == "pos"
    for kind in ("nash", "competitive"):
        eq = summary[kind]
        assert eq["converged"] is True
        assert len(eq["prices"]) == 4 and eq["prices"][0] > 0
        assert len(eq["agents"]) == 10
        for a in eq["agents"]:
            assert {"id", "kind", "params", "verification_energy", "bids", "offers", "allocation",
                    "consumption", "input", "utility", "priced_out"} <= a.keys()
            assert len(a["bids"]) == len(a["offers"]) == len(a["allocation"]) == 4
            p = a["params"]
            assert {"alpha", "alpha0"} <= p.keys()
            assert ("omega" in p) if a["kind"] == "standard" else ({"theta", "c", "K"} <= p.keys())
        # the posts clear in the JSON numbers too
        Q = [sum(a["offers"][t] for a in eq["agents"]) for t in range(4)]
        X = [sum(a["allocation"][t] for a in eq["agents"]) for t in range(4)]
        assert X == pytest.approx(Q, rel=1e-12)
    assert summary["nash"]["agents"][0]["id"] == "datacenter-0"
    assert all(r > 1 for r in summary["price_ratio"][1:])


def test_json_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([DEFAULT, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == report.SCHEMA_VERSION and "nash" in doc


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(DEFAULT).read_text().replace("omega = 100.0", "omega = -5.0"))
    with pytest.raises(ScenarioError, match=r"standard\[0\]\.omega"):
        run([str(bad), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()  # nothing half-written
