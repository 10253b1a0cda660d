#!/usr/bin/env python3
"""Regenerate the README's shock plots in ``docs/img/`` and print the figures behind them.

    .venv/bin/python scripts/shock_figures.py [--no-plots]

Runs ``emg simulate``'s loop on the shipped shock scenarios (issue 10):

* ``shock-neutral``: the authority issues the whole supply again in proportion to
  balances (k = 2) -> ``docs/img/shock-neutral.png`` (prices and one agent's allocations;
  the run would stop in the event's round, already within tolerance, so the plots play
  it for all its rounds, tolerance 1e-300);
* ``shock-lump-sum``: the same total to the homes only -> ``docs/img/shock-lump-sum.png``
  (prices and the homes' electricity, against shock-neutral);
* ``shock-pos``: kappa from proof of work to proof of stake -> ``docs/img/shock-pos.png``
  (agents trading and the verification share).

It prints, per event, the measures ``summary.json`` carries (rounds to recover,
largest overshoot, price level against the quantity of money) and the numbers
behind each README claim. Same seeds, same bytes: the PNGs are deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IMG = ROOT / "docs" / "img"
NAMES = ("shock-neutral", "shock-lump-sum", "shock-pos")


def simulate(name: str, play_all: bool = False) -> Any:
    """The shipped scenario's run; ``play_all``: every one of its rounds (tolerance 1e-300),
    so the plot shows the path well past the event, not only until the run would stop."""
    from dataclasses import replace

    from market.scenario import load_scenario

    from agents.simulation import Simulation

    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    if play_all:
        sc = replace(sc, simulation=replace(sc.simulation, tolerance=1e-300))
    print(f"  running {name}{' (every round)' if play_all else ''} ...", file=sys.stderr)
    with Simulation(sc) as sim:
        return sim.run()


def rounds_of(res: Any) -> dict[int, Any]:
    return {r.round: r for r in res.log.rounds}


def alloc(res: Any, r: int) -> np.ndarray:
    return np.array([a.allocations for a in res.log.agents if a.round == r])


def vshare(rr: Any) -> float:
    return sum(rr.verification) / sum(rr.delivered) if sum(rr.delivered) > 0 else 0.0


def event_table(runs: dict[str, Any]) -> None:
    print("| scenario | event | round | rounds to recover | largest overshoot (post) | "
          "money ratio | price level / predicted | rounds played |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in runs.items():
        for rep in res.events:
            rec, ev = rep.recovery, rep.applied.event
            k = int(np.argmax(rec.overshoot))
            print(f"| {name} | {ev.kind}: {ev.details()} | {ev.round} | {rec.rounds_to_recover} | "
                  f"{100 * rec.overshoot[k]:.3g}% (p{k}) | {rec.money_ratio:g} | "
                  f"{rec.price_level_ratio:.9f} | {len(res.log.rounds)} |")


def claims(runs: dict[str, Any]) -> None:
    neu, lump, pos = (runs[n] for n in NAMES)
    r = neu.scenario.events[0].round
    rn = rounds_of(neu)
    ratio = np.array(rn[r].prices) / np.array(rn[r - 1].prices)
    dalloc = np.max(np.abs(alloc(neu, r) - alloc(neu, r - 1)) / np.maximum(np.abs(alloc(neu, r - 1)), 1e-300))
    print(f"\nneutral issue (k = 2) before round {r}: price ratios round {r}/{r - 1} = "
          f"{', '.join(f'{x:.9f}' for x in ratio)}; largest relative change of an allocation {dalloc:.2e}")
    pl, pn = np.array(lump.log.rounds[-1].prices), np.array(neu.log.rounds[-1].prices)
    da = np.max(np.abs(lump.final_allocations - neu.final_allocations) / np.maximum(neu.final_allocations, 1e-9))
    homes = [a.index for a in lump.scenario.economy.agents() if a.group == "home"]
    rl = lump.scenario.events[0].round
    e_first = alloc(lump, rl)[homes, 1:].sum()
    e_final = lump.final_allocations[homes, 1:].sum()
    rec = lump.events[0].recovery
    print(f"lump-sum vs proportional: final prices differ by at most "
          f"{np.max(np.abs(pl / pn - 1)):.2e}, allocations by {da:.2e} (relative); the homes buy "
          f"{e_first:.4f} kWh in round {rl} against {e_final:.4f} at the stationary state "
          f"(+{100 * (e_first / e_final - 1):.1f}%); back under the tolerance after "
          f"{rec.rounds_to_recover} rounds (proportional: {neu.events[0].recovery.rounds_to_recover})")
    bound = [x.round for x in lump.log.rounds if x.round >= rl and (x.constrained or 0) > 0]
    print(f"lump sum: agents cash or input constrained in {len(bound)} rounds after the event "
          f"(rounds {bound[0] if bound else '-'}..{bound[-1] if bound else '-'}; at most "
          f"{100 * max((x.constrained or 0) for x in lump.log.rounds if x.round >= rl):.0f}% of the agents), "
          f"{100 * (lump.log.rounds[-1].constrained or 0):.0f}% in the last round")
    rp = pos.scenario.events[0].round
    rr = rounds_of(pos)
    trading = {x.round: sum(1 for a in pos.log.agents if a.round == x.round and a.status == "ok")
               for x in pos.log.rounds}
    print(f"kappa pow -> pos before round {rp}: agents trading {trading[rp - 1]} -> {trading[rp]} of "
          f"{pos.scenario.economy.N}; verification share {100 * vshare(rr[rp - 1]):.3g}% -> "
          f"{100 * vshare(rr[rp]):.3g}% (last round {100 * vshare(pos.log.rounds[-1]):.3g}%)")


def plots(runs: dict[str, Any]) -> None:
    from emg.output import colors, mark_events, new_figure, save_png

    lump, pos = runs["shock-lump-sum"], runs["shock-pos"]
    neu = simulate("shock-neutral", play_all=True)  # plotted over all its rounds
    # neutral: prices (left axis, log) and an agent's allocations
    fig, ax = new_figure()
    xs = [r.round for r in neu.log.rounds]
    cmap = colors(neu.scenario.economy.T + 1)
    for t in range(neu.scenario.economy.T + 1):
        ax.semilogy(xs, [r.prices[t] for r in neu.log.rounds], color=cmap[t], lw=1.4,
                    label="good (post 0)" if t == 0 else f"electricity t={t}")
    mark_events(ax, [e.round for e in neu.scenario.events])
    ax2 = ax.twinx()
    for t in range(1, neu.scenario.economy.T + 1):
        ax2.plot(xs, [a.allocations[t] for a in neu.log.agents if a.agent == "home-0"], color=cmap[t],
                 ls=":", lw=1.2)
    ax2.set_ylabel("home-0's electricity x^t (dotted)")
    ax.set_xlabel("round")
    ax.set_ylabel("price (bytecoins per unit, log)")
    ax.set_title("shock-neutral: supply x2 in proportion: prices x2, allocations stay", fontsize=10)
    ax.legend(fontsize=8, loc="center left")
    save_png(fig, IMG / "shock-neutral.png")
    # lump-sum vs proportional: p1 and the homes' electricity
    fig, ax = new_figure()
    for res, label, color in ((neu, "in proportion", "tab:blue"), (lump, "lump sum to the homes", "tab:red")):
        homes = [a.id for a in res.scenario.economy.agents() if a.group == "home"]
        xs = [r.round for r in res.log.rounds]
        ax.plot(xs, [r.prices[1] for r in res.log.rounds], color=color, lw=1.4, label=f"p1, {label}")
        elec = [sum(sum(a.allocations[1:]) for a in res.log.agents if a.round == x and a.agent in homes)
                for x in xs]
        ax.plot(xs, [10 * e for e in elec], color=color, ls=":", lw=1.3, label=f"10 x homes' electricity, {label}")
    mark_events(ax, [e.round for e in lump.scenario.events])
    ax.set_xlabel("round")
    ax.set_ylabel("bytecoins per kWh / kWh x 10")
    ax.set_title("the same 300 bytecoins issued two ways: the same end, another path")
    ax.legend(fontsize=7)
    save_png(fig, IMG / "shock-lump-sum.png")
    # pos: agents trading and verification share
    fig, ax = new_figure()
    xs = [r.round for r in pos.log.rounds]
    ax.plot(xs, [100 * vshare(r) for r in pos.log.rounds], color="tab:red", lw=1.4,
            label="verification share of electricity (%)")
    trading = [sum(1 for a in pos.log.agents if a.round == x and a.status == "ok") for x in xs]
    ax.step(xs, trading, where="mid", color="tab:green", lw=1.4, label="agents trading")
    mark_events(ax, [e.round for e in pos.scenario.events])
    ax.set_xlabel("round")
    ax.set_ylim(bottom=0)
    ax.set_title("shock-pos: kappa from proof of work to proof of stake before round "
                 f"{pos.scenario.events[0].round}")
    ax.legend(fontsize=8)
    save_png(fig, IMG / "shock-pos.png")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-plots", action="store_true", help="print the figures only")
    args = p.parse_args(argv)
    runs = {name: simulate(name) for name in NAMES}
    event_table(runs)
    claims(runs)
    if not args.no_plots:
        plots(runs)
        print(f"\nwrote {', '.join(str((IMG / f'{n}.png').relative_to(ROOT)) for n in NAMES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
