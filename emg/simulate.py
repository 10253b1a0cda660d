"""``emg simulate SCENARIO``: the scenario's AI agents trade on a fresh local chain.

Starts an in-process eth-tester chain (zero base fee), or connects to a
JSON-RPC node (``--backend URL``) or starts a managed Anvil (``--node anvil``,
stopped when the run ends, also on Ctrl-C and errors), deploys the bytecoin
token and the market, mints and registers as the scenario says, runs rounds
until the prices settle on the Nash equilibrium or the round limit, prints a
final table against ``emg solve``'s equilibria and, with ``--out DIR``,
writes ``summary.json``, ``rounds.csv``, ``agents.csv`` and PNG plots
(``docs/simulate.md``, ``docs/summary-schema.md``).

Exit code 0 when the run converged and its ledger checks hold, 1 otherwise.
Top-level imports stay light: web3 and the chain layer load inside :func:`run`.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from market.errors import ScenarioError
from market.model import SimulationSettings
from market.scenario import check_simulation_value, load_scenario

from agents.records import AgentStatus
from agents.strategies import STRATEGIES, STRATEGY_OPTIONS, check_settings, option_unused, resolve_strategy

if TYPE_CHECKING:  # pragma: no cover
    from market.model import Scenario

    from agents.records import SimulationResult


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg simulate``."""
    parser.add_argument("scenario", help="scenario TOML file (see docs/scenarios.md)")
    parser.add_argument("--out", metavar="DIR", help="write summary.json, rounds.csv, agents.csv "
                        "and PNG plots to DIR")
    parser.add_argument("--rounds", type=int, help="round limit (default: [simulation] rounds)")
    parser.add_argument("--seed", type=int, help="random seed (default: [simulation] seed)")
    parser.add_argument("--strategy", metavar="NAME",
                        help=f"every agent's strategy: {', '.join(STRATEGIES)}, or a class of yours "
                        f"as package.module:ClassName (default: [simulation] strategy; "
                        f"docs/strategies.md)")
    damped = ", ".join(e.name for e in STRATEGIES.values() if "damping" in e.options)
    parser.add_argument("--damping", type=float,
                        help=f"damping η in (0, 1], for the strategies that use it: {damped}")
    parser.add_argument("--tolerance", type=float,
                        help="stop when max_t |p/p_nash - 1| is at most this")
    parser.add_argument("--scale-money", type=float, metavar="K", default=None,
                        help="multiply every initial bytecoin balance by K (money neutrality)")
    chain = parser.add_mutually_exclusive_group()
    chain.add_argument("--backend", metavar="URL",
                       help="run on this Ethereum JSON-RPC node: http(s)://, ws(s):// or an .ipc path "
                       "(default: [simulation] backend, eth-tester; docs/chain.md, 'Real nodes')")
    chain.add_argument("--node", choices=["anvil"],
                       help="start the pinned Anvil (npm ci installs it) for this run and stop it after")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


#: the [simulation] fields the command line can override (option --<field>)
OVERRIDES = ("rounds", "seed", "strategy", "damping", "tolerance")


def _settings(args: argparse.Namespace, scenario: Scenario) -> SimulationSettings:
    """The scenario's ``[simulation]`` settings with the command-line options given.

    Each option is checked as the scenario loader checks its field, and a bad
    one is named as the option (``--damping: must be in (0, 1], got 2.0``).
    """
    overrides = {key: getattr(args, key) for key in OVERRIDES if getattr(args, key, None) is not None}
    for key, value in overrides.items():
        check_simulation_value(key, value, f"--{key}")
    if getattr(args, "backend", None) is not None:
        check_simulation_value("backend", args.backend, "--backend")
        if args.backend == "anvil":
            raise ScenarioError("--backend: a managed Anvil is --node anvil; --backend takes a URL or .ipc path")
    backend = args.node if getattr(args, "node", None) else getattr(args, "backend", None)
    # the strategy's name and options: --strategy/--damping when given here, else the TOML's
    field = "--strategy" if "strategy" in overrides else "simulation.strategy"
    entry = resolve_strategy(overrides.get("strategy", scenario.simulation.strategy), field)
    for option in STRATEGY_OPTIONS:
        if option in entry.options:
            continue
        if option in overrides:
            raise option_unused(entry, option, f"--{option}")
        if "strategy" in overrides:  # the scenario's value was meant for its own strategy
            overrides[option] = getattr(SimulationSettings(), option)
    settings = replace(scenario.simulation, **overrides)
    if backend is not None:
        settings = replace(settings, backend=backend)
    check_settings(settings)
    return settings


def final_table(result: SimulationResult) -> str:
    """The table printed at the end of a run (explained line by line in docs/simulate.md)."""
    e = result.scenario.economy
    log = result.log
    if not log.rounds:
        return "no round was played"
    last = log.rounds[-1]
    nash = result.nash_prices
    comp = result.competitive_prices
    lines = [
        f"scenario {result.scenario.name}: T={e.T}, {e.M} standard agents, {e.P} producers, "
        f"kappa={e.kappa:.3g} kWh/gas"
        + ("" if e.kappa_states is None else
           f" (mean of {len(e.kappa_states.values)} states, drawn each round after the orders)")
        + f", strategy={result.settings.strategy}, "
        f"seed={result.settings.seed}" + (", sealed bids" if result.settings.market == "sealed" else ""),
        f"last round {last.round}: prices in bytecoins per unit; equilibria renormalised to the "
        f"round's total bids {sum(last.bids):.6g}",
        "",
        f"{'post':>10} | {'on chain':>12} {'Nash':>12} {'|chain/Nash-1|':>14} | "
        f"{'competitive':>12} {'Nash/comp':>9} | {'quantity':>10} {'verif %':>8}",
    ]
    lines.append("-" * len(lines[-1]))
    for t in range(e.T + 1):
        p = last.prices[t]
        pn = float(nash[t]) if nash is not None else float("nan")
        pc = float(comp[t]) if comp is not None else float("nan")
        dev = abs(p / pn - 1.0) if pn > 0 else float("nan")
        qty = last.offers[t]
        ver = (100.0 * last.verification[t - 1] / last.delivered[t - 1]
               if t and last.delivered[t - 1] > 0 else float("nan"))
        label = "good (0)" if t == 0 else f"elec {t}"
        ver_s = f"{ver:>7.3g}%" if t else f"{'':>8}"
        lines.append(f"{label:>10} | {p:>12.6g} {pn:>12.6g} {dev:>14.2e} | {pc:>12.6g} "
                     f"{(pn / pc if pc > 0 else float('nan')):>9.4f} | {qty:>10.5g} {ver_s}")
    lines.append("")
    gas_std = [a.gas_used for a in log.agents[-e.N:] if a.kind == "standard" and a.gas_used]
    gas_prd = [a.gas_used for a in log.agents[-e.N:] if a.kind == "producer" and a.gas_used]
    v = np.asarray(result.v_used)
    lines += [
        f"converged: {result.converged} after {len(log.rounds)} rounds "
        f"(distance {result.distance:.2e}, tolerance {result.settings.tolerance:g})",
        f"gas: {result.gas_total:,} in {result.orders_total:,} orders and {len(log.rounds)} closes; "
        f"last order: standard {max(gas_std) if gas_std else 0:,}, "
        f"producer {max(gas_prd) if gas_prd else 0:,}",
        f"verification v = kappa*gasUsed measured: {v.min():.4g} .. {v.max():.4g} kWh per order"
        + ("" if e.kappa_states is None else _draws_note(log.rounds)),
        f"ledger: electricity {'ok' if result.ledger.electricity.ok else 'FAILED'}, "
        f"bytecoins {'ok' if result.ledger.bytecoins.ok else 'FAILED'} "
        f"(escrow dust {result.ledger.bytecoins.escrow_wei} wei, "
        f"{result.ledger.settlements_checked} settlements matched the forecast)",
        f"failures: {len(log.failures)}; priced out: "
        f"{sum(1 for a in log.agents[-e.N:] if a.status == AgentStatus.ABSTAINED)}",
    ]
    if result.solver_errors:
        lines.append(f"solver failed {len(result.solver_errors)} time(s): "
                     f"{result.solver_errors[-1]}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the simulation, print the final table, write the output folder."""
    from emg.output import write_run
    from agents.simulation import Simulation

    from emg.formats import check_out

    out = None if args.out is None else check_out(args.out)  # before the chain starts: one line, exit 2
    scenario = load_scenario(args.scenario)
    if args.scale_money is not None:
        k = args.scale_money
        if not (k > 0 and math.isfinite(k)):
            raise ScenarioError(f"--scale-money: must be > 0 and finite, got {k}")
        try:
            economy = scenario.economy.scale_bytecoins(k)
            economy.check_chain_bounds()
        except ScenarioError as exc:  # the scaled balances leave the chain's range
            raise ScenarioError(f"--scale-money: {k:g} makes {exc}") from None
        scenario = replace(scenario, economy=economy)
    settings = _settings(args, scenario)
    where = {"eth-tester": "a local chain", "anvil": "a managed Anvil"}.get(settings.backend, settings.backend)
    print(f"emg simulate: {scenario.name}: {scenario.economy.N} agents on {where}", file=sys.stderr)
    sim = Simulation(scenario, settings, progress=not args.quiet)
    try:
        if settings.backend != "eth-tester":
            info = sim.chain_info()
            print(f"emg simulate: node {info['node'] or '(unnamed)'}, hardfork {info['hardfork'] or '(not reported)'}"
                  + (f" at {sim.node.endpoint}" if sim.node is not None else ""), file=sys.stderr)
        for note in sim.parity_notes:
            print(f"emg simulate: no parity with eth-tester: {note}", file=sys.stderr)
        result = sim.run()
    finally:
        sim.close()
    print(final_table(result))
    print(f"wall time {result.wall_seconds:.1f} s for {len(result.log.rounds)} rounds "
          f"({result.orders_total / max(result.wall_seconds, 1e-9):.1f} orders/s)", file=sys.stderr)
    if out is not None:
        written = write_run(out, result)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0 if result.converged and result.ledger.ok else 1


def _draws_note(rounds: Any) -> str:
    """What the run drew when ``κ`` is uncertain (appended to the verification line)."""
    k = [r.kappa for r in rounds if r.kappa is not None]
    return (f" at the mean kappa; drawn kappa {min(k):.4g} .. {max(k):.4g} kWh/gas "
            f"(mean {sum(k) / len(k):.4g} over {len(k)} rounds)") if k else ""
