#!/usr/bin/env python3
"""Regenerate the README's simulation plots in ``docs/img/`` (and print the figures).

    .venv/bin/python scripts/make_readme_plots.py [--only NAME ...]

Runs ``emg simulate``'s loop on the shipped scenarios (default, cia-zero-balance,
cia-money at x1 and x2, cia-pow, cia-pos) and writes:

* ``default-prices.png``, ``default-distance.png``: price paths against the
  Nash (dashed) and competitive (dotted) levels; the distance by round;
* ``cia-zero-balance.png``: the newcomer (0 bytecoins at genesis) against a
  datacenter: what each holds and what each bids, round by round;
* ``cia-money.png``: prices with every initial balance doubled, against x1;
* ``cia-verification.png``: the verification share under proof of work and
  proof of stake.

Each run's convergence figures are printed as a table for docs/simulate.md.
Same seeds, same bytes: the PNGs are deterministic.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IMG = ROOT / "docs" / "img"


def simulate(name: str, scale: float = 1.0) -> Any:
    from market.scenario import load_scenario

    from agents.simulation import Simulation

    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    if scale != 1.0:
        sc = replace(sc, economy=sc.economy.scale_bytecoins(scale))
    print(f"  running {name} x{scale:g} ...", file=sys.stderr)
    return Simulation(sc).run()


def row(label: str, r: Any) -> str:
    po = int((~r.participants).sum())
    share = sum(r.log.rounds[-1].verification) / max(sum(r.log.rounds[-1].delivered), 1e-300)
    return (f"| {label} | {r.scenario.economy.N} | {r.scenario.economy.T} | {len(r.log.rounds)} | "
            f"{r.distance:.2e} | {r.converged} | {po} | {100 * share:.3g}% | {r.gas_total:,} | "
            f"{'ok' if r.ledger.ok else 'FAILED'} |")


def main(argv: list[str]) -> int:
    from emg.output import colors, new_figure, plot_distance, plot_prices, save_png

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="*", default=None,
                   help="subset of: default zero money verification others")
    a = p.parse_args(argv)
    todo = set(a.only or ["default", "zero", "money", "verification", "others"])
    IMG.mkdir(parents=True, exist_ok=True)
    rows = []
    if "default" in todo:
        r = simulate("default")
        plot_prices(IMG / "default-prices.png", r.log.rounds, list(r.nash_prices),
                    list(r.competitive_prices) if r.competitive_prices is not None else None,
                    title="default: on-chain prices; dashed Nash, dotted competitive")
        plot_distance(IMG / "default-distance.png", r.log.rounds, r.settings.tolerance,
                      title="default: max_t |p/p_Nash - 1| by round")
        rows.append(row("default", r))
    if "zero" in todo:
        r = simulate("cia-zero-balance")
        fig, ax = new_figure()
        for agent, col in (("newcomer-0", "tab:red"), ("datacenter-0", "tab:blue")):
            rows_a = [x for x in r.log.agents if x.agent == agent]
            genesis = next(s.bytecoins for s in r.scenario.economy.agents() if s.id == agent)
            ax.plot([-1] + [x.round for x in rows_a], [genesis] + [x.balance for x in rows_a],
                    color=col, lw=1.2, ls=":", label=f"{agent}: bytecoins held (-1 = genesis)")
            ax.plot([x.round for x in rows_a], [sum(x.bids) for x in rows_a], color=col, lw=1.8,
                    marker="o", ms=3, label=f"{agent}: bids placed")
        ax.set_xlim(-1.5, 12.5)
        ax.set_xlabel("round")
        ax.set_ylabel("bytecoins")
        ax.set_title("cia-zero-balance: no bytecoins, no bids; it sells first, then buys",
                     fontsize=10)
        ax.legend(fontsize=8)
        save_png(fig, IMG / "cia-zero-balance.png")
        rows.append(row("cia-zero-balance", r))
    if "money" in todo:
        r1 = simulate("cia-money")
        r2 = simulate("cia-money", 2.0)
        fig, ax = new_figure()
        T = r1.scenario.economy.T
        cm = colors(T + 1)
        for t in range(T + 1):
            lab = "good" if t == 0 else f"elec t={t}"
            ax.plot([x.round for x in r1.log.rounds],
                    [x.prices[t] if x.prices[t] > 0 else math.nan for x in r1.log.rounds],
                    color=cm[t], lw=1.4, label=f"{lab}, x1")
            ax.plot([x.round for x in r2.log.rounds],
                    [x.prices[t] if x.prices[t] > 0 else math.nan for x in r2.log.rounds],
                    color=cm[t], lw=1.4, ls="--", label=f"{lab}, x2 balances")
        ax.set_yscale("log")
        ax.set_xlabel("round")
        ax.set_ylabel("price (bytecoins per unit, log scale)")
        worst = max(abs(b.prices[t] / (2 * c.prices[t]) - 1) for c, b in zip(r1.log.rounds,
                                                                             r2.log.rounds)
                    for t in range(T + 1) if c.prices[t] > 0)
        ax.set_title(f"cia-money: doubling every balance doubles every price "
                     f"(max |p2/2p1 - 1| = {worst:.1e})", fontsize=10)
        ax.legend(fontsize=7, ncol=2)
        save_png(fig, IMG / "cia-money.png")
        rows.append(row("cia-money x1", r1))
        rows.append(row("cia-money x2", r2))
    if "verification" in todo:
        rw = simulate("cia-pow")
        rs = simulate("cia-pos")
        fig, ax = new_figure()
        for r, lab, col in ((rw, "proof of work (kappa 2.4e-3 kWh/gas)", "tab:red"),
                            (rs, "proof of stake (kappa 6.6e-8 kWh/gas)", "tab:green")):
            ys = [100 * sum(x.verification) / sum(x.delivered) if sum(x.delivered) > 0 else 0.0
                  for x in r.log.rounds]
            po = int((~r.participants).sum())
            ax.plot([x.round for x in r.log.rounds], ys, color=col, lw=1.6,
                    label=f"{lab}: {po} of {r.scenario.economy.N} agents priced out")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_xlabel("round")
        ax.set_ylabel("verification share of electricity (%)")
        ax.set_title("cia-pow vs cia-pos: electricity spent verifying payments")
        ax.legend(fontsize=8)
        save_png(fig, IMG / "cia-verification.png")
        rows.append(row("cia-pow", rw))
        rows.append(row("cia-pos", rs))
    if "others" in todo:  # every other shipped scenario: convergence figures only
        known = {"default", "cia-zero-balance", "cia-money", "cia-pow", "cia-pos"}
        for path in sorted((ROOT / "scenarios").glob("*.toml")):
            if path.stem not in known:
                rows.append(row(path.stem, simulate(path.stem)))
    print("| scenario | agents | T | rounds | final distance | converged | priced out | "
          "verification share | gas | ledger |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for line in rows:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
