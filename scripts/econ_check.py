#!/usr/bin/env python3
"""Success rate of ``solve_nash`` and ``solve_competitive`` over random economies.

``python scripts/econ_check.py [--n 1000] [--seed 0] [--check-every 1] [--time-limit S] [--timeout S] [--json]``
``python scripts/econ_check.py --merge A.json B.json ...`` (one table from chunks run apart)

Economies from :func:`market.samples.random_economy` (``c`` in [0.5, 2],
binding and slack capacities, verification from free to pricing agents out).
For each: Nash (converged / not converged / failed with a stated reason)
and, for converged Nash results, the independent check
:func:`market.verify.is_nash` with global starts (every ``--check-every``-th
economy; gain ≤ 1e-9 passes); the competitive benchmark likewise. Prints
a table of outcomes and of the failures' reasons (their first clause), and
progress on stderr. A converged result that fails ``is_nash`` is a *wrong
answer* and is counted apart: there must be none.

A run of 1,000 takes hours (most economies have a producer with ``c > 1``,
whose solve may fall back to the best-response iteration): run it in chunks,
``--seed 1 --n 25 --json > c1.json`` and so on (each seed draws its own
economies), and ``--merge`` the chunks' JSON into one table. The table
gives the median time of each phase (the Nash solve, the ``is_nash`` check,
the competitive solve) so that the slow one shows. ``--timeout S`` gives
up a phase after ``S`` seconds (counted as "gave up", or for the check as
"timed out (unchecked)": never as a pass), so that one economy on which a
solver crawls for an hour does not hold up the run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from market.competitive import solve_competitive
from market.errors import EmgError
from market.nash import solve_nash
from market.samples import random_economy
from market.verify import is_nash

GLOBAL = (1e-3, 0.1, 10.0)


def reason(exc: Exception) -> str:
    """A failure's message with its numbers, parentheses and agent names blanked (to group them)."""
    head = re.sub(r"\([^()]*\)", "(…)", str(exc))
    head = re.sub(r"\b[\w.]+-\d+\b", "<agent>", head)
    return re.sub(r"[-+]?\d[\d.e+-]*", "#", head)[:150]


class Timeout(BaseException):
    """A phase ran past ``--timeout`` (a BaseException: the solvers' own handlers let it through)."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Timeout` in the block after ``seconds`` of wall time (SIGALRM; None: no limit)."""
    if seconds is None:
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise Timeout

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, old)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="econ_check")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-every", type=int, default=1,
                    help="run is_nash on every k-th converged Nash result")
    ap.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="stop drawing economies after S seconds (the table then says how many were done)")
    ap.add_argument("--timeout", type=float, default=None, metavar="S",
                    help="give up a phase (Nash solve, is_nash check, competitive solve) after S "
                         "seconds; counted as its own outcome, never as a pass")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="print one table from the --json outputs of chunks run apart")
    args = ap.parse_args(argv)
    if args.merge:
        merged = merge(args.merge)
        print_table(merged)
        return 1 if merged["wrong"] else 0
    rng = np.random.default_rng(args.seed)
    nash: collections.Counter[str] = collections.Counter()
    comp: collections.Counter[str] = collections.Counter()
    reasons: dict[str, collections.Counter[str]] = {"nash": collections.Counter(),
                                                     "competitive": collections.Counter()}
    wrong: list[str] = []
    times: list[float] = []
    check_times: list[float] = []
    comp_times: list[float] = []
    t_start = time.perf_counter()
    done = 0
    checked = 0
    for k in range(args.n):
        if args.time_limit is not None and time.perf_counter() - t_start > args.time_limit:
            print(f"econ_check: time limit reached after {k} economies", file=sys.stderr)
            break
        done = k + 1
        e = random_economy(rng)
        t0 = time.perf_counter()
        try:
            with deadline(args.timeout):
                eq = solve_nash(e)
            if not eq.converged:
                nash["not converged"] += 1
                reasons["nash"]["(not converged) " + reason(Exception(eq.message))] += 1
            else:
                nash["converged (" + eq.method + ")"] += 1
                if k % args.check_every == 0:
                    t_chk = time.perf_counter()
                    try:
                        with deadline(args.timeout):
                            chk = is_nash(e, eq.bids, eq.offers, v=eq.verification,
                                          participants=~eq.priced_out, starts=2, scales=GLOBAL)
                    except Timeout:
                        nash["  is_nash timed out (unchecked)"] += 1
                    else:
                        nash["  checked by is_nash"] += 1
                        if not chk.max_gain <= 1e-9:
                            wrong.append(f"economy {k}: gain {chk.max_gain:.3g} (agent {chk.worst_agent})")
                    check_times.append(time.perf_counter() - t_chk)
        except Timeout:
            nash[f"gave up after {args.timeout:g} s"] += 1
        except EmgError as exc:
            nash["failed with a reason"] += 1
            reasons["nash"][reason(exc)] += 1
        except Exception as exc:  # a bug: counted apart, the run goes on
            nash["CRASHED (a bug)"] += 1
            reasons["nash"]["CRASH " + type(exc).__name__ + ": " + str(exc)[:80]] += 1
        times.append(time.perf_counter() - t0 - (check_times[-1] if len(check_times) > checked else 0.0))
        checked = len(check_times)
        t_comp = time.perf_counter()
        try:
            with deadline(args.timeout):
                ce = solve_competitive(e)
            comp["converged" if ce.converged else "not converged"] += 1
            if not ce.converged:
                reasons["competitive"]["(not converged) " + reason(Exception(ce.message))] += 1
        except Timeout:
            comp[f"gave up after {args.timeout:g} s"] += 1
        except EmgError as exc:
            comp["failed with a reason"] += 1
            reasons["competitive"][reason(exc)] += 1
        except Exception as exc:  # a bug: counted apart, the run goes on
            comp["CRASHED (a bug)"] += 1
            reasons["competitive"]["CRASH " + type(exc).__name__ + ": " + str(exc)[:80]] += 1
        comp_times.append(time.perf_counter() - t_comp)
        if (k + 1) % 5 == 0:
            print(f"econ_check: {k + 1}/{args.n} economies, {time.perf_counter() - t_start:.0f} s, "
                  f"{len(wrong)} wrong", file=sys.stderr, flush=True)
    result = {"n": done, "seeds": [args.seed], "nash": dict(nash), "competitive": dict(comp),
              "reasons": {k: dict(v) for k, v in reasons.items()}, "wrong": wrong,
              "seconds": {"nash": times, "check": check_times, "competitive": comp_times},
              "wall": time.perf_counter() - t_start}
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print_table(result)
    return 1 if wrong else 0


def merge(paths: list[str]) -> dict[str, Any]:
    """The chunks' results (``--json`` outputs) as one."""
    out: dict[str, Any] = {"n": 0, "seeds": [], "nash": collections.Counter(),
                           "competitive": collections.Counter(),
                           "reasons": {"nash": collections.Counter(), "competitive": collections.Counter()},
                           "wrong": [], "seconds": {"nash": [], "check": [], "competitive": []},
                           "wall": 0.0}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        out["n"] += r["n"]
        out["seeds"] += r["seeds"]
        out["wall"] += r["wall"]
        for key in ("nash", "competitive"):
            out[key].update(r[key])
            out["reasons"][key].update(r["reasons"][key])
        out["wrong"] += [f"seed {r['seeds'][0]}, {w}" for w in r["wrong"]]
        for key in out["seconds"]:
            out["seconds"][key] += r["seconds"][key]
    return out


def print_table(r: dict[str, Any]) -> None:
    """The outcome table of one run or of merged chunks."""
    n = max(r["n"], 1)
    seeds = r["seeds"]
    where = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds {min(seeds)}..{max(seeds)}"
    print(f"{r['n']} random economies ({where}); {r['wall'] / 3600:.2f} hours of wall time, "
          f"{3600 * r['n'] / max(r['wall'], 1e-9):.0f} economies per hour")
    print("median / max seconds: " + ", ".join(
        f"{key} {np.median(v):.2f} / {np.max(v):.1f}" for key, v in r["seconds"].items() if v))
    for name, key in (("solve_nash", "nash"), ("solve_competitive", "competitive")):
        print(f"\n{name}")
        for what, cnt in sorted(r[key].items()):
            print(f"  {what:<34} {cnt:>6}  {100 * cnt / n:6.1f}%")
    for name, counts in r["reasons"].items():
        if counts:
            print(f"\n{name} failure reasons")
            for what, cnt in collections.Counter(counts).most_common():
                print(f"  {cnt:>5}  {what}")
    print(f"\nwrong answers reported as converged: {len(r['wrong'])}")
    for w in r["wrong"]:
        print(f"  {w}")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
