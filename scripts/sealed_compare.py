#!/usr/bin/env python3
"""Sealed bids against the plain market: what commit–reveal costs, and whether it changes the outcome.

Usage: ``python scripts/sealed_compare.py [SCENARIO ...] [--rounds N] [--no-gas]``
(default scenarios: ``scenarios/default.toml scenarios/cia-pow.toml``).

Prints two tables.

1. Gas per agent and round in the fixed gas economy of ``scripts/bench.py gas``
   (``agents.chain.gas.measure``, c = 1): the plain steady-state order against a
   sealed commit + reveal, at T = 1 and T = 24, and therefore the verification
   electricity ``v = κ · gas`` per agent and round at each shipped ``κ`` preset.
2. Each scenario simulated twice with the same seed, plain and sealed
   (``simulation.market``): converged, rounds, the last round's prices, their
   distance to the Nash equilibrium solved here with the run's final ``v``
   (independently of the run's own reference), the largest relative gap of the
   sealed run's prices and allocations to the plain run's, the gas per order
   (median of the last round) and the verification share of the electricity
   delivered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIOS = ("scenarios/default.toml", "scenarios/cia-pow.toml")


def gas_table() -> None:
    from agents.chain.gas import WAD, measure
    from market.presets import KAPPA_PRESETS

    print("Gas per agent and round (fixed gas economy of `bench.py gas`, c = 1): plain order vs "
          "sealed commit + reveal")
    print(f"  {'T':>3} {'agent':<9} {'plain':>9} {'sealed':>9} {'extra':>9} {'ratio':>6}")
    rows = []
    for T in (1, 24):
        plain, sealed = measure(T, WAD), measure(T, WAD, sealed=True)
        for kind, p, s in (("standard", plain.steady_standard, sealed.steady_standard),
                           ("producer", plain.steady_producer, sealed.steady_producer)):
            print(f"  {T:>3} {kind:<9} {p:>9,} {s:>9,} {s - p:>+9,} {s / p:>6.2f}")
            rows.append((T, kind, p, s))
    presets = [k for k, v in KAPPA_PRESETS.items() if v.kwh_per_gas > 0]
    print("\nVerification electricity per agent and round, v = κ·gas (kWh): plain / sealed")
    print(f"  {'T':>3} {'agent':<9} " + " ".join(f"{k + ' (' + format(KAPPA_PRESETS[k].kwh_per_gas, 'g') + ')':>24}"
                                             for k in presets))
    for T, kind, p, s in rows:
        cells = []
        for k in presets:
            kappa = KAPPA_PRESETS[k].kwh_per_gas
            cells.append(f"{kappa * p:>11.4g} / {kappa * s:<10.4g}")
        print(f"  {T:>3} {kind:<9} " + " ".join(f"{c:>24}" for c in cells))


def _last_gas(res, kind: str) -> int:  # type: ignore[no-untyped-def]
    last = res.log.rounds[-1].round
    gas = [a.gas_used for a in res.log.agents if a.round == last and a.kind == kind and a.gas_used]
    return int(statistics.median(gas)) if gas else 0


def simulate_table(paths: list[str], rounds: int | None) -> None:
    from market.errors import EmgError
    from market.nash import solve_nash
    from market.scenario import load_scenario

    from agents.simulation import Simulation

    print("\nPlain vs sealed market, same scenario and seed (emg simulate's loop)")
    header = (f"  {'scenario':<16} {'market':<7} {'conv':<5} {'rounds':>6} {'prices (last round)':<44} "
              f"{'to Nash':>9} {'|Δp/p|':>9} {'|Δx|/x':>9} {'gas std':>9} {'gas prd':>9} {'verif %':>9} {'secs':>6}")
    print(header)
    for path in paths:
        sc = load_scenario(REPO / path if not Path(path).is_absolute() else Path(path))
        out = {}
        for market in ("plain", "sealed"):
            settings = replace(sc.simulation, market=market, **({"rounds": rounds} if rounds else {}))
            t0 = time.perf_counter()
            with Simulation(sc, settings) as sim:
                res = sim.run()
            out[market] = (res, time.perf_counter() - t0)
            print(f"  [{sc.name} {market}: {len(res.log.rounds)} rounds in {out[market][1]:.0f} s]",
                  file=sys.stderr)
        plain = out["plain"][0]
        p_plain = np.array(plain.log.rounds[-1].prices)
        x_plain = np.asarray(plain.final_allocations)
        for market in ("plain", "sealed"):
            res, secs = out[market]
            last = res.log.rounds[-1]
            p = np.array(last.prices)
            x = np.asarray(res.final_allocations)
            dp = float(np.max(np.abs(p / np.where(p_plain > 0, p_plain, 1.0) - 1.0) * (p_plain > 0)))
            scale = np.where(np.abs(x_plain) > 0, np.abs(x_plain), 1.0)
            dx = float(np.max(np.abs(x - x_plain) / scale))
            delivered = sum(last.delivered)
            verif = 100.0 * sum(last.verification) / delivered if delivered > 0 else 0.0
            prices = " ".join(f"{v:.6g}" for v in last.prices)
            try:
                eq = solve_nash(sc.economy, v=res.v_used)
                ref = eq.prices * (sum(last.bids) / eq.bids.sum())
                to_nash = float(np.max(np.abs(p / ref - 1.0)))
            except EmgError:
                to_nash = float("nan")
            print(f"  {sc.name[:16]:<16} {market:<7} {str(res.converged):<5} {len(res.log.rounds):>6} "
                  f"{prices[:44]:<44} {to_nash:>9.2e} {dp:>9.2e} {dx:>9.2e} {_last_gas(res, 'standard'):>9,} "
                  f"{_last_gas(res, 'producer'):>9,} {verif:>9.4g} {secs:>6.0f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sealed_compare.py", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(DEFAULT_SCENARIOS), help="scenario files")
    parser.add_argument("--rounds", type=int, default=None, help="round limit (default: the scenario's)")
    parser.add_argument("--no-gas", action="store_true", help="skip the gas table")
    args = parser.parse_args(argv)
    if not args.no_gas:
        gas_table()
    if args.scenarios:
        simulate_table(args.scenarios, args.rounds)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
