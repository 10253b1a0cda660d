"""One study point, run where a Dask worker runs it: solve or simulate, write, return a row.

:func:`run_task` is the function the workers execute. It builds the point's
scenario with the scenario loader, runs it (``emg solve``'s solver, or a
:class:`~agents.simulation.Simulation` on the worker's own in-process chain),
writes the point's folder ``points/<id>/`` with the writers of ``emg solve
--out`` and ``emg simulate --out`` (every file atomic), and returns a small
dict: the index row. ``row.json`` is written last: a point whose folder has
it is complete, which is how a rerun knows what to skip.

Durability: every file is written atomically (a reader, a rerun or a killed
worker never sees one half-written), but only ``row.json`` is flushed to disk.
Flushing each file cost about 4 ms, a tenth of a 10-agent solve. Instead,
``row.json`` lists the size of every other file of the point, and
:func:`read_row` counts a point complete only if they all match. A point torn
by a power failure is therefore run again, never taken as done.

A point that raises is recorded as ``failed`` with its message (its
``row.json`` says so); the study goes on.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from pathlib import Path
from typing import Any

from market.io import atomic_write_text

from emg.study.spec import Task

#: the files of a point folder: the resolved scenario and the row (written last)
SCENARIO_FILE = "scenario.json"
ROW_FILE = "row.json"

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_NOT_CONVERGED = "not-converged"


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _weighted_share(shares: list[Any], quantities: list[Any]) -> float | None:
    """Electricity spent verifying over electricity delivered, all periods together."""
    num = den = 0.0
    for s, q in zip(shares, quantities):
        if s is None or q is None:
            continue
        num += float(s) * float(q)
        den += float(q)
    return num / den if den > 0 else None


def equilibrium_metrics(doc: dict[str, Any], eq: dict[str, Any] | None, comp: dict[str, Any] | None,
                        prefix: str = "") -> dict[str, Any]:
    """Headline metrics of a Nash/competitive pair from their ``emg solve --json`` objects.

    Prices are relative (``p^0 = 1``); ``ratio`` is Nash over competitive.
    Per period ``t``: ``nash_p{t}``, ``comp_p{t}``, ``ratio{t}``, ``nash_q{t}``,
    ``markup{t}`` (Nash), ``verification_share{t}`` (Nash); over periods:
    ``ratio_max``, ``markup_mean``, ``verification_share`` (all periods),
    ``priced_out`` and ``priced_out.<group>`` (Nash).
    """
    m: dict[str, Any] = {}
    if eq is None:
        return m
    rp = eq["relative_prices"]
    cp = comp["relative_prices"] if comp is not None else [None] * len(rp)
    T = len(rp) - 1
    ratios = []
    for t in range(1, T + 1):
        n, c = _f(rp[t]), _f(cp[t])
        r = n / c if (n is not None and c) else None
        m[f"{prefix}nash_p{t}"] = n
        m[f"{prefix}comp_p{t}"] = c
        m[f"{prefix}ratio{t}"] = r
        m[f"{prefix}nash_q{t}"] = _f(eq["quantities"][t - 1])
        m[f"{prefix}markup{t}"] = _f(eq["markups"][t - 1])
        m[f"{prefix}verification_share{t}"] = _f(eq["verification_share"][t - 1])
        if r is not None:
            ratios.append(r)
    m[f"{prefix}ratio_max"] = max(ratios) if ratios else None
    mk = [x for x in (_f(v) for v in eq["markups"]) if x is not None]
    m[f"{prefix}markup_mean"] = sum(mk) / len(mk) if mk else None
    m[f"{prefix}verification_share"] = _weighted_share(eq["verification_share"], eq["quantities"])
    m[f"{prefix}nash_converged"] = bool(eq["converged"])
    if comp is not None:
        m[f"{prefix}comp_converged"] = bool(comp["converged"])
    agents = eq["agents"]
    m[f"{prefix}priced_out"] = sum(1 for a in agents if a["priced_out"])
    groups: dict[str, int] = {}
    for a in agents:
        groups[a["group"]] = groups.get(a["group"], 0) + int(bool(a["priced_out"]))
    for g, k in groups.items():
        m[f"{prefix}priced_out.{g}"] = k
    return m


def solve_row(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Status and metrics of an ``emg solve --json`` summary."""
    m = equilibrium_metrics(summary["scenario"], summary["nash"], summary["competitive"])
    ok = summary["nash"]["converged"] and summary["competitive"]["converged"]
    return (STATUS_OK if ok else STATUS_NOT_CONVERGED), m


def simulate_row(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Status and metrics of an ``emg simulate --out`` ``summary.json``."""
    conv = summary["convergence"]
    gas = summary["gas"]
    m: dict[str, Any] = {
        "converged": bool(conv["converged"]),
        "rounds": int(conv["rounds_played"]),
        "distance": _f(conv["distance"]),
        "gas_per_order": (gas["total"] / gas["orders"]) if gas["orders"] else None,
        "gas_per_order_standard": gas["per_order_standard_last"],
        "gas_per_order_producer": gas["per_order_producer_last"],
        "sim_verification_share": _f(summary["verification"]["share"]),
        "sim_priced_out": len(summary["priced_out"]),
        "failures": len(summary["failures"]),
        "ledger_ok": bool(summary["ledger"]["ok"]),
    }
    eqm = summary["equilibrium"]
    m.update(equilibrium_metrics(summary["scenario"], eqm["nash"], eqm["competitive"]))
    ok = conv["converged"] and summary["ledger"]["ok"]
    return (STATUS_OK if ok else STATUS_NOT_CONVERGED), m


def _solve(task: Task, folder: Path) -> tuple[str, dict[str, Any], float]:
    from emg.solve import solve_scenario, summary_json, write_outputs

    scenario = task.scenario()
    t0 = time.perf_counter()
    nash, comp = solve_scenario(scenario)
    seconds = time.perf_counter() - t0
    write_outputs(folder, scenario, nash, comp, sync=False)
    return (*solve_row(summary_json(scenario, nash, comp)), seconds)


def _simulate(task: Task, folder: Path) -> tuple[str, dict[str, Any], float]:
    from agents.simulation import Simulation
    from emg.output import write_run

    scenario = task.scenario()
    t0 = time.perf_counter()
    result = Simulation(scenario, scenario.simulation, progress=False).run()
    seconds = time.perf_counter() - t0
    write_run(folder, result)
    # the row from the very document written to summary.json
    return (*simulate_row(json.loads((folder / "summary.json").read_text())), seconds)


def run_task(task: Task, out_dir: str) -> dict[str, Any]:
    """Run one point into ``out_dir/points/<id>/`` and return its index row.

    The row's ``wall_seconds`` is the whole point (building, running, writing),
    ``work_seconds`` the solver's or the simulation's own time (``None`` if it
    raised); both go to ``timings.csv``, never to the index.

    Never raises for a point's own failure: the exception's type and message
    become the row's ``error`` and its status is ``failed`` (the traceback is
    kept in the point's ``error.txt``).
    """
    folder = Path(out_dir) / "points" / task.id
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    error = ""
    metrics: dict[str, Any] = {}
    work = None
    try:
        status, metrics, work = (_solve if task.mode == "solve" else _simulate)(task, folder)
    except Exception as exc:  # noqa: BLE001 - a point's failure is data, the study goes on
        status = STATUS_FAILED
        error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]
        atomic_write_text(folder / "error.txt", traceback.format_exc())
    # after the run: emg's writers replace an output folder whole (market.io.atomic_folder)
    atomic_write_text(folder / SCENARIO_FILE, json.dumps(task.doc, indent=2, sort_keys=True) + "\n",
                      sync=False)
    row = {"id": task.id, "status": status, "error": error,
           "wall_seconds": time.perf_counter() - start, "work_seconds": work, "metrics": metrics,
           "files": _sizes(folder)}
    atomic_write_text(folder / ROW_FILE, json.dumps(row, indent=2, allow_nan=False) + "\n")
    return row


def _sizes(folder: Path) -> dict[str, int]:
    """Name -> size in bytes of every file of a point folder but ``row.json`` (sorted)."""
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())
            if p.is_file() and p.name != ROW_FILE and not p.name.startswith(".")}


def read_row(out_dir: str | Path, task_id: str) -> dict[str, Any] | None:
    """A point's finished row (``None`` if the point has not completed)."""
    folder = Path(out_dir) / "points" / task_id
    try:
        row: dict[str, Any] = json.loads((folder / ROW_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    for name, size in row.get("files", {}).items():
        try:
            if (folder / name).stat().st_size != size:
                return None
        except OSError:
            return None
    return row
