"""``emg study`` on Dask: a LocalCluster of 2 workers, and a scheduler + 2 workers started as
separate processes on 127.0.0.1 (the path a real cluster takes). Resumability, a failed point,
``--retry-failed``, and the same index byte for byte on a rerun."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emg.study.points import ROW_FILE
from emg.study.runner import run_study
from emg.study.spec import study_from_dict

ROOT = Path(__file__).resolve().parents[2]
CIA = str(ROOT / "scenarios" / "cia-money.toml")


def solve_study() -> dict[str, Any]:
    """4 points of a 5-agent economy: money is neutral, the producers' c moves prices."""
    return {"name": "small", "scenario": CIA, "mode": "solve", "combine": "grid",
            "axes": {"producer[0].c": [0.5, 0.6], "money": [1.0, 3.0]}}


def read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_local_cluster_resume_and_identical_index(tmp_path: Path) -> None:
    study = study_from_dict(solve_study())
    out = tmp_path / "study"
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.total, res.ran, res.skipped, res.failed) == (4, 4, 0, 0)
    rows = read_csv(out / "index.csv")
    assert [r["order"] for r in rows] == ["0", "1", "2", "3"]
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert [(r["producer[0].c"], r["money"]) for r in rows] == [
        ("0.5", "1.0"), ("0.5", "3.0"), ("0.6", "1.0"), ("0.6", "3.0")]
    # money is neutral (relative prices unchanged); the technology is not
    p1 = [float(r["nash_p1"]) for r in rows]
    assert p1[0] == pytest.approx(p1[1], rel=1e-9) and p1[2] == pytest.approx(p1[3], rel=1e-9)
    assert rows[0]["nash_p1"] != rows[2]["nash_p1"]
    assert float(rows[0]["ratio_max"]) > 1.0
    # each point's folder: the resolved scenario and emg solve --out's files, row.json last
    for r in rows:
        folder = out / "points" / r["id"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "agents.csv", "prices.csv", "row.json", "scenario.json", "summary.json"]
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["nash"]["relative_prices"][1] == float(r["nash_p1"])
    import pyarrow.parquet as pq

    table = pq.read_table(out / "index.parquet")
    assert table.num_rows == 4 and table.column_names == list(rows[0])
    assert table.column("nash_p1").to_pylist() == [float(r["nash_p1"]) for r in rows]
    timings = read_csv(out / "timings.csv")
    assert all(float(t["wall_seconds"]) > 0 for t in timings)
    before = {n: (out / n).read_bytes() for n in ("index.csv", "index.parquet")}

    # a rerun skips everything and writes the same index, byte for byte
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.ran, res.skipped) == (0, 4)
    assert {n: (out / n).read_bytes() for n in before} == before
    # an incomplete point (no row.json: interrupted in flight) is run again, the rest skipped
    (out / "points" / rows[2]["id"] / ROW_FILE).unlink()
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.ran, res.skipped) == (1, 3)
    assert {n: (out / n).read_bytes() for n in before} == before
    # a point torn by a power failure (its files are not flushed, only row.json is) is run again
    (out / "points" / rows[1]["id"] / "prices.csv").write_bytes(b"")
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.ran, res.skipped) == (1, 3)
    assert {n: (out / n).read_bytes() for n in before} == before
    # a fresh folder gives the same index too
    res = run_study(study, tmp_path / "again", workers=2, progress=False, report=False,
                    say=lambda s: None)
    assert {n: (tmp_path / "again" / n).read_bytes() for n in before} == before


def test_a_point_is_complete_only_with_every_file_it_lists(tmp_path: Path) -> None:
    from emg.study.points import read_row, run_task

    task = study_from_dict(solve_study()).tasks()[0]
    row = run_task(task, str(tmp_path))
    assert read_row(tmp_path, task.id) == row
    assert sorted(row["files"]) == ["agents.csv", "prices.csv", "scenario.json", "summary.json"]
    folder = tmp_path / "points" / task.id
    assert all((folder / n).stat().st_size == k > 0 for n, k in row["files"].items())
    (folder / "summary.json").write_bytes((folder / "summary.json").read_bytes()[:-1])  # torn
    assert read_row(tmp_path, task.id) is None
    run_task(task, str(tmp_path))
    (folder / "agents.csv").unlink()  # lost
    assert read_row(tmp_path, task.id) is None


@pytest.mark.slow  # three LocalCluster starts, ~30 s
def test_failed_point_is_recorded_and_retried(tmp_path: Path) -> None:
    # solve+simulate: the solves ignore the strategy and succeed; the strategy's name is checked
    # by the agents layer in the worker, so each simulation raises there
    study = study_from_dict({
        "scenario": CIA, "mode": "solve+simulate", "combine": "grid",
        "axes": {"simulation.strategy": ["no-such-strategy", "nor-this"]},
        "simulate_at": [{"simulation.strategy": "no-such-strategy"},
                        {"simulation.strategy": "nor-this"}]})
    out = tmp_path / "fail"
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.total, res.ran, res.failed) == (4, 4, 2)
    rows = read_csv(out / "index.csv")
    assert [(r["mode"], r["status"]) for r in rows] == [
        ("solve", "ok"), ("solve", "ok"), ("simulate", "failed"), ("simulate", "failed")]
    assert rows[0]["nash_p1"] == rows[1]["nash_p1"] != ""
    assert "no-such-strategy" in rows[2]["error"] and "nor-this" in rows[3]["error"]
    assert (out / "points" / rows[2]["id"] / "error.txt").read_text().startswith("Traceback")
    res = run_study(study, out, workers=2, progress=False, report=False, say=lambda s: None)
    assert (res.ran, res.failed) == (0, 2)
    res = run_study(study, out, workers=2, progress=False, report=False, retry_failed=True,
                    say=lambda s: None)
    assert (res.ran, res.failed) == (2, 2)


@pytest.mark.slow  # ~10 solves in-process, ~15 s
def test_threshold_bisection(tmp_path: Path) -> None:
    from emg.study.points import run_task
    from emg.study.threshold import locate

    study = study_from_dict({
        "scenario": str(ROOT / "scenarios" / "pow-priced-out.toml"), "mode": "solve",
        "combine": "grid", "axes": {"verification.kappa": {"logspace": [1e-4, 1e-3, 2]}},
        "threshold": {"metric": "priced_out.*", "rtol": 0.05}})
    out = tmp_path / "th"

    def batch(tasks: list[Any]) -> list[dict[str, Any]]:
        return [run_task(t, str(out)) for t in tasks]

    batch(study.tasks())
    brackets = {b.metric: b for b in locate(study, out, batch)}
    edge = brackets["priced_out.edge"]
    assert edge.status == "located" and edge.steps >= 5
    assert edge.low is not None and edge.high is not None
    assert edge.high / edge.low - 1 <= 0.05
    # the threshold bracketed by a 24-point grid and a 1% bisection: [4.3006e-4, 4.3314e-4]
    assert edge.low <= 4.3314e-4 and edge.high >= 4.3006e-4
    assert brackets["priced_out.datacenter"].status == "above-range"
    rows = read_csv(out / "thresholds.csv")
    assert [r["metric"] for r in rows] == ["priced_out.datacenter", "priced_out.edge",
                                           "priced_out.plant"]


def test_cli_bad_study_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emg.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text(f'scenario = "{CIA}"\ncombine = "zip"\n[axes]\nmoney = [1.0, 2.0]\n'
                   '"producer[0].c" = [0.5]\n')
    assert main(["study", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("emg study: error: axes: combine = \"zip\" pairs values by position")
    assert "\n" not in err and not (tmp_path / "o").exists()


@pytest.fixture()
def external_cluster(tmp_path: Path) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; yields the address."""
    dask = Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.fail(f"the dask command is missing next to {sys.executable} (pip install distributed)")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    sched_file = tmp_path / "scheduler.json"
    logs = [open(tmp_path / f"{n}.log", "w") for n in ("scheduler", "worker1", "worker2")]
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), (tmp_path / "scheduler.log").read_text()
        address = json.loads(sched_file.read_text())["address"]
        for k in (1, 2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{k}"],
                env=env, stdout=logs[k], stderr=subprocess.STDOUT, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()


@pytest.mark.slow  # three processes and a LocalCluster, ~35 s
def test_external_scheduler_and_workers(tmp_path: Path, external_cluster: str) -> None:
    from emg.study import configure, run

    path = tmp_path / "small.toml"
    path.write_text(f'name = "small"\nscenario = "{CIA}"\nmode = "solve"\ncombine = "grid"\n'
                    '[axes]\n"producer[0].c" = [0.5, 0.6]\nmoney = [1.0, 3.0]\n')
    parser = argparse.ArgumentParser()
    configure(parser)
    out = tmp_path / "ext"
    assert run(parser.parse_args([str(path), "--out", str(out), "--scheduler", external_cluster,
                                  "--quiet", "--no-report"])) == 0
    # the same rows as on the LocalCluster
    local = tmp_path / "local"
    run_study(study_from_dict(solve_study()), local, workers=2, progress=False, report=False,
              say=lambda s: None)
    assert (out / "index.csv").read_bytes() == (local / "index.csv").read_bytes()
    assert len(read_csv(out / "index.csv")) == 4
