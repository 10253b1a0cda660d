"""An installed emg runs outside the repository: ``pip install --target`` of a
copy of the source tree, then ``python -m emg.cli simulate`` from a temporary
folder with only the installed tree on ``PYTHONPATH`` (its dependencies come
from this interpreter's site-packages) and no compiler on ``PATH``: the
contracts it deploys are the artifacts shipped as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "cia-money.toml"  # 5 agents: the quickest shipped chain run
#: not part of an installed package: leave them out of the copy that is built
SKIP = (".git", ".venv", "node_modules", "build", "runs", "*.egg-info", "__pycache__", ".hypothesis",
        ".pytest_cache", ".mypy_cache")

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_installed_emg_simulates_outside_the_repo(tmp_path: Path) -> None:
    src, site, work, empty = tmp_path / "src", tmp_path / "site", tmp_path / "work", tmp_path / "no-bin"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*SKIP))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(src)],
        capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # package data: the production artifacts and the type markers; no sources, no test contract
    shipped = json.loads((site / "agents" / "chain" / "artifacts" / "contracts.json").read_text())
    assert set(shipped["contracts"]) == {"Bytecoin", "Market", "SealedMarket"}
    assert all((site / pkg / "py.typed").is_file() for pkg in ("market", "agents", "emg"))
    assert not (site / "contracts").exists() and not list(site.rglob("*.sol"))

    work.mkdir()
    empty.mkdir()
    shutil.copy(SCENARIO, work / "scenario.toml")
    env = {**os.environ, "PYTHONPATH": str(site), "PATH": str(empty), "MPLBACKEND": "Agg"}  # no solc, no node
    where = _run([sys.executable, "-c", "import agents, emg, market; print(agents.__file__, emg.__file__, "
                  "market.__file__)"], work, env)
    assert where.returncode == 0, where.stderr
    assert all(Path(f).is_relative_to(site) for f in where.stdout.split()), where.stdout  # not the checkout

    run = _run([sys.executable, "-m", "emg.cli", "simulate", "scenario.toml", "--rounds", "2", "--quiet",
                "--out", "out"], work, env)
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 1: not converged in 2 rounds
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary["convergence"]["rounds_played"] == 2
    assert summary["failures"] == [] and summary["ledger"]["ok"] is True
    assert not (work / "build").exists()  # nothing was compiled

    helped = _run([str(site / "bin" / "emg"), "--help"], work, env)  # the console script
    assert helped.returncode == 0 and "simulate" in helped.stdout, helped.stderr
    compiled = _run([str(site / "bin" / "emg"), "compile"], work, env)  # for contributors, in a checkout
    assert compiled.returncode == 2 and "source checkout" in compiled.stderr, compiled.stderr


def test_make_simulate_writes_a_run_where_no_runs_folder_exists_yet(tmp_path: Path) -> None:
    """The README's first command (``make simulate``) on a clean clone: ``runs/`` does not
    exist there, and emg refuses an ``--out`` whose parent is missing; the target makes it."""
    if not (REPO / ".venv" / "bin" / "emg").exists() or shutil.which("make") is None:
        pytest.skip("make simulate needs `make setup` (.venv/bin/emg) and make")
    out = tmp_path / "runs" / "cia"
    assert not out.parent.exists()
    run = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.emg-installed", "simulate",
                          f"SCENARIO={SCENARIO}", f"OUT={out}"],
                         cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 1: a ledger or convergence flag
    assert json.loads((out / "summary.json").read_text())["ledger"]["ok"] is True
