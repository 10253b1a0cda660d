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


def _variant(tmp_path: Path, name: str, **replace: str) -> str:
    text = Path(DEFAULT).read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def test_no_equilibrium_exits_3_with_the_reason(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from emg.cli import EXIT_NO_EQUILIBRIUM, main

    path = _variant(tmp_path, "nopay", **{'kappa = "pos"': "kappa = 1.0"})
    assert main(["solve", path]) == EXIT_NO_EQUILIBRIUM == 3
    err = capsys.readouterr().err
    assert "no equilibrium" in err and "nobody can pay for verification" in err
    assert err.count("\n") == 1  # one line


def test_missing_benchmark_still_prints_nash(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # constant returns, slack capacity, paid verification: competitive profit is zero,
    # producers cannot pay their verification, so the benchmark does not exist
    path = _variant(tmp_path, "flat", **{"c = 0.8 ": "c = 1.0 ", "K = 2000.0": "K = 1e6"})
    out = tmp_path / "out"
    assert run([path, "--out", str(out)]) == report.EXIT_NO_EQUILIBRIUM
    captured = capsys.readouterr()
    assert "p Nash" in captured.out and "p comp" not in captured.out
    assert "competitive benchmark: not available" in captured.out
    assert "Nash: converged=True" in captured.out
    doc = json.loads((out / "summary.json").read_text())
    assert doc["competitive"] is None and doc["price_ratio"] is None
    assert "verification" in doc["competitive_error"]
    assert doc["nash"]["converged"] is True
    assert "competitive" not in (out / "agents.csv").read_text()


def test_cournot_markup_closed_form(tmp_path: Path) -> None:
    """P identical c = 1 producers valuing only the good, log demand, no verification:
    at the producers' own cost of the good ψ = p^0/(1 − y^0) the markup is P/(P − 1)."""
    from market.competitive import solve_competitive
    from market.model import Economy, ProducerGroup, StandardGroup, Verification
    from market.nash import solve_nash

    for P in (2, 3, 5):
        e = Economy(T=1, standard=(StandardGroup("h", 4, 50.0, (1.0,), 0.0, 100.0),),
                    producers=(ProducerGroup("j", P, (20.0,), 1.0, K=1e9, alpha=(0.0,),
                                             alpha0=1.0, bytecoins=100.0),),
                    verification=Verification(kappa=0.0, schedule=(1.0,)))
        eq = solve_nash(e)
        assert report.cournot_markups(e, eq)[0] == pytest.approx(P / (P - 1), rel=1e-9)
        # the p^0-based figure is the closed form (P/(P−1))² of docs/economics.md §5
        assert report.markups(e, eq)[0] == pytest.approx((P / (P - 1)) ** 2, rel=1e-9)
        comp = solve_competitive(e)
        assert report.cournot_markups(e, comp)[0] == pytest.approx(1.0, rel=1e-9)


def test_uncertain_kappa_reports_the_precautionary_demand(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uncertain-kappa.toml: the table and the JSON say who is out only because of the uncertainty."""
    out = tmp_path / "u"
    assert run([str(ROOT / "scenarios" / "uncertain-kappa.toml"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "uncertain kappa: 4 states (uniform, 4 Gauss-Lobatto nodes)" in text
    assert "precautionary demand" in text and "out only by uncertainty" in text
    doc = json.loads((out / "summary.json").read_text())
    u = doc["uncertain_kappa"]
    assert u["form"] == "uniform" and u["nodes"] == 4 and len(u["values"]) == 4
    assert u["values"][0] == 5e-5 and u["values"][-1] == 3.5e-4
    assert doc["scenario"]["kappa"] == pytest.approx(u["mean"], rel=1e-15)
    nash = u["nash"]
    assert nash["priced_out_by_uncertainty"] == ["edge-0", "edge-1", "edge-2", "edge-3"]
    assert doc["nash"]["priced_out"] == nash["priced_out_by_uncertainty"]
    # the datacenters buy a precautionary margin against the mean-kappa equilibrium
    assert nash["groups"]["datacenter"]["precautionary"] > 0
    assert u["competitive"] is not None and u["competitive"]["groups"]["edge"]["precautionary"] > 0


def test_certain_kappa_json_has_no_uncertainty_key(summary: dict) -> None:  # type: ignore[type-arg]
    assert "uncertain_kappa" not in summary
