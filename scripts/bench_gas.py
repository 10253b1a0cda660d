"""``scripts/bench.py gas``: gas per external function, and the steady-state order.

Usage: ``python scripts/bench.py gas [--json] [--write-snapshot] [--T 1 24] [--c 1.0 0.8] [--no-sealed]``

Prints min/median/max ``gasUsed`` (from receipts) per external function for
each (T, c) case, then the headline: the gas of a steady-state order (a round
after the first, settling the previous one), standard agent and producer.
The sealed-bid market's cases (``SealedMarket``, T = 1 and 24, c = 1; keys
``T=…,c=…,sealed``) follow, where a steady-state order is a commit plus a
reveal; ``--no-sealed`` skips them.
``--write-snapshot`` writes ``.gas-snapshot.json`` (compared by
tests/chain/test_gas_snapshot.py: any change of gas fails the test).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from market.io import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO / ".gas-snapshot.json"
TARGETS = {1: 70_000, 24: 180_000}


def snapshot_data(reports: list) -> dict:  # list[GasReport]
    """What `.gas-snapshot.json` holds: per case, the headline and the function medians."""
    out = {}
    for r in reports:
        key = f"T={r.T},c={r.c / 10**18:g}" + (",sealed" if r.sealed else "")
        out[key] = {
            "steady_order_standard": r.steady_standard,
            "steady_order_producer": r.steady_producer,
            "functions": {k: v["median"] for k, v in r.table().items()},
        }
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py gas", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--write-snapshot", action="store_true", help=f"write {SNAPSHOT.name}")
    parser.add_argument("--T", type=int, nargs="+", default=None, help="periods (default: the headline cases)")
    parser.add_argument("--c", type=float, nargs="+", default=None, help="producers' exponent c")
    parser.add_argument("--no-sealed", action="store_true", help="skip the sealed-bid market's cases")
    args = parser.parse_args(argv)

    from agents.chain.gas import HEADLINE_CASES, SEALED_CASES, WAD, measure

    if args.T is None and args.c is None:
        cases = list(HEADLINE_CASES)
        sealed_cases = [] if args.no_sealed else list(SEALED_CASES)
    else:
        cases = [(t, int(round(c * WAD))) for t in (args.T or [1, 24]) for c in (args.c or [1.0])]
        sealed_cases = [] if args.no_sealed else cases
    reports = [measure(T, c) for T, c in cases] + [measure(T, c, sealed=True) for T, c in sealed_cases]
    data = snapshot_data(reports)
    if args.write_snapshot:
        atomic_write_text(SNAPSHOT, json.dumps(data, indent=2, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps({k: {**v, "table": r.table()} for (k, v), r in zip(data.items(), reports)}, indent=2))
        return 0
    for r in reports:
        print(f"\nT = {r.T}, c = {r.c / WAD:g}" + (", sealed bids (SealedMarket)" if r.sealed else ""))
        print(f"  {'function':<36} {'min':>10} {'median':>10} {'max':>10} {'n':>4}")
        for name, row in r.table().items():
            print(f"  {name:<36} {row['min']:>10,} {row['median']:>10,} {row['max']:>10,} {row['n']:>4}")
    print("\nHeadline: steady-state order gas (a round after the first, settling the previous one)")
    print(f"  {'case':<21} {'standard':>10} {'producer':>10} {'target':>10}")
    for r in reports:
        target = None if r.sealed else TARGETS.get(r.T)
        print(f"  T={r.T:<3} c={r.c / WAD:<5g}{' sealed' if r.sealed else '       '} {r.steady_standard:>10,} "
              f"{r.steady_producer:>10,} {(f'{target:,}' if target else '-'):>10}")
    plain = {(r.T, r.c): r for r in reports if not r.sealed}
    pairs = [(plain[(r.T, r.c)], r) for r in reports if r.sealed and (r.T, r.c) in plain]
    if pairs:
        print("\nSealed bids: steady-state gas per agent and round (commit + reveal) over the plain order")
        print(f"  {'case':<14} {'standard':>18} {'producer':>18}")
        for p, q in pairs:
            print(f"  T={q.T:<3} c={q.c / WAD:<5g} "
                  f"{q.steady_standard - p.steady_standard:>+10,} ({q.steady_standard / p.steady_standard:.2f}x) "
                  f"{q.steady_producer - p.steady_producer:>+10,} ({q.steady_producer / p.steady_producer:.2f}x)")
    if args.write_snapshot:
        print(f"\nwrote {SNAPSHOT.relative_to(REPO)}")
    return 0
