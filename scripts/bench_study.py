"""Benchmarks of ``emg study`` on Dask: parallel efficiency, overhead, client memory.

    python scripts/bench_study.py parallel [--points 20] [--rounds 8]
    python scripts/bench_study.py overhead [--points 1000]
    python scripts/bench_study.py memory   [--points 10000]

``parallel``: a simulate study (the ``cia-money`` economy, ``--points`` values
of the damping, ``--rounds`` rounds each) on a LocalCluster of 1 worker, then
of 2; prints both wall times and the speed-up.

``overhead``: a solve study of ``--points`` points of the 10-agent default
economy (``κ`` on a linspace around the proof-of-stake preset) on 2 workers;
prints the wall time, the sum of the solver's own times (``work_seconds`` of
``timings.csv``), the sum of the points' whole times (solver + building +
writing the point folder), and the overhead ``(workers · wall − Σ solver) /
Σ solver`` split into the point folders' writing and the rest (cluster start,
scheduling, the index).

``memory``: a solve study of ``--points`` points of the 5-agent ``cia-money``
economy on 2 workers; prints the client process's peak resident memory
(``ru_maxrss``) and the wall time.

Each run uses a fresh temporary folder (nothing is skipped) and writes no
plots or report (``report=False``). The load average before and after is
printed: on a shared machine the figures are only as good as it was quiet.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emg.study.runner import run_study  # noqa: E402
from emg.study.spec import study_from_dict  # noqa: E402


def load() -> str:
    a, b, c = os.getloadavg()
    return f"load average {a:.2f} {b:.2f} {c:.2f} on {os.cpu_count()} cores"


def timed(doc: dict[str, Any], workers: int) -> tuple[float, Path]:
    study = study_from_dict(doc)
    out = Path(tempfile.mkdtemp(prefix="emg-bench-study-"))
    t0 = time.perf_counter()
    res = run_study(study, out, workers=workers, progress=True, report=False, say=lambda s: None)
    wall = time.perf_counter() - t0
    if res.failed:
        print(f"warning: {res.failed} failed points", file=sys.stderr)
    return wall, out


def timings(out: Path) -> list[dict[str, str]]:
    with (out / "timings.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def parallel(points: int, rounds: int) -> None:
    doc = {"name": "bench-parallel", "scenario": str(ROOT / "scenarios" / "cia-money.toml"),
           "mode": "simulate", "combine": "grid",
           "axes": {"simulation.damping": {"linspace": [0.3, 1.0, points]},
                    "simulation.rounds": [rounds]}}
    print(f"parallel: {points} simulate points x {rounds} rounds (cia-money); {load()}")
    w1, _ = timed(doc, 1)
    w2, _ = timed(doc, 2)
    print(f"{'workers':>8} {'wall s':>8}")
    print(f"{1:>8} {w1:>8.1f}\n{2:>8} {w2:>8.1f}")
    print(f"speed-up 2 vs 1 worker: {w1 / w2:.2f}x (parallel efficiency {w1 / w2 / 2:.0%}); {load()}")


def overhead(points: int) -> None:
    doc = {"name": "bench-overhead", "scenario": str(ROOT / "scenarios" / "default.toml"),
           "mode": "solve", "combine": "grid",
           "axes": {"verification.kappa": {"linspace": [5e-8, 1e-7, points]}}}
    print(f"overhead: {points} solve points of the 10-agent default economy, 2 workers; {load()}")
    wall, out = timed(doc, 2)
    t = timings(out)
    work = sum(float(r["work_seconds"] or 0) for r in t)
    whole = sum(float(r["wall_seconds"] or 0) for r in t)
    busy = 2 * wall
    print(f"wall {wall:.1f} s x 2 workers = {busy:.1f} worker-s; solver {work:.1f} s; "
          f"points whole {whole:.1f} s")
    print(f"overhead (2*wall - solver)/solver = {(busy - work) / work:.1%}: point folders "
          f"(building + writing) {(whole - work) / work:.1%}, the rest (cluster start, scheduling, "
          f"idle, index) {(busy - whole) / work:.1%}; {load()}")


def memory(points: int) -> None:
    doc = {"name": "bench-memory", "scenario": str(ROOT / "scenarios" / "cia-money.toml"),
           "mode": "solve", "combine": "grid",
           "axes": {"money": {"linspace": [1.0, 2.0, points]}}}
    print(f"memory: {points} solve points of the 5-agent cia-money economy, 2 workers; {load()}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, out = timed(doc, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(1 for _ in (out / "index.csv").open()) - 1
    print(f"{rows} rows in {wall:.1f} s; client peak RSS {peak:.0f} MiB (before the study: "
          f"{before:.0f} MiB); {load()}")


def main() -> int:
    ap = argparse.ArgumentParser(description="emg study benchmarks")
    ap.add_argument("what", choices=("parallel", "overhead", "memory"))
    ap.add_argument("--points", type=int)
    ap.add_argument("--rounds", type=int, default=8)
    a = ap.parse_args()
    if a.what == "parallel":
        parallel(a.points or 20, a.rounds)
    elif a.what == "overhead":
        overhead(a.points or 1000)
    else:
        memory(a.points or 10000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
