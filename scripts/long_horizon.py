#!/usr/bin/env python3
"""Long horizons: rounds the best-response simulation needs to reach the Nash equilibrium.

``python scripts/long_horizon.py [--T 48,168] [--kappa pos] [--damping 0.5] [--rounds 80]``

The economy is ``scenarios/default.toml`` with its three-period profiles
(``alpha``, ``theta``) repeated to ``T`` periods (``T`` a multiple of 3;
``T = 168`` is a week of hours). Each ``T`` is run on the local chain
(eth-tester) with the default strategy; the table gives the rounds played,
the final distance to the Nash equilibrium, whether it converged
(tolerance 1e-6) and the wall time. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def tiled_default(T: int, kappa: str | float | None = None) -> dict[str, Any]:
    """``scenarios/default.toml`` with every per-period profile repeated to ``T`` periods."""
    doc = tomllib.loads((ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8"))
    base = int(doc["T"])
    if T < base or T % base:
        raise ValueError(f"{T} is not a positive multiple of {base}")
    doc["T"] = T
    doc["name"] = f"default-T{T}"
    for table in (*doc["standard"], *doc["producer"]):
        for key in ("alpha", "theta"):
            if isinstance(table.get(key), list):
                table[key] = table[key] * (T // base)
    if kappa is not None:
        doc["verification"]["kappa"] = kappa
    return doc


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="long_horizon")
    ap.add_argument("--T", default="48,168", help="comma-separated horizons (multiples of 3)")
    ap.add_argument("--kappa", default=None,
                    help="verification kWh/gas or a name (pos, pow); default: the scenario's (pos)")
    ap.add_argument("--damping", type=float, default=0.5)
    ap.add_argument("--rounds", type=int, default=80)
    args = ap.parse_args(argv)
    from market.errors import EmgError
    from market.scenario import scenario_from_dict

    from agents.simulation import Simulation

    try:
        Ts = [int(x) for x in args.T.split(",")]
        kappa: str | float | None = None if args.kappa is None else (
            args.kappa if args.kappa.isalpha() else float(args.kappa))
        scenarios = [scenario_from_dict(tiled_default(T, kappa)) for T in Ts]
    except (ValueError, EmgError) as exc:
        print(f"long_horizon: --T/--kappa: {exc}", file=sys.stderr)
        return 2
    print(f"{'T':>5} {'damping':>8} {'kappa':>8} {'rounds':>7} {'distance':>10} {'converged':>10} "
          f"{'wall s':>8}")
    for T, sc in zip(Ts, scenarios):
        settings = replace(sc.simulation, rounds=args.rounds, damping=args.damping)
        t0 = time.perf_counter()
        print(f"long_horizon: T = {T} ...", file=sys.stderr, flush=True)
        res = Simulation(sc, settings).run()
        print(f"{T:>5} {args.damping:>8g} {sc.economy.verification.kappa:>8.2g} "
              f"{len(res.log.rounds):>7} {res.distance:>10.3g} {str(res.converged):>10} "
              f"{time.perf_counter() - t0:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
