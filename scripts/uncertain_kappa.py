#!/usr/bin/env python3
"""Uncertain verification: the figures behind docs/economics.md §"Uncertain κ" and the README.

    .venv/bin/python scripts/uncertain_kappa.py precaution [--scenario FILE] [--steps N] [--plot PNG]
    .venv/bin/python scripts/uncertain_kappa.py convergence [--scenario FILE] [--seeds 11,12,13]
                                                             [--rounds N] [--tolerance EPS]

``precaution``: the precautionary demand against the dispersion of ``κ``. The
scenario's κ distribution is shrunk toward its mean
(:func:`market.kappa.with_dispersion`, scale 0 = certain at the mean, 1 = the
scenario's own) and at each scale both equilibria are solved; printed per
group: electricity bought over the T periods against the mean-κ equilibrium
(Nash and competitive), and how many agents are priced out only because of
the uncertainty. ``--plot`` also writes the figure (docs/img/).

``convergence``: the on-chain runs (eth-tester) of the scenario with its
settings but the given seeds, round limit and tolerance. Printed per seed:
the first round whose prices are within 1e-3, 1e-6 and 1e-9 of the
expected-utility Nash equilibrium (solved with the agents' measured
verification), and the final distances of the last round's prices and
allocations and of their averages over the second half of the run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT = ROOT / "scenarios" / "uncertain-kappa.toml"


def _groups(e: Any) -> list[tuple[str, np.ndarray]]:
    out, idx = [], 0
    for g in e.groups:
        m = np.zeros(e.N, dtype=bool)
        m[idx:idx + g.count] = True
        out.append((g.name, m))
        idx += g.count
    return out


def precaution_table(path: Path, steps: int, plot: str | None) -> int:
    from market.competitive import solve_competitive
    from market.kappa import with_dispersion
    from market.nash import solve_nash
    from market.precaution import precaution
    from market.scenario import load_scenario

    e = load_scenario(path).economy
    st = e.kappa_states
    if st is None:
        print(f"{path}: kappa is certain; nothing to disperse", file=sys.stderr)
        return 2
    mean_e = e.with_kappa_states(None)
    nash_m, comp_m = solve_nash(mean_e), solve_competitive(mean_e)
    groups = _groups(e)
    print(f"scenario {path.name}: kappa {st.form} with mean {st.mean:.4g} kWh/gas; "
          f"dispersion scale s: states kappa_mean + s (kappa_k - kappa_mean)")
    head = (f"{'s':>5} {'std kappa':>10} {'max kappa':>10} | "
            + " ".join(f"{g[:10] + ' N':>12}" for g, _ in groups) + " | "
            + " ".join(f"{g[:10] + ' C':>12}" for g, _ in groups)
            + f" | {'out N':>5} {'out C':>5} | {'s solve':>7}")
    print(head)
    print("-" * len(head))
    rows: list[dict[str, Any]] = []
    for k in range(steps + 1):
        s = k / steps
        t0 = time.perf_counter()
        if s == 0.0:
            nash, comp = nash_m, comp_m
            std, hi = 0.0, st.mean
        else:
            d = with_dispersion(st, s)
            ed = e.with_kappa_states(d)
            nash, comp = solve_nash(ed), solve_competitive(ed)
            std, hi = d.std, d.high
        dt = time.perf_counter() - t0
        pN, pC = precaution(nash, nash_m), precaution(comp, comp_m)
        relN = [pN.relative(m) for _, m in groups]
        relC = [pC.relative(m) for _, m in groups]
        outN = int(pN.priced_out_by_uncertainty.sum())
        outC = int(pC.priced_out_by_uncertainty.sum())
        rows.append({"s": s, "std": std, "relN": relN, "relC": relC, "outN": outN, "outC": outC})

        def pct(x: float) -> str:
            return f"{'-':>12}" if not math.isfinite(x) else f"{100 * x:>+11.4f}%"
        print(f"{s:>5.2f} {std:>10.3g} {hi:>10.4g} | " + " ".join(pct(x) for x in relN) + " | "
              + " ".join(pct(x) for x in relC) + f" | {outN:>5} {outC:>5} | {dt:>7.1f}",
              flush=True)
    print("entries: electricity bought over the T periods against the mean-kappa equilibrium "
          "(agents trading in both); out: agents priced out only by the uncertainty")
    if plot:
        _plot(plot, path.stem, st.mean, groups, rows)
        print(f"wrote {plot}", file=sys.stderr)
    return 0


def _plot(path: str, name: str, mean: float, groups: list[tuple[str, np.ndarray]],
          rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cv = np.array([r["std"] / mean for r in rows])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, (g, _) in enumerate(groups):
        for side, style in (("relN", "-o"), ("relC", ":s")):
            y = np.array([100 * r[side][k] for r in rows])
            ax.plot(cv, y, style, ms=3, label=f"{g} ({'Nash' if side == 'relN' else 'competitive'})")
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xlabel("coefficient of variation of kappa (std / mean)")
    ax.set_ylabel("electricity bought vs mean kappa (%)")
    ax.set_title(f"{name}: precautionary demand")
    ax.legend(fontsize=7)
    ax2.step(cv, [r["outN"] for r in rows], where="post", label="Nash")
    ax2.step(cv, [r["outC"] for r in rows], where="post", ls=":", label="competitive")
    ax2.set_xlabel("coefficient of variation of kappa (std / mean)")
    ax2.set_ylabel("agents priced out by the uncertainty alone")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def convergence_table(path: Path, seeds: list[int], rounds: int, tolerance: float) -> int:
    from market.nash import solve_nash
    from market.scenario import load_scenario

    from agents.simulation import Simulation

    sc = load_scenario(path)
    print(f"scenario {path.name}: on-chain runs (eth-tester), round limit {rounds}, "
          f"tolerance {tolerance:g}; distances to the expected-utility Nash equilibrium")
    head = (f"{'seed':>6} {'rounds':>6} | {'first <=1e-3':>12} {'<=1e-6':>7} {'<=1e-9':>7} | "
            f"{'p last':>9} {'x last':>9} | {'p avg 2nd half':>14} {'x avg 2nd half':>14} | "
            f"{'wall s':>7}")
    print(head)
    print("-" * len(head))
    for seed in seeds:
        settings = replace(sc.simulation, seed=seed, rounds=rounds, tolerance=tolerance)
        t0 = time.perf_counter()
        with Simulation(sc, settings) as sim:
            res = sim.run()
        wall = time.perf_counter() - t0
        eq = solve_nash(sc.economy, v=res.v_used)
        N, T = sc.economy.N, sc.economy.T
        n = len(res.log.rounds)
        # prices renormalised to each round's total bids; allocations are quantities
        P = np.array([r.prices for r in res.log.rounds])
        totals = np.array([sum(r.bids) for r in res.log.rounds])
        ref_p = eq.prices[None, :] * (totals / eq.bids.sum())[:, None]
        act = eq.prices > 0
        dp = np.max(np.abs(P[:, act] / ref_p[:, act] - 1.0), axis=1)
        index = {s.id: s.index for s in sc.economy.agents()}
        X = np.zeros((n, N, T + 1))
        for a in res.log.agents:
            X[a.round, index[a.agent]] = a.allocations
        xs = eq.allocations[:, 1:]
        scale_x = np.abs(xs).max()
        dx = np.max(np.abs(X[:, :, 1:] - xs[None]), axis=(1, 2)) / scale_x

        def first(eps: float) -> str:
            hit = np.flatnonzero(dp <= eps)
            return str(int(hit[0])) if hit.size else "-"
        h = n // 2
        avg_p = np.max(np.abs((P[h:, act] / ref_p[h:, act]).mean(axis=0) - 1.0))
        avg_x = np.max(np.abs(X[h:, :, 1:].mean(axis=0) - xs)) / scale_x
        print(f"{seed:>6} {n:>6} | {first(1e-3):>12} {first(1e-6):>7} {first(1e-9):>7} | "
              f"{dp[-1]:>9.2e} {dx[-1]:>9.2e} | {avg_p:>14.2e} {avg_x:>14.2e} | {wall:>7.1f}",
              flush=True)
    print("x: allocations x_i^t, t >= 1, max |x - x*| / max |x*|; avg: mean over rounds "
          "n/2 .. n-1 of the run")
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="uncertain_kappa.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    p1 = sub.add_parser("precaution", help="precautionary demand against the dispersion of kappa")
    p1.add_argument("--scenario", type=Path, default=DEFAULT)
    p1.add_argument("--steps", type=int, default=8, help="dispersion scales 0, 1/steps, ..., 1")
    p1.add_argument("--plot", metavar="PNG", help="also write the figure")
    p2 = sub.add_parser("convergence", help="on-chain convergence to the expected-utility Nash")
    p2.add_argument("--scenario", type=Path, default=DEFAULT)
    p2.add_argument("--seeds", default="11,12,13")
    p2.add_argument("--rounds", type=int, default=60)
    p2.add_argument("--tolerance", type=float, default=1e-9)
    args = ap.parse_args(argv)
    if args.what == "precaution":
        return precaution_table(args.scenario, max(args.steps, 1), args.plot)
    return convergence_table(args.scenario, [int(s) for s in args.seeds.split(",") if s],
                             args.rounds, args.tolerance)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
