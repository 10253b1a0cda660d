"""Nash solver benchmark: seconds, evaluations and worst residual against the number of agents.

``python scripts/bench.py solve [--json] [--sizes 100,1000,...] [--generic-max 30]``

Heterogeneous economies with ``T = 24`` periods and ``P = 10`` producers:
every standard agent has its own endowment and weights (one group per
agent), producers have their own solar-shaped productivity profiles. Beside
the aggregative solver, a generic approach — ``scipy.optimize.root`` over every
unknown of the first-order system (each agent's bids and multiplier, each
producer's offers) — is timed at small ``M`` and the ratio reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from scipy import optimize

from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Verification
from market.nash import solve_nash


def economy(M: int, T: int = 24, P: int = 10, seed: int = 0,  # type: ignore[no-untyped-def]
            slack: bool = False):
    rng = np.random.default_rng(seed)
    hours = np.arange(T)
    solar = np.maximum(np.sin(np.pi * (hours - 5) / 14), 0.05)
    std = tuple(StandardGroup(f"s{h}", 1, float(rng.uniform(5, 50)),
                              tuple(float(a) for a in rng.uniform(0.2, 1.0, T)), 0.0,
                              float(rng.uniform(10, 100))) for h in range(M))
    prod = tuple(ProducerGroup(f"p{j}", 1, tuple(float(x) for x in rng.uniform(20, 40) * (
        solar if j % 2 == 0 else np.ones(T))), float(rng.uniform(0.75, 0.95)),
        K=1e15 if slack else float(rng.uniform(0.5, 1.5) * 30 * M / P), alpha=tuple([1.0 / T] * T),
        bytecoins=100.0) for j in range(P))
    return Economy(T=T, standard=std, producers=prod,
                   verification=Verification(kappa=6.6e-8, schedule=(1.0 / T,) * T,
                                             gas_per_order=GasPerOrder()))


def generic_nash(e) -> tuple[float, float, bool]:  # type: ignore[no-untyped-def]
    """Nash by ``scipy.optimize.root`` over every unknown of the first-order system.

    Unknowns (logs): standard agents' bids ``b_h^1..T`` and ``λ_h``; producers'
    bids ``b_j^0..T``, offers ``q_j^1..T`` and ``λ_j``. Equations: (10), budget (2);
    (12), (15) with ``ν = λ (B^0)^2/(Ω R^0)``, input ``x^0 = Σφ`` (8), budget (3).
    Log utility, ``α^0 = 0``, slack capacity (the comparison economies use a
    huge ``K``). Started from the aggregative solution perturbed by 1% in logs,
    so it measures the generic approach near the answer (its best case).
    """
    ref = solve_nash(e)
    M, P, T, N = e.M, e.P, e.T, e.N
    arr = e.arrays
    Omega = arr.omega[:M].sum()
    r = e.schedule[None, :] * ref.verification[:, None]
    alpha = arr.alpha[:, 1:]
    theta, c = arr.theta[M:], arr.c[M:][:, None]
    sizes = [M * T, P * (T + 1), P * T, N]

    def unpack(z):  # type: ignore[no-untyped-def]
        parts = np.split(np.exp(z), np.cumsum(sizes)[:-1])
        return (parts[0].reshape(M, T), parts[1].reshape(P, T + 1), parts[2].reshape(P, T),
                parts[3])

    def F(z):  # type: ignore[no-untyped-def]
        bs, bp, q, lam = unpack(z)
        b = np.vstack((bs, bp[:, 1:]))
        B = b.sum(axis=0)
        Q = q.sum(axis=0)
        B0 = bp[:, 0].sum()
        R = B - b
        E = b * Q / B - r
        lam_t = alpha * Q * R / (B ** 2 * E)
        lam_t[M:] *= Q / (Q - q)
        foc = lam_t / lam[:, None] - 1.0
        bud_s = bs.sum(axis=1) / (B0 * arr.omega[:M] / Omega) - 1.0
        rev = (q * B / Q).sum(axis=1)
        bud_p = bp.sum(axis=1) / rev - 1.0
        Phi = ((q / theta) ** (1.0 / c)).sum(axis=1)
        inp = bp[:, 0] * Omega / B0 / Phi - 1.0
        R0 = B0 - bp[:, 0]
        nu = lam[M:] * B0 ** 2 / (Omega * R0)
        dphi = (1.0 / (c * theta)) * (q / theta) ** ((1.0 - c) / c)
        lhs = alpha[M:] / E[M:] * bp[:, 1:] / B + lam[M:, None] * B * (Q - q) / Q ** 2
        foc_q = lhs / (nu[:, None] * dphi) - 1.0
        return np.concatenate((foc.ravel(), bud_s, bud_p, inp, foc_q.ravel()))

    lam0 = np.ones(N)
    z0 = np.log(np.concatenate((ref.bids[:M, 1:].ravel(), ref.bids[M:].ravel(),
                                ref.offers[M:, 1:].ravel(), lam0)))
    # consistent multipliers at the reference point, then a 1% perturbation
    bs, bp, q, _ = unpack(z0)
    b = np.vstack((bs, bp[:, 1:]))
    B, Q = b.sum(axis=0), q.sum(axis=0)
    E = b * Q / B - r
    lt = alpha * Q * (B - b) / (B ** 2 * E)
    lt[M:] *= Q / (Q - q)
    z0[-N:] = np.log(lt.mean(axis=1))
    z0 = z0 + np.random.default_rng(1).normal(0, 0.01, z0.size)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        sol = optimize.root(F, z0, method="hybr", options={"xtol": 1e-13})
        res = float(np.max(np.abs(F(sol.x))))
    return time.perf_counter() - t0, res, bool(res <= 1e-9)


def run_one(M: int) -> dict[str, float]:
    e = economy(M)
    t0 = time.perf_counter()
    eq = solve_nash(e)
    dt = time.perf_counter() - t0
    return {"M": M, "T": e.T, "P": e.P, "seconds": dt, "evaluations": eq.iterations,
            "worst_residual": eq.max_residual, "converged": eq.converged,
            "priced_out": int(eq.priced_out.sum())}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench.py solve", description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--generic", default="20,50", help="M values for the generic comparison")
    args = ap.parse_args(argv)
    rows = []
    for M in (int(x) for x in args.sizes.split(",") if x):
        rows.append(run_one(M))
        if not args.json:
            r = rows[-1]
            print(f"M={r['M']:>7} T={r['T']} P={r['P']}: {r['seconds']:8.3f} s, "
                  f"{r['evaluations']:>4} evaluations, worst FOC residual {r['worst_residual']:.1e}, "
                  f"converged={r['converged']}", flush=True)
    generic = []
    for M in (int(x) for x in args.generic.split(",") if x):
        e = economy(M, slack=True)
        t0 = time.perf_counter()
        solve_nash(e)
        ours = time.perf_counter() - t0
        gen, res, ok = generic_nash(e)
        generic.append({"M": M, "aggregative_seconds": ours, "generic_seconds": gen,
                        "generic_residual": res, "generic_converged": ok, "ratio": gen / ours})
        if not args.json:
            g = generic[-1]
            print(f"generic scipy root over all {M * 25 + 10 * 50} unknowns, M={M} (slack K): "
                  f"{g['generic_seconds']:.2f} s (residual {g['generic_residual']:.1e}) vs "
                  f"{g['aggregative_seconds']:.3f} s aggregative: ratio {g['ratio']:.0f}x", flush=True)
    if args.json:
        json.dump({"nash": rows, "generic": generic}, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
