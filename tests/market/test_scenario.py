"""Scenario files: every shipped one loads; every kind of bad input names its field."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
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


# ----------------------------------------------------------------------------- hostile input
# Every case of the hardening issue: one ScenarioError line naming the field, before any
# large allocation or long computation.

HOSTILE_VALUES = [
    ("T = 2", "T = 1000000000", r"^T: must be an integer >= 1 and <= 700"),
    ("T = 2", "T = 1180591620717411303424", r"^T: must be an integer >= 1 and <= 700"),  # 2^70
    ("count = 2\nomega", "count = 1000000000\nomega", r"^standard\[0\]\.count: .* <= 200000,"),
    # the solvers take 200,000 agents (100,000 standard ones with producers), a scenario file (both commands: the chain) 10,000
    ("count = 2\nomega", "count = 10001\nomega", r"^standard\[0\]\.count: must be <= 10000, got 10001"),
    ("count = 2\nomega", "count = 1180591620717411303424\nomega", r"^standard\[0\]\.count: "),
    ("omega = 10.0", "omega = 1e308", r"^standard\[0\]\.omega: must be at most 1\.9e\+07 units"),
    ("omega = 10.0", "omega = " + "9" * 400, r"^standard\[0\]\.omega: must be finite"),
    ("omega = 10.0", "omega = 1e-300", r"^standard\[0\]\.omega: must be 0 or at least 1e-18"),
    ("bytecoins = 100.0\n[[producer]]", "bytecoins = 1e308\n[[producer]]",
     r"^standard\[0\]\.bytecoins: must be at most"),
    ("K = 500.0", "K = 1e308", r"^producer\[0\]\.K: must be at most"),
    ("theta = [10.0, 20.0]", "theta = [10.0, 1e300]", r"^producer\[0\]\.theta\[1\]: must be at most"),
    ("c = 0.8", "c = 0.05", r"^producer\[0\]\.c: must be in \[0\.1, 100\.0\] \(the contract's bound\)"),
    ("c = 0.8", "c = 101.0", r"^producer\[0\]\.c: must be in \[0\.1, 100\.0\]"),
    ('kappa = "pos"', "kappa = 1e308", r"^verification\.kappa: must be at most 1 kWh/gas"),
    ("rounds = 5", "rounds = 5\nround_duration = 1e308", r"^simulation\.round_duration: must be in \(0, 31536000\]"),
    ("rounds = 5", "rounds = 5\nseed = -1", r"^simulation\.seed: must be in \[0, 2\^64 - 1\]"),
    ("rounds = 5", "rounds = 1180591620717411303424", r"^simulation\.rounds: must be >= 1 and <= 1000000"),
    ("alpha = [0.5, 0.5]\nbytecoins = 100.0\n[[producer]]",
     "alpha = [1e300, 0.5]\nbytecoins = 100.0\n[[producer]]", r"^standard\[0\]\.alpha\[0\]: must be at most 1000000"),
    ("alpha = [0.5, 0.5]\nbytecoins = 100.0\n[[producer]]",
     'alpha = [0.5, 0.5]\nutility = "ces"\nsigma = 1e-300\nbytecoins = 100.0\n[[producer]]',
     r"^standard\[0\]\.sigma: must be in \[0\.1, 10\.0\]"),
    ("alpha = [0.5, 0.5]\nbytecoins = 100.0\n[[producer]]",
     'alpha = [0.5, 0.5]\nutility = "ces"\nsigma = 1e300\nbytecoins = 100.0\n[[producer]]',
     r"^standard\[0\]\.sigma: must be in \[0\.1, 10\.0\]"),
    ('name = "a"', 'name = "a\\nb"', r"^standard\[0\]\.name: must be 1 to 64 printable characters"),
    ('[verification]', '[verification]\ngas_per_order = { standard = 1180591620717411303424 }',
     r"^verification\.gas_per_order\.standard: must be an integer in \[0, 30000000\]"),
]


@pytest.mark.parametrize(("old", "new", "message"), HOSTILE_VALUES)
def test_hostile_values_are_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(write(tmp_path, GOOD.replace(old, new, 1)))
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.fixture
def deep_recursion() -> Iterator[None]:
    """The recursion limit py-evm sets when imported (100,000), restored after the test."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    yield
    sys.setrecursionlimit(old)


def test_hostile_files(tmp_path: Path, deep_recursion: None) -> None:
    import os

    cases: dict[str, tuple[Path, str]] = {}
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    cases["folder"] = (folder, "is a folder, not a scenario file")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block for ever
    cases["fifo"] = (fifo, "not a regular file")
    cases["device"] = (Path("/dev/zero"), "not a regular file")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    cases["binary"] = (binary, "not UTF-8 text (byte 128)")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    cases["non-utf8"] = (latin, "not UTF-8 text")
    nul = tmp_path / "nul.toml"
    nul.write_bytes(b"T = 2\x00\n")
    cases["nul"] = (nul, "not valid TOML")
    deep = tmp_path / "deep.toml"
    deep.write_text("T = " + "[" * 100_000 + "]" * 100_000 + "\n")
    cases["deep"] = (deep, "nested too deeply")
    digits = tmp_path / "digits.toml"
    digits.write_text("T = " + "9" * 100_000 + "\n")
    cases["digits"] = (digits, "not valid TOML")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    cases["big"] = (big, "a scenario may have at most 1,048,576")
    for name, (path, message) in cases.items():
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        text = str(info.value)
        assert text.startswith(f"{path}: ") and message in text, (name, text)
        assert "\n" not in text and len(text) < 300, name


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    path = write(tmp_path, GOOD)
    real_open = os.open

    def denied(p, flags, *args):  # type: ignore[no-untyped-def]
        if Path(p) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(p, flags, *args)

    monkeypatch.setattr(os, "open", denied)  # root reads anything: chmod 000 would not do
    with pytest.raises(ScenarioError, match=r"cannot read the scenario file: Permission denied$"):
        load_scenario(path)


def test_the_bounds_are_the_chains() -> None:
    """The loader's bounds are the contract's (market/ mirrors them: it imports no chain code)."""
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec
    from agents.chain.errors import ChainError
    from agents.chain.fixedpoint import MAX_AMOUNT as CHAIN_MAX
    from market import model

    WAD = 10**18
    assert int(model.MAX_AMOUNT * WAD) <= CHAIN_MAX < int(model.MAX_AMOUNT * WAD * 1.02)
    assert int(model.MIN_AMOUNT * WAD) == 1

    def config(T: int, c: float, duration: int = 60) -> MarketConfig:
        return MarketConfig(T, duration, (StandardSpec("0x" + "1" * 40, WAD, WAD),),
                            (ProducerSpec("0x" + "2" * 40, (WAD,), int(c * WAD), WAD, 0, 0, 0),))

    config(model.MAX_T, model.MIN_C).validate()
    config(1, model.MAX_C).validate()
    for bad in (config(model.MAX_T + 1, 1.0), config(1, model.MIN_C * 0.99),
                config(1, model.MAX_C * 1.01)):
        with pytest.raises(ChainError):
            bad.validate()
    contract = (ROOT / "contracts" / "Market.sol").read_text()
    assert f"MAX_T = {model.MAX_T};" in contract
    assert "roundDuration_ > 365 days" in contract


def test_a_hand_built_economy_may_exceed_the_chain_bounds_but_not_a_file(tmp_path: Path) -> None:
    """The solver takes K = 1e12 (never binds); a scenario file, and emg simulate, do not."""
    from dataclasses import replace

    economy = load_scenario(write(tmp_path, GOOD)).economy
    big = replace(economy, producers=(replace(economy.producers[0], K=1e12),))
    with pytest.raises(ScenarioError, match=r"^producer\[0\]\.K: must be at most 1\.9e\+07 kWh"):
        big.check_chain_bounds()
    with pytest.raises(ScenarioError, match=r"^producer\[0\]\.K: must be at most"):
        load_scenario(write(tmp_path, GOOD.replace("K = 500.0", "K = 1e12")))
