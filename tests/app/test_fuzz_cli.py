"""A fuzz of the scenario loader and both commands with hostile scenario documents.

Hypothesis builds scenario documents from a valid one with one to three fields
replaced by hostile values (huge or tiny numbers, 1e308, 2^70, NaN, strings,
nested lists, tables where numbers belong, missing or unknown keys) and hostile
command-line options, writes them as TOML and runs ``emg solve`` and ``emg
simulate`` on them in-process. Every case must end with exit code 0, 1 or 2;
exit 2 must print exactly one line, ``emg COMMAND: error: ...``; no exception
may escape (a traceback) and no case may run past its time bound (a hang). A
table of ``emg solve`` (exit 0 or 1) or of a converged run holds no NaN. ``emg simulate`` plays one round
(``--rounds 1``) on documents the loader accepts.

Profiles: the default run is short (~40 cases, under a minute on one core);
``EMG_FUZZ=long`` (``make test-long``) runs 1,000 cases and prints the counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emg.cli import main

LONG = os.environ.get("EMG_FUZZ", "").lower() == "long"
#: bound on one command on one case, in CPU seconds (a loop) and in wall seconds (a blocked
#: read): above either the case is a hang. CPU time, because a loaded CI machine stretches
#: wall time several-fold.
#: (The solver may legitimately take minutes: increasing returns, c = 2 with a binding K, took
#: 105 CPU seconds before its clear "did not converge" error. Cases above SLOW_CPU_SECONDS are
#: counted apart as "slow".)
CASE_CPU_SECONDS = 300.0
CASE_WALL_SECONDS = 1200.0
SLOW_CPU_SECONDS = 30.0

BASE: dict[str, Any] = {
    "name": "fuzz",
    "T": 2,
    "verification": {"kappa": "pos", "gas_per_order": {"standard": 60000, "producer": 80000}},
    "standard": [{"name": "home", "count": 2, "omega": 10.0, "alpha": [0.6, 0.4],
                  "bytecoins": 20.0}],
    "producer": [{"name": "plant", "count": 2, "theta": 1.0, "c": 0.5, "K": 50.0,
                  "stock": 10.0, "alpha": [0.5, 0.5], "bytecoins": 120.0}],
    "simulation": {"rounds": 3, "seed": 3, "damping": 0.5, "tolerance": 1e-6},
}

#: where a hostile value may go: (table, index or None, key)
FIELDS: list[tuple[str | None, int | None, str]] = (
    [(None, None, k) for k in ("name", "T", "description", "verification", "standard",
                               "producer", "simulation", "extra")]
    + [("verification", None, k) for k in ("kappa", "schedule", "gas_per_order")]
    + [("standard", 0, k) for k in ("name", "count", "omega", "alpha", "alpha0", "bytecoins",
                                    "utility", "sigma", "unknown")]
    + [("producer", 0, k) for k in ("name", "count", "theta", "c", "K", "rho", "stock", "alpha",
                                    "alpha0", "bytecoins", "utility", "sigma")]
    + [("simulation", None, k) for k in ("rounds", "seed", "strategy", "damping", "tolerance",
                                         "backend", "round_duration", "market")]
)

NASTY: list[Any] = [
    0, -1, 1, 2, 3, 700, 701, 10**9, 2**63, 2**64, 2**70, 10**30, -(2**70),
    0.0, -0.0, 1e-300, 5e-19, 1e-18, 1e-9, 0.05, 0.1, 0.5, 1.0, 100.0, 100.5, 1.9e7, 2e7,
    1e300, 1e308, -1e308, math.inf, -math.inf, math.nan, 31536000.0, 31536001.0,
    "", "x", "ces", "log", "pow", "nope", "\u00e9\u00e9", "a\nb", "x" * 100, True, False,
    [], [1.0], [0.5, 0.5], [1e308, 1.0], [math.nan, 1.0], [[1.0, 2.0]], ["a", "b"],
    {"a": 1}, {}, [{"name": "z"}],
]

values = st.one_of(
    st.sampled_from(NASTY),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
)

OPTION_VALUES = ["1", "0", "-1", "1e-300", "1e300", "nan", "inf", "2", "0.5", "abc",
                 str(2**70), "-1e308"]
options = st.lists(st.tuples(st.sampled_from(["--seed", "--rounds", "--damping", "--tolerance",
                                              "--scale-money", "--strategy"]),
                             st.sampled_from(OPTION_VALUES)), max_size=2)


# ----------------------------------------------------------------------------- TOML writer

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    """A TOML document for ``doc`` (scalars first, then tables, then arrays of tables)."""
    def table_array(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not table_array(v)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{json.dumps(k)}]")
            lines += [f"{json.dumps(kk)} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, v in doc.items():
        if table_array(v):
            for row in v:
                lines.append(f"[[{json.dumps(k)}]]")
                lines += [f"{json.dumps(kk)} = {_toml_value(vv)}" for kk, vv in row.items()]
    return "\n".join(lines) + "\n"


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        table, idx, key = draw(st.sampled_from(FIELDS))
        target: Any = doc if table is None else doc.get(table)
        if idx is not None:
            target = target[idx] if isinstance(target, list) and target and \
                isinstance(target[idx], dict) else None
        if not isinstance(target, dict):
            continue
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(values)
    return doc


# ----------------------------------------------------------------------------- running a case

class Hang(BaseException):
    """Raised by the alarm when a case runs past its CPU or wall-clock bound."""


@contextlib.contextmanager
def time_limit(cpu_seconds: float, wall_seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang()

    old_alrm = signal.signal(signal.SIGALRM, alarm)
    old_prof = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_REAL, wall_seconds)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, old_alrm)
        signal.signal(signal.SIGPROF, old_prof)


#: outcome counts over the session, printed by the long profile
COUNTS: Counter[str] = Counter()


def run_command(argv: list[str]) -> tuple[str, int | None, str, str, float]:
    """Run ``emg ARGV`` in-process: (outcome, exit code, stdout, stderr, seconds).

    outcome is ``ok`` (exit 0/1), ``error`` (exit 2), ``traceback`` (an
    exception escaped) or ``hang`` (past CASE_CPU_SECONDS or CASE_WALL_SECONDS).
    """
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    cpu = time.process_time()
    code: int | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                time_limit(CASE_CPU_SECONDS, CASE_WALL_SECONDS):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: a malformed option value
                code = exc.code if isinstance(exc.code, int) else 2
        outcome = "error" if code == 2 else "ok"
        if time.process_time() - cpu > SLOW_CPU_SECONDS:
            COUNTS[f"{argv[0]}:slow"] += 1
    except Hang:
        outcome = "hang"
    except Exception as exc:  # noqa: BLE001 - a traceback is what the fuzz looks for
        outcome = "traceback"
        err.write(f"{type(exc).__name__}: {exc}")
    return outcome, code, out.getvalue(), err.getvalue(), time.monotonic() - start


def check_case(doc: dict[str, Any], opts: list[tuple[str, str]], tmp: Path) -> None:
    path = tmp / "case.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    from market.errors import ScenarioError
    from market.scenario import load_scenario

    try:
        scenario = load_scenario(path)
        loaded = True
    except ScenarioError as exc:
        assert "\n" not in str(exc), str(exc)
        loaded = False
    flat = [x for pair in opts for x in pair]
    runs = [["solve", str(path)], ["simulate", str(path), "--quiet", *flat]]
    if loaded and scenario.economy.N > 12:
        runs = runs[:1]  # a one-round chain run with more agents costs seconds per agent
    for argv in runs:
        if argv[0] == "simulate" and "--rounds" not in argv:
            argv += ["--rounds", "1"]
        outcome, code, out, err, seconds = run_command(argv)
        COUNTS[f"{argv[0]}:{outcome}"] += 1
        assert outcome not in ("traceback", "hang"), (outcome, argv, err[-2000:], to_toml(doc))
        assert code in (0, 1, 2)
        assert "Traceback" not in err, err[-2000:]
        if code == 2:
            errors = [ln for ln in err.splitlines() if ln.startswith(f"emg {argv[0]}: error: ")]
            assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
            assert len(errors[0]) < 400, errors[0]
        elif argv[0] == "solve" or code == 0:  # (a failed run marks inactive posts nan)
            assert "nan" not in out.lower(), out


#: cases per run: 40 by default, 1,000 under EMG_FUZZ=long, or EMG_FUZZ_EXAMPLES
EXAMPLES = int(os.environ.get("EMG_FUZZ_EXAMPLES", 1000 if LONG else 40))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES == 40,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(doc=documents(), opts=options)
def test_fuzz_scenarios_and_commands(doc: dict[str, Any], opts: list[tuple[str, str]],
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    check_case(doc, opts, tmp_path_factory.mktemp("fuzz"))


def test_fuzz_counts_are_reported() -> None:
    """Print the outcome counts (pytest -s shows them); the fuzz above asserts them."""
    print("fuzz outcomes:", dict(sorted(COUNTS.items())))
    assert not any(k.endswith((":traceback", ":hang")) for k in COUNTS)


@pytest.mark.parametrize("command", ["solve", "simulate"])
def test_hostile_files_through_both_commands(command: str, tmp_path: Path) -> None:
    """A folder, a FIFO nobody writes, /dev/zero, binary and deeply nested content: one line each."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    deep = tmp_path / "deep.toml"
    deep.write_text("T = " + "[" * 300_000 + "]" * 300_000 + "\n")
    for path in (tmp_path, fifo, Path("/dev/zero"), binary, deep):
        outcome, code, out, err, seconds = run_command([command, str(path)])
        assert outcome == "error" and code == 2, (path, outcome, err)
        assert err.count("\n") == 1 and err.startswith(f"emg {command}: error: {path}: "), err
        assert seconds < 30, (path, seconds)


MONEY = str(Path(__file__).resolve().parents[2] / "scenarios" / "cia-money.toml")


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", "-1"], "--seed: must be in [0, 2^64 - 1], got -1"),
    (["--rounds", str(2**70)], "--rounds: must be >= 1 and <= 1000000"),
    (["--scale-money", "1e-300"], "--scale-money: 1e-300 makes standard[0].bytecoins: must be 0 or "
                                  "at least 1e-18 bytecoins (one wei/wad), got 2e-299"),
    (["--scale-money", "1e300"], "--scale-money: 1e+300 makes standard[0].bytecoins: must be at "
                                 "most 1.9e+07 bytecoins"),
    (["--scale-money", "inf"], "--scale-money: must be > 0 and finite, got inf"),
    (["--rounds", "abc"], "argument --rounds: invalid int value: 'abc' (see emg simulate --help)"),
])
def test_hostile_options_are_named_before_the_chain_starts(args: list[str], message: str) -> None:
    outcome, code, out, err, seconds = run_command(["simulate", MONEY, "--quiet", *args])
    assert code == 2 and err.count("\n") == 1 and err.startswith("emg simulate: error: "), err
    assert message in err and "starting a local chain" not in err
