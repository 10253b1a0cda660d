"""Scenario files: every shipped one loads; every kind of bad input names its field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from market.errors import ScenarioError
from market.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))

GOOD = """
name = "t"
T = 2
[verification]
kappa = "pos"
[[standard]]
name = "a"
count = 2
omega = 10.0
alpha = [0.5, 0.5]
bytecoins = 100.0
[[producer]]
name = "p"
count = 2
theta = [10.0, 20.0]
c = 0.8
K = 500.0
alpha = [0.5, 0.5]
bytecoins = 100.0
[simulation]
rounds = 5
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_every_shipped_scenario_loads() -> None:
    assert len(SCENARIOS) >= 5
    for path in SCENARIOS:
        s = load_scenario(path)
        e = s.economy
        assert e.N == e.M + e.P and e.T >= 1
        assert abs(e.schedule.sum() - 1.0) < 1e-12


def test_good_scenario_fields(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    e = s.economy
    assert (e.T, e.M, e.P) == (2, 2, 2)
    assert e.kappa == pytest.approx(6.6e-8)
    assert e.producers[0].theta == (10.0, 20.0)
    assert s.simulation.rounds == 5 and s.simulation.strategy == "best-response"
    assert e.gas_per_order.standard == 60_000


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("omega = 10.0", "omega = -1.0", r"^standard\[0\]\.omega: must be a finite number > 0"),
        ("alpha = [0.5, 0.5]\nbytecoins = 100.0\n[[producer]]", "alpha = [0.0, 0.0]\nbytecoins = 100.0\n[[producer]]",
         r"^standard\[0\]\.alpha: weights must sum to a positive number"),
        ("theta = [10.0, 20.0]", "theta = [10.0, 20.0, 30.0]", r"^producer\[0\]\.theta: has 3 entries but T = 2"),
        ('kappa = "pos"', 'kappa = "coal"', r"^verification\.kappa: unknown preset 'coal'"),
        ("theta = [10.0, 20.0]", "thetta = [10.0, 20.0]", r"^producer\[0\]\.thetta: unknown key"),
        ("K = 500.0", "K = 500.0\nrho = 1.0", r"^producer\[0\]\.K: give exactly one of K"),
        ('kappa = "pos"', 'kappa = "pos"\nschedule = [0.5, 0.6]', r"^verification\.schedule: must sum to 1"),
        ('kappa = "pos"', 'kappa = -1.0', r"^verification\.kappa: must be a finite number >= 0"),
        ("rounds = 5", "rounds = 0", r"^simulation\.rounds: must be >= 1"),
        ("rounds = 5", 'strategy = " "', r"^simulation\.strategy: must be a non-empty string"),
        ("rounds = 5", "strategy = 1", r"^simulation\.strategy: expected a string"),
        ("rounds = 5", "damping = 1.5", r"^simulation\.damping: must be in \(0, 1\]"),
        ("rounds = 5", 'backend = "ftp://x"', r"^simulation\.backend"),
        ("count = 2\nomega", "count = 0\nomega", r"^standard\[0\]\.count: must be an integer >= 1"),
        ("T = 2", "T = 2\ncolour = 1", r"^colour: unknown key"),
        ("c = 0.8", "c = 1.5\nrho = 1.0", r"^producer\[0\]\.K: give exactly one"),
        ("bytecoins = 100.0\n[[producer]]", 'bytecoins = 100.0\nutility = "ces"\n[[producer]]',
         r"^standard\[0\]\.sigma: missing"),
        ("omega = 10.0", 'omega = "ten"', r"^standard\[0\]\.omega: expected a number"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(tmp_path, GOOD.replace(old, new, 1)))


def test_long_run_increasing_returns_rejected(tmp_path: Path) -> None:
    text = GOOD.replace("c = 0.8\nK = 500.0", "c = 1.5\nrho = 1.0")
    with pytest.raises(ScenarioError, match=r"^producer\[0\]\.c: long-run producers need c <= 1"):
        load_scenario(write(tmp_path, text))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "T = = 2"))


def test_lone_producer_valuing_electricity_rejected(tmp_path: Path) -> None:
    text = re.sub(r"(\[\[producer\]\]\nname = \"p\"\n)count = 2", r"\1count = 1", GOOD)
    with pytest.raises(ScenarioError, match=r"^producer\[0\]\.alpha: a single producer"):
        load_scenario(write(tmp_path, text))
