"""Interrupt ``emg simulate --out DIR`` runs whose DIR holds a previous run, and report what
DIR holds afterwards (the experiment of issue 11: "new CSVs beside the old PNGs").

For each signal (SIGINT, SIGKILL), at delays spread over one run's duration and while
the folder is being written (right after its temporary sibling appears), a run of
``scenarios/cia-money.toml --rounds 3`` into a folder holding an earlier complete run is
interrupted; the folder must then hold exactly the earlier run or exactly a complete new
one. A further run into the same folder must leave no temporary behind.

Usage: ``python scripts/interrupt_runs.py [--kills N]`` (prints a table; ~N x 2 runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "scenarios" / "cia-money.toml")


def emg(out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "emg.cli", "simulate", SCENARIO, "--rounds", "3",
                             "--quiet", "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=8, help="interruptions per signal (default 8)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="emg-interrupt-"))
    try:
        reference = work / "reference"
        start = time.monotonic()
        assert emg(reference).wait() == 1  # 3 rounds do not converge: exit 1, folder written
        duration = time.monotonic() - start
        complete = snapshot(reference)
        old = {name: b"previous run\n" for name in complete}
        print(f"one run: {duration:.1f} s, {len(complete)} files; {args.kills} interruptions per "
              "signal: every other one at a time spread over 0.3 .. 1.1 x that, the others while "
              "it writes (w+t: t seconds after its temporary folder appeared)")
        print(f"{'signal':>8} {'at s':>8} | {'DIR holds':>14} {'temporaries':>11} | "
              f"{'after a rerun':>13}")
        counts: dict[str, int] = {}
        for sig in (signal.SIGINT, signal.SIGKILL):
            for k in range(args.kills):
                out = work / f"run-{sig.name}-{k}"
                out.mkdir()
                for name, data in old.items():
                    (out / name).write_bytes(data)
                proc = emg(out)
                if k % 2 == 0:  # at a time spread over the run
                    delay = duration * (0.3 + 0.8 * k / max(args.kills - 1, 1))
                    time.sleep(delay)
                    label = f"{delay:.1f}"
                else:  # while it writes: once its temporary folder exists, plus 0.1 s steps
                    t0 = time.monotonic()
                    while proc.poll() is None and not any(
                            p.name.startswith(f".{out.name}.emg-") for p in work.iterdir()):
                        time.sleep(0.01)
                    time.sleep(0.1 * (k // 2))
                    label = f"w+{0.1 * (k // 2):.1f}"
                proc.send_signal(sig)
                proc.wait()
                now = snapshot(out)
                if now == old:
                    state = "previous run"
                elif set(now) == set(complete):
                    state = "new run"
                else:
                    state = "MIX"
                temps = [p.name for p in work.iterdir() if p.name.startswith(f".{out.name}.")]
                rerun = emg(out).wait()
                left = [p.name for p in work.iterdir() if p.name.startswith(f".{out.name}.")]
                after = ("clean" if not left and set(snapshot(out)) == set(complete)
                         else f"LEFT {len(left)}")
                counts[state] = counts.get(state, 0) + 1
                counts[after] = counts.get(after, 0) + 1
                print(f"{sig.name:>8} {label:>8} | {state:>14} {len(temps):>11} | "
                      f"{after:>13} (exit {rerun})")
        print("totals:", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        return 0 if "MIX" not in counts and not any(k.startswith("LEFT") for k in counts) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
