"""Output folders: replaced whole (one complete run, old or new), checked before any work,
stale temporaries of killed runs cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emg.cli import main
from emg.formats import KNOWN_OUTPUTS, check_out
from market import io as mio
from market.errors import OutputError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = str(ROOT / "scenarios" / "default.toml")
MONEY = str(ROOT / "scenarios" / "cia-money.toml")


def _old_run(out: Path) -> dict[str, bytes]:
    out.mkdir()
    files = {"summary.json": b"old summary\n", "rounds.csv": b"old rounds\n", "prices.png": b"old png"}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _contents(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir()}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_folder_is_replaced_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    exchange: bool) -> None:
    out = tmp_path / "run"
    _old_run(out)
    if not exchange:
        monkeypatch.setattr(mio, "_exchange", lambda a, b: False)
    with mio.atomic_folder(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.emg-")
        (tmp / "summary.json").write_bytes(b"new\n")
    assert _contents(out) == {"summary.json": b"new\n"}  # no old rounds.csv / png beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left


def test_a_failure_while_writing_leaves_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    old = _old_run(out)
    with pytest.raises(RuntimeError):
        with mio.atomic_folder(out) as tmp:
            (tmp / "rounds.csv").write_bytes(b"new rounds\n")
            raise RuntimeError("interrupted")
    assert _contents(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_sigkill_leaves_the_old_run_whole_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "run"
    old = _old_run(out)
    (out / ".rounds.csv.abc123.tmp").write_bytes(b"left by an old per-file write")
    code = (
        "import os, signal, sys\n"
        "from market.io import atomic_folder\n"
        "with atomic_folder(sys.argv[1]) as tmp:\n"
        "    (tmp / 'rounds.csv').write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == -signal.SIGKILL
    stale = [p.name for p in tmp_path.iterdir() if p.name != "run"]
    assert len(stale) == 1 and stale[0].startswith(".run.emg-") and stale[0].endswith(".tmp")
    assert {k: v for k, v in _contents(out).items() if not k.startswith(".")} == old
    with mio.atomic_folder(out) as tmp:
        (tmp / "summary.json").write_bytes(b"new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the killed run's folder is gone
    assert _contents(out) == {"summary.json": b"new\n"}  # and so is the hidden .tmp file


def test_a_live_runs_temporary_is_left_alone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = tmp_path / f".run.emg-{sleeper.pid}-x.tmp"
        live.mkdir()
        dead = tmp_path / ".run.emg-999999999-y.tmp"
        dead.mkdir()
        removed = mio.clean_stale(tmp_path / "run")
        assert removed == [dead] and live.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_check_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    (tmp_path / "earlier").mkdir()
    for name in KNOWN_OUTPUTS:
        (tmp_path / "earlier" / name).write_text("x")
    (tmp_path / "earlier" / ".summary.json.x.tmp").write_text("x")
    cases = {
        "file": "is a file, not a folder",
        "file/sub": "lies below",
        "missing/sub": "parent folder",
        "mine": "holds files that are not emg outputs (notes.txt)",
    }
    for rel, message in cases.items():
        with pytest.raises(OutputError, match=r"^--out: .*" + message.replace("(", r"\(")
                           .replace(")", r"\)")):
            check_out(str(tmp_path / rel))
    with pytest.raises(OutputError, match="empty string"):
        check_out("")
    assert check_out(str(tmp_path / "new")) == tmp_path / "new"
    assert check_out(str(tmp_path / "earlier")) == tmp_path / "earlier"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == tmp_path else real_access(p, m))
    with pytest.raises(OutputError, match="is not writable"):
        check_out(str(tmp_path / "new"))


@pytest.mark.parametrize("command", ["solve", "simulate"])
def test_a_bad_out_stops_both_commands_before_any_work(command: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    start = time.monotonic()
    assert main([command, MONEY, "--quiet" if command == "simulate" else "--json",
                 "--out", str(tmp_path / "file" / "run")]) == 2
    assert time.monotonic() - start < 5
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert err == [f"emg {command}: error: --out: {tmp_path / 'file' / 'run'} lies below "
                   f"{tmp_path / 'file'}, which is a file"]


def test_solve_replaces_an_earlier_simulate_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _old_run(out)
    assert main(["solve", DEFAULT, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["agents.csv", "prices.csv", "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
