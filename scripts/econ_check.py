#!/usr/bin/env python3
"""Success rate of ``solve_nash`` and ``solve_competitive`` over random economies.

``python scripts/econ_check.py [--n 1000] [--seed 0] [--check-every 1] [--time-limit S] [--json]``

Economies from :func:`market.samples.random_economy` (``c`` in [0.5, 2],
binding and slack capacities, verification from free to pricing agents out).
For each: Nash (converged / not converged / failed with a stated reason)
and, for converged Nash results, the independent check
:func:`market.verify.is_nash` with global starts (every ``--check-every``-th
economy; gain ≤ 1e-9 passes); the competitive benchmark likewise. Prints
a table of outcomes and of the failures' reasons (their first clause), and
progress on stderr. A converged result that fails ``is_nash`` is a *wrong
answer* and is counted apart: there must be none.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time

import numpy as np

from market.competitive import solve_competitive
from market.errors import EmgError
from market.nash import solve_nash
from market.samples import random_economy
from market.verify import is_nash

GLOBAL = (1e-3, 0.1, 10.0)


def reason(exc: Exception) -> str:
    """The first clause of a failure's message, numbers removed (to group them)."""
    text = str(exc).split(":", 2)
    head = ":".join(text[:2]) if len(text) > 2 else str(exc)
    head = re.sub(r"\([^)]*\)", "(…)", head)
    return re.sub(r"[-+]?\d[\d.e+-]*", "#", head)[:110]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="econ_check")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-every", type=int, default=1,
                    help="run is_nash on every k-th converged Nash result")
    ap.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="stop drawing economies after S seconds (the table then says how many were done)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    nash: collections.Counter[str] = collections.Counter()
    comp: collections.Counter[str] = collections.Counter()
    reasons: dict[str, collections.Counter[str]] = {"nash": collections.Counter(),
                                                     "competitive": collections.Counter()}
    wrong: list[str] = []
    times: list[float] = []
    t_start = time.perf_counter()
    done = 0
    for k in range(args.n):
        if args.time_limit is not None and time.perf_counter() - t_start > args.time_limit:
            print(f"econ_check: time limit reached after {k} economies", file=sys.stderr)
            break
        done = k + 1
        e = random_economy(rng)
        t0 = time.perf_counter()
        try:
            eq = solve_nash(e)
            if not eq.converged:
                nash["not converged"] += 1
            else:
                nash["converged (" + eq.method + ")"] += 1
                if k % args.check_every == 0:
                    chk = is_nash(e, eq.bids, eq.offers, v=eq.verification,
                                  participants=~eq.priced_out, starts=2, scales=GLOBAL)
                    nash["  checked by is_nash"] += 1
                    if not chk.max_gain <= 1e-9:
                        wrong.append(f"economy {k}: gain {chk.max_gain:.3g} (agent {chk.worst_agent})")
        except EmgError as exc:
            nash["failed with a reason"] += 1
            reasons["nash"][reason(exc)] += 1
        except Exception as exc:  # a bug: counted apart, the run goes on
            nash["CRASHED (a bug)"] += 1
            reasons["nash"]["CRASH " + type(exc).__name__ + ": " + str(exc)[:80]] += 1
        times.append(time.perf_counter() - t0)
        try:
            ce = solve_competitive(e)
            comp["converged" if ce.converged else "not converged"] += 1
        except EmgError as exc:
            comp["failed with a reason"] += 1
            reasons["competitive"][reason(exc)] += 1
        except Exception as exc:  # a bug: counted apart, the run goes on
            comp["CRASHED (a bug)"] += 1
            reasons["competitive"]["CRASH " + type(exc).__name__ + ": " + str(exc)[:80]] += 1
        if (k + 1) % 5 == 0:
            print(f"econ_check: {k + 1}/{args.n} economies, {time.perf_counter() - t_start:.0f} s, "
                  f"{len(wrong)} wrong", file=sys.stderr, flush=True)
    n = max(done, 1)
    if args.json:
        json.dump({"n": n, "nash": nash, "competitive": comp, "reasons": reasons, "wrong": wrong,
                   "nash_seconds_median": float(np.median(times)),
                   "nash_seconds_max": float(np.max(times))}, sys.stdout, indent=2)
        print()
    else:
        print(f"{done} random economies (seed {args.seed}, of {args.n} asked); Nash solve median "
              f"{np.median(times):.2f} s, max {np.max(times):.1f} s")
        for name, counts in (("solve_nash", nash), ("solve_competitive", comp)):
            print(f"\n{name}")
            for key, cnt in sorted(counts.items()):
                print(f"  {key:<34} {cnt:>6}  {100 * cnt / n:6.1f}%")
        for name, counts in reasons.items():
            if counts:
                print(f"\n{name} failure reasons")
                for key, cnt in counts.most_common():
                    print(f"  {cnt:>5}  {key}")
        print(f"\nwrong answers reported as converged: {len(wrong)}")
        for w in wrong:
            print(f"  {w}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
