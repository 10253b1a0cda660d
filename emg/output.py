"""The output folder of ``emg simulate --out DIR``: ``summary.json``,
``rounds.csv``, ``agents.csv`` and PNG plots.

The folder is written atomically (:func:`market.io.atomic_folder`: the whole
set goes into a temporary sibling folder swapped into place when complete),
so an interrupted run leaves the previous run's folder whole, never a mix of
old and new files. The contents
are deterministic: no wall-clock time, host or temporary path goes into any
file, floats are written with :func:`repr` (shortest round-trip), and the PNG
metadata is fixed, so the same scenario and seed give byte-identical files.
The columns and the JSON schema are documented in ``docs/summary-schema.md``.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from market.events import event_record
from market.io import atomic_folder, atomic_write_bytes, atomic_write_text
from market.model import Economy

from agents.chain.fixedpoint import WAD

from agents.records import AgentRound, AgentStatus, Ledger, RoundRecord, SimulationResult
from emg.formats import SIMULATE_FILES, csv_text, json_num
from emg.solve import equilibrium_json, scenario_json

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: the version tag of summary.json's schema
SUMMARY_SCHEMA = "emg-simulate-summary/1"


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and dataclass-free containers to JSON types.

    Non-finite floats become ``null`` (strict JSON has no ``NaN``).
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return json_num(obj)
    if hasattr(obj, "tolist"):  # numpy array or scalar
        return jsonable(obj.tolist())
    if isinstance(obj, Sequence):
        return [jsonable(v) for v in obj]
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def dumps_json(obj: Any) -> str:
    """The one JSON formatting of the output folder: 2-space indent, keys in insertion order."""
    return json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"


def write_summary(path: str | os.PathLike[str], summary: Mapping[str, Any]) -> None:
    """Write ``summary.json`` atomically (see ``docs/summary-schema.md``)."""
    atomic_write_text(path, dumps_json(summary))


def _uncertain_kappa(economy: Economy) -> dict[str, Any]:
    """``verification.kappa_states`` of summary.json, only when ``κ`` is uncertain (else nothing)."""
    st = economy.kappa_states
    if st is None:
        return {}
    return {"kappa_states": {"form": st.form, "nodes": st.nodes, "values": list(st.values),
                             "probs": list(st.probs), "mean": st.mean, "std": st.std}}


def rounds_header(T: int, events: bool = False, kappa: bool = False) -> list[str]:
    """Columns of ``rounds.csv`` for ``T`` electricity periods (``event`` and ``constrained``
    only for a scenario with events, then ``kappa`` only when κ is uncertain: its drawn
    value per round)."""
    posts = range(T + 1)
    periods = range(1, T + 1)
    return (
        ["round"]
        + [f"p{t}" for t in posts]
        + [f"B{t}" for t in posts]
        + [f"Q{t}" for t in posts]
        + ["distance", "orders", "failed", "gas"]
        + [f"V{t}" for t in periods]
        + [f"delivered{t}" for t in periods]
        + (["event", "constrained"] if events else [])
        + (["kappa"] if kappa else [])
    )


def rounds_csv(rounds: Sequence[RoundRecord], T: int, events: bool = False) -> str:
    """The text of ``rounds.csv``: one line per closed round."""
    kappa = any(r.kappa is not None for r in rounds)
    rows: list[list[Any]] = [
        [r.round, *r.prices, *r.bids, *r.offers, r.distance, r.orders, r.failed, r.gas,
         *r.verification, *r.delivered,
         *([r.event, r.constrained if r.constrained is not None else math.nan] if events else []),
         *([r.kappa] if kappa else [])]
        for r in rounds
    ]
    return csv_text(rounds_header(T, events, kappa), rows)


def agents_header(T: int, events: bool = False) -> list[str]:
    """Columns of ``agents.csv`` for ``T`` electricity periods (``cash_binds`` and
    ``input_binds`` last, only for a scenario with events)."""
    posts = range(T + 1)
    periods = range(1, T + 1)
    return (
        ["round", "agent", "kind", "status"]
        + [f"b{t}" for t in posts]
        + [f"q{t}" for t in posts]
        + [f"p{t}" for t in posts]
        + [f"x{t}" for t in posts]
        + [f"E{t}" for t in periods]
        + [f"V{t}" for t in periods]
        + ["gas_used", "v", "balance", "stock", "error"]
        + (["cash_binds", "input_binds"] if events else [])
    )


def agents_csv(agents: Sequence[AgentRound], rounds: Sequence[RoundRecord], T: int,
               events: bool = False) -> str:
    """The text of ``agents.csv``: one line per round and agent (agents in economy order)."""
    prices = {r.round: r.prices for r in rounds}
    rows = [
        [a.round, a.agent, a.kind, a.status, *a.bids, *a.offers, *prices[a.round],
         *a.allocations, *a.consumption, *a.verification, a.gas_used, a.v, a.balance,
         a.stock, a.error, *([int(a.cash_binds), int(a.input_binds)] if events else [])]
        for a in agents
    ]
    return csv_text(agents_header(T, events), rows)


# ----------------------------------------------------------------------------- plots

#: fixed PNG metadata: no software version or date, so PNGs are byte-identical
PNG_METADATA: dict[str, str | None] = {"Software": None}


def new_figure() -> tuple[Figure, Axes]:
    """A ``(figure, axes)`` pair on the Agg backend, the size of every emg plot."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "emg"
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=100)
    return fig, ax


def save_png(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Save ``fig`` as a PNG with fixed metadata, atomically, and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata=PNG_METADATA)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def plot_prices(
    path: str | os.PathLike[str],
    rounds: Sequence[RoundRecord],
    nash: Sequence[float],
    competitive: Sequence[float] | None,
    title: str = "",
    markers: Sequence[int] = (),
) -> None:
    """Price paths ``p^t`` by round against the Nash (dashed) and competitive (dotted) levels.

    ``nash`` and ``competitive`` are price vectors ``[p^0..p^T]`` renormalised
    to the last round's total bids.
    """
    fig, ax = new_figure()
    xs = [r.round for r in rounds]
    cmap = colors(len(nash))
    for t in range(len(nash)):
        ys = [r.prices[t] if r.prices[t] > 0 else math.nan for r in rounds]  # gap: inactive
        label = "good (post 0)" if t == 0 else f"electricity t={t}"
        ax.plot(xs, ys, color=cmap[t], lw=1.4, label=label)
        ax.axhline(nash[t], color=cmap[t], ls="--", lw=0.9)
        if competitive is not None:
            ax.axhline(competitive[t], color=cmap[t], ls=":", lw=0.9)
    ax.set_xlabel("round")
    mark_events(ax, markers)
    ax.set_ylabel("price (bytecoins per unit)")
    ax.set_title(title or "on-chain prices; dashed: Nash, dotted: competitive")
    if len(nash) <= 8:
        ax.legend(fontsize=8)
    save_png(fig, path)


def plot_verification_share(
    path: str | os.PathLike[str], rounds: Sequence[RoundRecord], title: str = "",
    markers: Sequence[int] = (),
) -> None:
    """The verification share of delivered electricity by round, ``Σ_t V^t / Σ_t Q^t``."""
    fig, ax = new_figure()
    xs = [r.round for r in rounds]
    ys = [
        (sum(r.verification) / sum(r.delivered)) if sum(r.delivered) > 0 else 0.0
        for r in rounds
    ]
    ax.plot(xs, [100.0 * y for y in ys], color="tab:red", lw=1.4)
    ax.set_xlabel("round")
    mark_events(ax, markers)
    ax.set_ylabel("verification share of electricity (%)")
    ax.set_ylim(bottom=0.0)
    ax.set_title(title or "electricity used to verify payments")
    save_png(fig, path)


def plot_balances(
    path: str | os.PathLike[str],
    agents: Sequence[AgentRound],
    title: str = "",
    max_lines: int = 12,
    markers: Sequence[int] = (),
) -> None:
    """Bytecoin balances by round (the first ``max_lines`` agents, economy order)."""
    fig, ax = new_figure()
    ids: list[str] = []
    for a in agents:
        if a.agent not in ids:
            ids.append(a.agent)
    shown = ids[:max_lines]
    cmap = colors(len(shown))
    for k, agent in enumerate(shown):
        pts = [(a.round, a.balance) for a in agents if a.agent == agent]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=cmap[k], lw=1.2, label=agent)
    ax.set_xlabel("round")
    mark_events(ax, markers)
    ax.set_ylabel("bytecoins available next round")
    extra = f" (first {max_lines} of {len(ids)})" if len(ids) > max_lines else ""
    ax.set_title(title or f"bytecoin balances{extra}")
    ax.legend(fontsize=7, ncol=2)
    save_png(fig, path)


def plot_distance(path: str | os.PathLike[str], rounds: Sequence[RoundRecord],
                  tolerance: float, title: str = "", markers: Sequence[int] = ()) -> None:
    """The distance ``max_t |p^t/p_nash^t - 1|`` by round (log scale) and the tolerance."""
    fig, ax = new_figure()
    pts = [(r.round, r.distance) for r in rounds if math.isfinite(r.distance) and r.distance > 0]
    if pts:
        ax.semilogy([p[0] for p in pts], [p[1] for p in pts], color="tab:blue", lw=1.4,
                    marker=".", ms=3)
    ax.axhline(tolerance, color="grey", ls="--", lw=0.9)
    mark_events(ax, markers)
    ax.set_xlabel("round")
    ax.set_ylabel("max_t |p/p_Nash - 1|")
    ax.set_title(title or "distance of on-chain prices to the Nash equilibrium")
    save_png(fig, path)


def mark_events(ax: Axes, markers: Sequence[int]) -> None:
    """A vertical grey line at each event's round (events take effect before it)."""
    for r in sorted(set(markers)):
        ax.axvline(r - 0.5, color="grey", ls="-.", lw=0.9, alpha=0.8)


def plot_constrained(path: str | os.PathLike[str], rounds: Sequence[RoundRecord],
                     markers: Sequence[int] = (), title: str = "") -> None:
    """The share of agents whose cash or input constraint binds, by round."""
    fig, ax = new_figure()
    xs = [r.round for r in rounds]
    ys = [100.0 * (r.constrained or 0.0) for r in rounds]
    ax.plot(xs, ys, color="tab:purple", lw=1.4, marker=".", ms=3)
    mark_events(ax, markers)
    ax.set_xlabel("round")
    ax.set_ylabel("agents constrained (%)")
    ax.set_ylim(-2.0, 102.0)
    ax.set_title(title or "share of agents whose cash or input constraint binds")
    save_png(fig, path)


def colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct line colours (tab10 up to 10, then viridis)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "viridis"]
    return [cmap(k if n <= 10 else k / max(n - 1, 1)) for k in range(n)]


# ----------------------------------------------------------------------------- the run

def ledger_json(ledger: Ledger) -> dict[str, Any]:
    """The ``ledger`` object of ``summary.json`` (exact wei amounts as strings)."""
    e, b = ledger.electricity, ledger.bytecoins
    return {
        "electricity": {
            "identity": e.IDENTITY,
            "last_round": [asdict(row) for row in e.last_round],
            "max_dust_wad": e.max_dust_wad,
            "ok": e.ok,
        },
        "bytecoins": {
            "identity": b.IDENTITY,
            "supply": b.supply,
            "balances": b.balances,
            "escrow": b.escrow,
            "dust_forecast": b.dust_forecast,
            "supply_wei": str(b.supply_wei),
            "balances_wei": str(b.balances_wei),
            "escrow_wei": str(b.escrow_wei),
            "books_match_chain": b.books_match_chain,
            "ok": b.ok,
        },
        "settlements_checked": ledger.settlements_checked,
        "ok": ledger.ok,
    }


def summary(result: SimulationResult) -> dict[str, Any]:
    """The ``summary.json`` document of a :class:`~agents.records.SimulationResult`.

    Schema ``emg-simulate-summary/1`` (``docs/summary-schema.md``). Wall-clock
    timings are deliberately absent (they would break byte-identical output).
    Only serialises: every figure was computed by the simulation.
    """
    scenario = result.scenario
    economy = result.economy or scenario.economy  # in force at the end: the equilibria's own
    s = result.settings
    log = result.log
    scen = scenario_json(scenario)
    scen["path"] = Path(scenario.path).name if scenario.path else None
    final = None
    if result.final is not None:
        final = equilibrium_json(economy, result.final)
        # the chain's own settlement, rounded down (result.final is evaluated in floats)
        for row, a in zip(final["agents"], result.final_allocations):
            row["allocation_on_chain"] = [float(x) for x in a]
    n_std = int((~economy.arrays.producer).sum())
    gas_std = [a.gas_used for a in log.agents if a.kind == "standard" and a.gas_used]
    gas_prd = [a.gas_used for a in log.agents if a.kind == "producer" and a.gas_used]
    delivered = sum(sum(r.delivered) for r in log.rounds)
    verif = sum(sum(r.verification) for r in log.rounds)
    last = log.rounds[-1] if log.rounds else None
    return {
        "schema": SUMMARY_SCHEMA,
        "scenario": scen,
        "settings": {
            "rounds": s.rounds, "seed": s.seed, "strategy": s.strategy, "damping": s.damping,
            "tolerance": s.tolerance, "round_duration": s.round_duration, "backend": s.backend,
            **({"market": s.market} if s.market != "plain" else {}),  # plain runs' files unchanged
        },
        **({"chain": dict(result.chain)} if s.backend != "eth-tester" else {}),
        "convergence": {
            "converged": result.converged,
            "rounds_played": len(log.rounds),
            "distance": result.distance,
            "criterion": "max_t |p_chain^t / p_nash^t - 1| <= tolerance, Nash solved with the "
                         "v the agents used, renormalised to the round's total bids",
            "distance_by_round": [r.distance for r in log.rounds],
        },
        "prices": [list(r.prices) for r in log.rounds],
        "final": final,
        "equilibrium": {
            "v_used": result.v_used,
            "total_bids": sum(last.bids) if last else 0.0,
            "nash": None if result.nash is None else equilibrium_json(economy, result.nash),
            "nash_prices_renormalised": result.nash_prices,
            "competitive": (None if result.competitive is None
                            else equilibrium_json(economy, result.competitive)),
            "competitive_prices_renormalised": result.competitive_prices,
        },
        "gas": {
            "total": result.gas_total,
            "orders": result.orders_total,
            "per_order_standard_last": gas_std[-1] if gas_std else None,
            "per_order_producer_last": gas_prd[-1] if gas_prd else None,
            "standard_agents": n_std,
        },
        "verification": {
            "kappa_kwh_per_gas": economy.kappa,
            "v_last": result.v_last,
            "total_kwh": verif,
            "delivered_kwh": delivered,
            "share": verif / delivered if delivered > 0 else 0.0,
            "share_last_round": (sum(last.verification) / sum(last.delivered)
                                 if last and sum(last.delivered) > 0 else 0.0),
            **_uncertain_kappa(economy),
        },
        "ledger": ledger_json(result.ledger),
        "solver_errors": list(result.solver_errors),
        "failures": [{"round": f.round, "agent": f.agent, "reason": f.reason, "error": f.error}
                     for f in log.failures],
        "priced_out": [a.agent for a in log.agents[-economy.N:] if a.status == AgentStatus.ABSTAINED],
        "not_trading_last_round": [a.id for a in economy.agents()
                                   if not bool(result.participants[a.index])],
        **({"events": events_json(result), "constrained_by_round": [r.constrained for r in log.rounds]}
           if scenario.events else {}),
    }


def events_json(result: SimulationResult) -> list[dict[str, Any]]:
    """The ``events`` list of ``summary.json``: each event as applied, with its recovery measures."""
    out = []
    for rep in result.events:
        a, rec = rep.applied, rep.recovery
        out.append({
            "index": a.index,
            **event_record(a.event),
            "supply_before": a.supply_before / WAD,
            "supply_after": a.supply_after / WAD,
            "moved_wei": {k: str(v) for k, v in a.moved.items()},
            "rounds_to_recover": rec.rounds_to_recover,
            "overshoot_by_post": list(rec.overshoot),
            "money_ratio": rec.money_ratio,
            "price_level_ratio": rec.price_level_ratio,
        })
    return out


#: the files of an output folder, in the order they are written
OUTPUT_FILES = SIMULATE_FILES


def write_run(out_dir: str | os.PathLike[str], result: SimulationResult) -> list[Path]:
    """Write the whole output folder atomically; return the paths written.

    Every file is written into a temporary sibling folder that replaces
    ``out_dir`` only once complete (:func:`market.io.atomic_folder`), so
    ``out_dir`` always holds one complete run, the previous one or this one.
    Check the folder first with :func:`emg.formats.check_out`.
    """
    out = Path(out_dir)
    T = result.scenario.economy.T
    log = result.log
    name = result.scenario.name
    events = bool(result.scenario.events)
    marks = [e.round for e in result.scenario.events]
    with atomic_folder(out) as tmp:
        atomic_write_text(tmp / "rounds.csv", rounds_csv(log.rounds, T, events))
        atomic_write_text(tmp / "agents.csv", agents_csv(log.agents, log.rounds, T, events))
        if log.rounds and result.nash_prices is not None:
            plot_prices(tmp / "prices.png", log.rounds, list(result.nash_prices),
                        None if result.competitive_prices is None
                        else list(result.competitive_prices),
                        title=f"{name}: on-chain prices; dashed Nash, dotted competitive",
                        markers=marks)
        if log.rounds:
            plot_distance(tmp / "distance.png", log.rounds, result.settings.tolerance,
                          title=f"{name}: distance to the Nash equilibrium", markers=marks)
            plot_verification_share(tmp / "verification.png", log.rounds,
                                    title=f"{name}: verification share of electricity", markers=marks)
            plot_balances(tmp / "balances.png", log.agents, title=f"{name}: bytecoin balances",
                          markers=marks)
            if events:
                plot_constrained(tmp / "constrained.png", log.rounds, marks,
                                 title=f"{name}: agents constrained (cash or input)")
        write_summary(tmp / "summary.json", summary(result))
        names = [f for f in OUTPUT_FILES if (tmp / f).exists()]
    return [out / f for f in names]


