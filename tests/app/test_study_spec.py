"""Study files: validation errors that name the field, the designs, point resolution and ids."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from emg.study.spec import StudyError, load_study, point_id, study_from_dict
from market.errors import EmgError

ROOT = Path(__file__).resolve().parents[2]
MP2 = str(ROOT / "scenarios" / "market-power-2.toml")


def study(**kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"scenario": MP2, "mode": "solve", "combine": "grid",
                           "axes": {"verification.kappa": [6.6e-8, 1e-4]}}
    doc.update(kw)
    return doc


@pytest.mark.parametrize("doc, message", [
    (study(bogus=1), "bogus: unknown key"),
    (study(mode="run"), "mode: expected one of solve, simulate, solve+simulate, got 'run'"),
    ({k: v for k, v in study().items() if k != "combine"}, "combine: missing"),
    (study(combine="cross"), "combine: expected one of grid, zip, sobol, lhs"),
    ({k: v for k, v in study().items() if k != "scenario"}, "scenario: missing"),
    (study(scenario="nope.toml"), "scenario: no such scenario file"),
    (study(axes={"verification.kappa": []}), 'axes."verification.kappa": an empty list'),
    (study(axes={"producer[0].c": {"linspace": [0.5, 1.0]}}),
     'axes."producer[0].c".linspace: expected [start, stop, count]'),
    (study(axes={"producer[0].c": {"logspace": [0.0, 1.0, 3]}}),
     'axes."producer[0].c".logspace: start and stop must be > 0'),
    (study(axes={"producer[3].c": [0.9]}),
     "producer has 1 entries in the base scenario, no [3]"),
    (study(axes={"producer[0].c": [0.9, -1.0]}), "point 1 (producer[0].c = -1.0): producer[0].c"),
    (study(axes={"producer[0].thetta": [1.0]}), "producer[0].thetta: unknown key"),
    (study(axes={"replicate": [1, 0]}), "replicate must be an integer >= 1"),
    (study(axes={"money": [1.0, -2.0]}), "money must be > 0"),
    (study(combine="zip", axes={"producer[0].c": [0.8, 0.9], "money": [1.0, 2.0, 3.0]}),
     'unequal lengths ("producer[0].c" has 2, money has 3)'),
    (study(combine="sobol", axes={"money": {"range": [1.0, 2.0]}}), "n: missing"),
    (study(combine="lhs", n=4, axes={"money": [1.0, 2.0]}), "a { range = [low, high] } is needed"),
    (study(axes={"money": {"range": [1.0, 2.0]}}), "a range is for combine"),
    (study(n=3), "n: only used with combine"),
    (study(replications=3), "replications: only used when the study simulates"),
    (study(mode="simulate", seeds=[1, 1]), "seeds: repeated seeds"),
    (study(mode="solve+simulate"), "simulate_at: mode = \"solve+simulate\" needs a list"),
    (study(mode="solve+simulate", simulate_at=[{"money": 1.0}]),
     "simulate_at[0]: give a value for every axis"),
])
def test_errors_name_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(StudyError) as info:
        study_from_dict(doc)
    assert message in str(info.value)
    assert isinstance(info.value, EmgError)
    assert "\n" not in str(info.value)


def test_grid_zip_and_helpers() -> None:
    s = study_from_dict(study(axes={"verification.kappa": {"logspace": [1e-8, 1e-4, 5]},
                                    "replicate": [1, 2]}))
    pts = s.design()
    assert len(pts) == 10
    assert [p["verification.kappa"] for p in pts[::2]] == [1e-8, 1e-7, 1e-6, 1e-5, 1e-4]
    assert [p["replicate"] for p in pts[:2]] == [1, 2]
    assert s.axes[0].log and not s.axes[1].log
    z = study_from_dict(study(combine="zip", axes={"producer[0].c": {"linspace": [0.8, 0.9, 3]},
                                                   "money": [1.0, 2.0, 4.0]}))
    assert z.design() == [{"producer[0].c": 0.8, "money": 1.0}, {"producer[0].c": 0.85, "money": 2.0},
                          {"producer[0].c": 0.9, "money": 4.0}]


@pytest.mark.parametrize("combine", ["sobol", "lhs"])
def test_quasi_random_designs(combine: str) -> None:
    s = study_from_dict(study(combine=combine, n=16, design_seed=5, axes={
        "verification.kappa": {"range": [1e-8, 1e-3], "log": True},
        "producer[0].c": {"range": [0.6, 0.95]}, "replicate": {"range": [1, 4]}}))
    pts = s.design()
    assert len(pts) == 16
    k = sorted(p["verification.kappa"] for p in pts)
    assert 1e-8 <= k[0] and k[-1] <= 1e-3
    assert k[-1] / k[0] > 1e3  # spread over decades: drawn in log space
    assert all(0.6 <= p["producer[0].c"] <= 0.95 for p in pts)
    assert {type(p["replicate"]) for p in pts} == {int} and {p["replicate"] for p in pts} <= {1, 2, 3, 4}
    if combine == "lhs":  # one draw per stratum of each axis
        strata = sorted(int((p["producer[0].c"] - 0.6) / 0.35 * 16) for p in pts)
        assert strata == list(range(16))
    assert study_from_dict(study(combine=combine, n=16, design_seed=5, axes={
        "verification.kappa": {"range": [1e-8, 1e-3], "log": True},
        "producer[0].c": {"range": [0.6, 0.95]}, "replicate": {"range": [1, 4]}})).design() == pts


def test_resolution_replicate_money_and_ids() -> None:
    s = study_from_dict(study(axes={"replicate": [1, 3], "money": [1.0, 2.0],
                                    "simulation.damping": [0.5]}))
    tasks = s.tasks()
    assert len(tasks) == 4
    t = tasks[3]  # replicate 3, money 2
    assert t.values == {"replicate": 3, "money": 2.0, "simulation.damping": 0.5}
    sc = t.scenario()
    assert sc.economy.M == 30 and sc.economy.P == 6
    assert sc.economy.total_bytecoins == pytest.approx(3 * 2 * (10 * 500.0 + 2 * 500.0))
    assert sc.simulation.damping == 0.5
    # ids: content hashes, distinct per point, stable, and moved by any change of the document
    ids = [x.id for x in tasks]
    assert len(set(ids)) == 4 and ids == [x.id for x in s.tasks()]
    doc = copy.deepcopy(t.doc)
    assert point_id(doc, "solve") == t.id
    doc["producer"][0]["c"] = 0.91
    assert point_id(doc, "solve") != t.id
    assert point_id(t.doc, "simulate") != t.id


def test_seeds_and_inline_scenario(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('''
name = "inline"
mode = "solve+simulate"
combine = "grid"
replications = 3
simulate_at = [{ money = 2.0 }]
[scenario]
T = 1
[[scenario.standard]]
name = "a"
count = 2
omega = 10.0
alpha = [1.0]
bytecoins = 5.0
[[scenario.producer]]
name = "p"
count = 2
theta = 1.0
c = 0.8
K = 100.0
alpha = [1.0]
[scenario.simulation]
seed = 40
[axes]
money = [1.0, 2.0, 4.0]
''')
    s = load_study(tmp_path / "s.toml")
    tasks = s.tasks()
    assert [(t.mode, t.seed) for t in tasks] == [("solve", None)] * 3 + [("simulate", 40),
                                                                       ("simulate", 41),
                                                                       ("simulate", 42)]
    assert tasks[-1].scenario().simulation.seed == 42
    assert tasks[-1].scenario().economy.total_bytecoins == pytest.approx(20.0 + 0.0)
