"""``emg solve SCENARIO``: Nash and competitive equilibria side by side.

Also the JSON builders the simulation reuses: :func:`agents_json` (one entry
per agent, the format of ``emg solve --json``; schema in ``docs/solve-json.md``)
and :func:`equilibrium_json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from market.competitive import solve_competitive
from market.errors import SolverError
from market.io import atomic_folder
from market.model import Economy, FloatArray, Scenario
from market.nash import solve_nash
from market.posts import dphi
from market.precaution import Precaution, precaution
from market.results import Equilibrium
from market.scenario import load_scenario

from emg.formats import SOLVE_FILES, check_out, csv_text, json_num

SCHEMA_VERSION = 1

#: Exit code when a solver found no equilibrium (the same as ``emg.cli.EXIT_NO_EQUILIBRIUM``).
EXIT_NO_EQUILIBRIUM = 3


def _list(a: FloatArray) -> list[float | None]:
    return [json_num(x) for x in np.asarray(a, dtype=float).ravel()]


def agent_params(economy: Economy, i: int) -> dict[str, Any]:
    """Every parameter the model uses for agent ``i`` (the JSON ``params`` object)."""
    a = economy.agents()[i]
    p: dict[str, Any] = {"alpha": list(a.alpha), "alpha0": a.alpha0, "utility": a.utility.kind,
                         "bytecoins": a.bytecoins}
    if a.utility.kind == "ces":
        p["sigma"] = a.utility.sigma
    if a.kind == "standard":
        p["omega"] = a.omega
    else:
        p.update(theta=list(a.theta), c=a.c, K=a.K, rho=a.rho, stock=a.stock)
    return p


def agents_json(economy: Economy, eq: Equilibrium) -> list[dict[str, Any]]:
    """Per-agent JSON objects of an equilibrium or of any evaluated profile.

    To describe a profile that is not a solver's output (the simulation's last
    round), build the :class:`Equilibrium` with
    :func:`market.profile.evaluate_profile` first.
    """
    out = []
    for a in economy.agents():
        i = a.index
        out.append({
            "id": a.id,
            "kind": a.kind,
            "group": a.group,
            "params": agent_params(economy, i),
            "verification_energy": json_num(eq.verification[i]),
            "bids": _list(eq.bids[i]),
            "offers": _list(eq.offers[i]),
            "allocation": _list(eq.allocations[i]),
            "consumption": _list(eq.consumption[i]),
            "input": json_num(eq.inputs[i]),
            "capacity": json_num(eq.capacity[i]),
            "utility": json_num(eq.utility[i]),
            "priced_out": bool(eq.priced_out[i]),
            "residual": json_num(eq.residuals[i]),
        })
    return out


def markups(economy: Economy, eq: Equilibrium) -> FloatArray:
    """Markup over marginal cost per period, ``p^t / (p^0 · \\bar{φ'}^t)``.

    ``\\bar{φ'}^t`` is the output-weighted average marginal input of the
    producers, ``Σ_j q_j^t φ_j'(q_j^t) / Q^t`` (in good per kWh), so the markup
    is the price of electricity over its marginal cost in the same unit.
    Returns ``nan`` for a period nobody produces in.
    """
    arr = economy.arrays
    q = eq.offers[:, 1:]
    prod = arr.producer[:, None] & (q > 0)
    theta = np.where(arr.producer[:, None], arr.theta, 1.0)
    c = arr.c[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = np.where(prod, dphi(q, theta, c), 0.0)
        Q = q.sum(axis=0)
        mc = (q * mi).sum(axis=0) / Q
        return eq.prices[1:] / (eq.prices[0] * mc)


def cournot_markups(economy: Economy, eq: Equilibrium) -> FloatArray:
    """Markup over the producers' own marginal cost, ``p^t / \bar{ψ φ'}^t``.

    A producer bidding for its input moves the good's price: its marginal
    cost of the good is ``ψ_j = p^0/(1 − y_j^0)``, ``y_j^0 = b_j^0/B^0`` its share
    of the bids on the good (``docs/economics.md`` §2), not ``p^0``. At
    ``ψ`` the textbook Cournot rule holds (``P/(P − 1)`` for ``P`` identical
    producers with unit-elastic demand). A price taker (the competitive
    benchmark) has ``ψ = p^0``, so there the figure equals :func:`markups`.
    Output-weighted over producers like :func:`markups`; ``nan`` for a period
    nobody produces in.
    """
    arr = economy.arrays
    q = eq.offers[:, 1:]
    prod = arr.producer[:, None] & (q > 0)
    theta = np.where(arr.producer[:, None], arr.theta, 1.0)
    c = arr.c[:, None]
    B0 = eq.bids[:, 0].sum()
    y0 = np.where(arr.producer, eq.bids[:, 0] / B0, 0.0) if eq.kind == "nash" else np.zeros(economy.N)
    psi = eq.prices[0] / (1.0 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = np.where(prod, psi[:, None] * dphi(q, theta, c), 0.0)
        mc = (q * mi).sum(axis=0) / q.sum(axis=0)
        return eq.prices[1:] / mc


def equilibrium_json(economy: Economy, eq: Equilibrium) -> dict[str, Any]:
    """The JSON object of one equilibrium (``nash`` or ``competitive`` in the summary)."""
    Q = eq.offers[:, 1:].sum(axis=0)
    return {
        "prices": _list(eq.prices),
        "relative_prices": _list(eq.relative_prices),
        "quantities": _list(Q),
        "markups": _list(markups(economy, eq)),
        "cournot_markups": _list(cournot_markups(economy, eq)),
        "verification_share": _list(eq.verification_share),
        "converged": bool(eq.converged),
        "iterations": int(eq.iterations),
        "max_residual": json_num(eq.max_residual),
        "message": eq.message,
        "method": eq.method,
        "priced_out": [a.id for a in economy.agents() if eq.priced_out[a.index]],
        "agents": agents_json(economy, eq),
    }


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    e = scenario.economy
    return {
        "name": scenario.name,
        "description": scenario.description,
        "path": scenario.path,
        "T": e.T, "M": e.M, "P": e.P, "N": e.N,
        "kappa": e.kappa,
        "kappa_preset": e.verification.kappa_name,
        "schedule": _list(e.schedule),
        "gas_per_order": {"standard": e.gas_per_order.standard,
                          "producer": e.gas_per_order.producer},
        "bytecoin_supply": e.total_bytecoins,
    }


def summary_json(scenario: Scenario, nash: Equilibrium, comp: Equilibrium | None,
                 comp_error: str | None = None,
                 uncertain: Uncertainty | None = None) -> dict[str, Any]:
    """The whole ``emg solve --json`` document (schema: ``docs/solve-json.md``).

    ``comp`` is ``None`` when the competitive benchmark does not exist for
    the economy; ``comp_error`` then says why (``competitive_error``).
    ``uncertain`` (κ uncertain only) adds ``uncertain_kappa``.
    """
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "scenario": scenario_json(scenario),
        "nash": equilibrium_json(scenario.economy, nash),
        "competitive": None if comp is None else equilibrium_json(scenario.economy, comp),
        "price_ratio": (None if comp is None
                        else _list(nash.relative_prices / comp.relative_prices)),
    }
    if comp is None:
        doc["competitive_error"] = comp_error
    if uncertain is not None:
        doc["uncertain_kappa"] = uncertainty_json(scenario.economy, uncertain)
    return doc


# ----------------------------------------------------------------------------- uncertain κ
@dataclass(frozen=True)
class Uncertainty:
    """Uncertain ``κ``: the equilibria at the mean ``κ`` and the precautionary demand against them."""

    nash_mean: Equilibrium
    comp_mean: Equilibrium | None
    nash: Precaution
    comp: Precaution | None


def solve_uncertainty(scenario: Scenario, nash: Equilibrium,
                      comp: Equilibrium | None) -> Uncertainty | None:
    """The mean-``κ`` equilibria and the precautionary demand (None when ``κ`` is certain)."""
    e = scenario.economy
    if e.kappa_states is None:
        return None
    mean_e = e.with_kappa_states(None)
    nash_mean = solve_nash(mean_e)
    comp_mean: Equilibrium | None = None
    if comp is not None:
        try:
            comp_mean = solve_competitive(mean_e)
        except SolverError:
            comp_mean = None
    return Uncertainty(nash_mean, comp_mean, precaution(nash, nash_mean),
                       None if comp is None or comp_mean is None else precaution(comp, comp_mean))


def _group_slices(economy: Economy) -> list[tuple[str, str, slice]]:
    out, idx = [], 0
    for g in economy.groups:
        out.append((g.name, "standard" if idx < economy.M else "producer", slice(idx, idx + g.count)))
        idx += g.count
    return out


def uncertainty_json(economy: Economy, u: Uncertainty) -> dict[str, Any]:
    """The ``uncertain_kappa`` object of ``emg solve --json`` (docs/solve-json.md)."""
    st = economy.kappa_states
    assert st is not None
    agents = economy.agents()

    def side(p: Precaution | None, mean: Equilibrium | None) -> dict[str, Any] | None:
        if p is None or mean is None:
            return None
        groups = {}
        for name, _, sl in _group_slices(economy):
            m = np.zeros(economy.N, dtype=bool)
            m[sl] = True
            groups[name] = {"electricity": json_num(p.electricity[sl].sum()),
                            "electricity_mean_kappa": json_num(p.electricity_mean[sl].sum()),
                            "precautionary": json_num(p.relative(m))}
        return {"prices_mean_kappa": _list(mean.prices),
                "relative_prices_mean_kappa": _list(mean.relative_prices),
                "precautionary": json_num(p.relative()),
                "extra_electricity": _list(p.extra),
                "priced_out_by_uncertainty": [a.id for a in agents
                                              if p.priced_out_by_uncertainty[a.index]],
                "groups": groups}

    return {"form": st.form, "nodes": st.nodes, "values": _list(np.asarray(st.values)),
            "probs": _list(np.asarray(st.probs)), "mean": st.mean, "std": st.std,
            "high": st.high, "nash": side(u.nash, u.nash_mean), "competitive": side(u.comp, u.comp_mean)}


def format_uncertainty(scenario: Scenario, u: Uncertainty) -> str:
    """The lines ``emg solve`` adds when ``κ`` is uncertain: the states and the precautionary demand."""
    e = scenario.economy
    st = e.kappa_states
    assert st is not None
    how = f"{st.form}, {st.nodes} Gauss-Lobatto nodes" if st.nodes else st.form
    lines = ["", f"uncertain kappa: {len(st.values)} states ({how}), mean {st.mean:.4g}, "
             f"std {st.std:.4g}, range {min(st.values):.4g} .. {st.high:.4g} kWh/gas; "
             "agents maximise expected utility",
             "precautionary demand: electricity bought over the T periods against the "
             "equilibrium at the mean kappa"]
    head = (f"{'group':>14} {'kind':>9} {'n':>5} | {'kWh Nash':>11} {'extra N':>9} | "
            f"{'kWh comp':>11} {'extra C':>9} | {'out only by uncertainty N/C':>27}")
    lines += [head, "-" * len(head)]
    for name, kind, sl in _group_slices(e):
        m = np.zeros(e.N, dtype=bool)
        m[sl] = True
        n = sl.stop - sl.start
        xN = u.nash.electricity[sl].mean()
        rN = u.nash.relative(m)
        outN = int(u.nash.priced_out_by_uncertainty[sl].sum())
        if u.comp is not None:
            xC, rC = u.comp.electricity[sl].mean(), u.comp.relative(m)
            outC = str(int(u.comp.priced_out_by_uncertainty[sl].sum()))
            comp_cols = f"{xC:>11.5g} {_pct(rC):>9}"
        else:
            outC, comp_cols = "-", f"{'-':>11} {'-':>9}"
        lines.append(f"{name:>14} {kind:>9} {n:>5} | {xN:>11.5g} {_pct(rN):>9} | {comp_cols} | "
                     f"{f'{outN}/{outC}':>27}")
    total = f"all agents: Nash {_pct(u.nash.relative())}"
    if u.comp is not None:
        total += f", competitive {_pct(u.comp.relative())}"
    lines.append(total + " (kWh per agent; extra = against the mean kappa, agents trading in both)")
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:+.3g}%"


def solve_scenario(scenario: Scenario) -> tuple[Equilibrium, Equilibrium]:
    """Both equilibria of a scenario, each solved on its own (either failing raises).

    The competitive solve starts from its own guess, not from the Nash prices
    (:func:`market.competitive.solve_competitive` accepts ``start_prices``, but
    this command does not pass them). ``emg solve`` itself uses
    :func:`solve_with_benchmark`, which keeps the Nash side when only the
    benchmark fails.
    """
    return solve_nash(scenario.economy), solve_competitive(scenario.economy)


def solve_with_benchmark(scenario: Scenario) -> tuple[Equilibrium, Equilibrium | None, str | None]:
    """Both equilibria, the competitive one optional: ``(nash, comp, why_comp_is_missing)``.

    A Nash failure raises :class:`market.errors.SolverError`; a competitive
    one does not: the benchmark comes back as ``None`` with the reason.
    """
    nash = solve_nash(scenario.economy)
    try:
        comp: Equilibrium | None = solve_competitive(scenario.economy)
        error = None
    except SolverError as exc:
        comp, error = None, str(exc)
    return nash, comp, error


def _scenario_line(scenario: Scenario) -> str:
    """The first line of ``emg solve``'s table: the economy in brief."""
    e = scenario.economy
    return (f"scenario {scenario.name}: T={e.T}, M={e.M} standard agents, P={e.P} producers, "
            f"kappa={e.kappa:.3g} kWh/gas"
            + (f" ({e.verification.kappa_name})" if e.verification.kappa_name else ""))


def format_table(scenario: Scenario, nash: Equilibrium, comp: Equilibrium | None,
                 comp_error: str | None = None) -> str:
    """The side-by-side text table ``emg solve`` prints (the Nash side alone without a benchmark)."""
    if comp is None:
        return _nash_table(scenario, nash, comp_error)
    e = scenario.economy
    lines = [_scenario_line(scenario),
             "prices renormalised to p^0 = 1 (units of the good per kWh); "
             f"bytecoin level: p^0 = {nash.prices[0]:.6g} (Nash), {comp.prices[0]:.6g} (competitive)",
             ""]
    head = (f"{'period':>6} | {'p Nash':>11} {'p comp':>11} {'ratio':>7} | {'Q Nash':>11} "
            f"{'Q comp':>11} | {'markup N':>8} {'markup C':>8} | {'verif N':>8} {'verif C':>8}")
    lines += [head, "-" * len(head)]
    mN, mC = markups(e, nash), markups(e, comp)
    vN, vC = nash.verification_share, comp.verification_share
    QN, QC = nash.offers[:, 1:].sum(axis=0), comp.offers[:, 1:].sum(axis=0)
    for t in range(1, e.T + 1):
        k = t - 1
        lines.append(
            f"{t:>6} | {nash.relative_prices[t]:>11.5g} {comp.relative_prices[t]:>11.5g} "
            f"{nash.relative_prices[t] / comp.relative_prices[t]:>7.4f} | {QN[k]:>11.5g} "
            f"{QC[k]:>11.5g} | {mN[k]:>8.4f} {mC[k]:>8.4f} | {100 * vN[k]:>7.3g}% {100 * vC[k]:>7.3g}%")
    lines.append("")
    lines.append(f"{'group':>14} {'kind':>9} {'n':>5} | {'E/period Nash':>13} {'E/period comp':>13} "
                 f"| {'priced out N':>12} {'priced out C':>12}")
    idx = 0
    for g in e.groups:
        kind = "standard" if idx < e.M else "producer"
        sl = slice(idx, idx + g.count)
        eN = nash.consumption[sl, 1:].mean()
        eC = comp.consumption[sl, 1:].mean()
        lines.append(f"{g.name:>14} {kind:>9} {g.count:>5} | {eN:>13.5g} {eC:>13.5g} | "
                     f"{int(nash.priced_out[sl].sum()):>12} {int(comp.priced_out[sl].sum()):>12}")
        idx += g.count
    lines.append("")
    for name, eq in (("Nash", nash), ("competitive", comp)):
        lines.append(_status_line(name, eq))
    return "\n".join(lines)


def _status_line(name: str, eq: Equilibrium) -> str:
    line = (f"{name}: converged={eq.converged}, iterations={eq.iterations}, "
            f"max FOC residual={eq.max_residual:.2e}")
    if eq.message.startswith("found by"):
        line += f" ({eq.message})"
    return line


def _nash_table(scenario: Scenario, nash: Equilibrium, comp_error: str | None) -> str:
    """The Nash columns alone, and why the competitive benchmark is missing."""
    e = scenario.economy
    lines = [_scenario_line(scenario),
             "prices renormalised to p^0 = 1 (units of the good per kWh); "
             f"bytecoin level: p^0 = {nash.prices[0]:.6g} (Nash)",
             f"competitive benchmark: not available: {comp_error}",
             ""]
    head = f"{'period':>6} | {'p Nash':>11} | {'Q Nash':>11} | {'markup N':>8} | {'verif N':>8}"
    lines += [head, "-" * len(head)]
    mN, vN, QN = markups(e, nash), nash.verification_share, nash.offers[:, 1:].sum(axis=0)
    for t in range(1, e.T + 1):
        k = t - 1
        lines.append(f"{t:>6} | {nash.relative_prices[t]:>11.5g} | {QN[k]:>11.5g} | "
                     f"{mN[k]:>8.4f} | {100 * vN[k]:>7.3g}%")
    lines.append("")
    lines.append(f"{'group':>14} {'kind':>9} {'n':>5} | {'E/period Nash':>13} | {'priced out N':>12}")
    idx = 0
    for g in e.groups:
        kind = "standard" if idx < e.M else "producer"
        sl = slice(idx, idx + g.count)
        lines.append(f"{g.name:>14} {kind:>9} {g.count:>5} | {nash.consumption[sl, 1:].mean():>13.5g} | "
                     f"{int(nash.priced_out[sl].sum()):>12}")
        idx += g.count
    lines.append("")
    lines.append(_status_line("Nash", nash))
    return "\n".join(lines)


def write_outputs(out_dir: Path, scenario: Scenario, nash: Equilibrium, comp: Equilibrium | None,
                  comp_error: str | None = None, uncertain: Uncertainty | None = None, *,
                  sync: bool = True) -> list[Path]:
    """Write ``summary.json``, ``prices.csv`` and ``agents.csv`` as the folder ``out_dir``.

    The folder is replaced as a whole (:func:`market.io.atomic_folder`), so an
    interrupted write leaves the previous folder, never a mix. Without a competitive benchmark
    (``comp`` is ``None``) its CSV columns are empty and ``agents.csv`` holds
    the Nash rows only. ``sync=False`` skips the flush to disk (a study's
    points, which a rerun checks and recomputes: :mod:`emg.study.points`).
    """
    e = scenario.economy
    files: dict[str, str] = {}
    files["summary.json"] = json.dumps(summary_json(scenario, nash, comp, comp_error, uncertain),
                                       indent=2) + "\n"
    mN = markups(e, nash)
    rows = []
    for t in range(e.T + 1):
        nash_part = [nash.prices[t], nash.relative_prices[t], nash.offers[:, t].sum(),
                     mN[t - 1] if t else "", nash.verification_share[t - 1] if t else ""]
        if comp is None:
            comp_part: list[Any] = [""] * 5
        else:
            mC = markups(e, comp)
            comp_part = [comp.prices[t], comp.relative_prices[t], comp.offers[:, t].sum(),
                         mC[t - 1] if t else "", comp.verification_share[t - 1] if t else ""]
        rows.append([t, nash_part[0], comp_part[0], nash_part[1], comp_part[1], nash_part[2],
                     comp_part[2], nash_part[3], comp_part[3], nash_part[4], comp_part[4]])
    files["prices.csv"] = csv_text(
        ["post", "price_nash", "price_competitive", "relative_price_nash",
         "relative_price_competitive", "quantity_nash", "quantity_competitive", "markup_nash",
         "markup_competitive", "verification_share_nash", "verification_share_competitive"], rows)
    arows = []
    for kind, eq in (("nash", nash), ("competitive", comp)):
        if eq is None:
            continue
        for a in e.agents():
            i = a.index
            for t in range(e.T + 1):
                arows.append([kind, a.id, a.kind, t, eq.bids[i, t], eq.offers[i, t],
                              eq.allocations[i, t], eq.consumption[i, t], eq.utility[i],
                              int(eq.priced_out[i])])
    files["agents.csv"] = csv_text(["equilibrium", "id", "kind", "post", "bid", "offer",
                                     "allocation", "consumption", "utility", "priced_out"], arows)
    assert tuple(files) == SOLVE_FILES
    with atomic_folder(out_dir, sync=sync) as tmp:
        for name, text in files.items():
            (tmp / name).write_bytes(text.encode("utf-8"))  # tmp is private until swapped in
    return [out_dir / name for name in SOLVE_FILES]


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg solve``."""
    parser.add_argument("scenario", help="scenario TOML file (see docs/scenarios.md)")
    parser.add_argument("--json", action="store_true", help="print the JSON summary instead of the table")
    parser.add_argument("--out", metavar="DIR", help="also write summary.json, prices.csv, agents.csv to DIR")


def run(args: argparse.Namespace) -> int:
    """Solve the scenario and print (and optionally write) the comparison."""
    out = None if args.out is None else check_out(args.out)  # before any work: one line, exit 2
    scenario = load_scenario(args.scenario)
    nash, comp, comp_error = solve_with_benchmark(scenario)
    uncertain = solve_uncertainty(scenario, nash, comp)
    if args.json:
        json.dump(summary_json(scenario, nash, comp, comp_error, uncertain), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(scenario, nash, comp, comp_error)
              + ("" if uncertain is None else format_uncertainty(scenario, uncertain)))
    if out is not None:
        written = write_outputs(out, scenario, nash, comp, comp_error, uncertain)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if comp is None:
        # the Nash side is printed; the missing benchmark is a solver failure (exit 3)
        print(f"emg solve: no equilibrium: {comp_error}", file=sys.stderr)
        return EXIT_NO_EQUILIBRIUM
    return 0 if (nash.converged and comp.converged) else 1
