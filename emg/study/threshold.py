"""Thresholds: where a metric first turns positive along a study's axis, by bisection on the solver.

For a study with one numeric axis and a ``[threshold]`` table, each metric
column (``priced_out.edge``, or every ``priced_out.<group>`` for
``priced_out.*``) is read along the grid; between the last grid value where it
is 0 and the first where it is > 0 the threshold is bisected (geometrically
on a log axis) with new solve points until ``high / low - 1 <= rtol``. Every
step of every metric runs at once on the cluster; each step's points are
ordinary study points (``points/<id>/``, resumable). The result is
``thresholds.csv``: metric, the bracket, its relative width, the steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from market.io import atomic_write_text

from emg.formats import csv_text
from emg.study.index import index_rows
from emg.study.points import STATUS_FAILED
from emg.study.spec import Study, Task, point_id

THRESHOLDS_CSV = "thresholds.csv"

#: run these tasks (those not complete yet) and return every task's row, in order
RunBatch = Callable[[list[Task]], list[dict[str, Any]]]


@dataclass
class Bracket:
    """One metric's threshold: ``low`` (metric 0) < threshold <= ``high`` (metric > 0)."""

    metric: str
    low: float | None
    high: float | None
    steps: int
    status: str  # "located", "below-range", "above-range", "failed"
    error: str = ""

    @property
    def rel_width(self) -> float | None:
        if self.low is None or self.high is None or self.low <= 0:
            return None
        return self.high / self.low - 1.0


def _mid(lo: float, hi: float, log: bool) -> float:
    return math.sqrt(lo * hi) if log else 0.5 * (lo + hi)


def locate(study: Study, out: Path, run_batch: RunBatch) -> list[Bracket]:
    """Bisect every threshold metric of ``study`` (see the module doc); write ``thresholds.csv``."""
    th = study.threshold
    assert th is not None
    axis = study.axes[0]
    header, table = index_rows(study.tasks(), study, out)
    col = {h: k for k, h in enumerate(header)}
    if th.metric.endswith(".*"):
        prefix = th.metric[:-1]
        metrics = [h for h in header if h.startswith(prefix)]
    else:
        metrics = [th.metric] if th.metric in col else []
    rows = sorted((r for r in table if r[col["status"]] not in ("failed", "missing")),
                  key=lambda r: r[col[axis.path]])
    brackets: list[Bracket] = []
    live: list[Bracket] = []
    for m in metrics:
        xs = [(float(r[col[axis.path]]), r[col[m]]) for r in rows if r[col[m]] is not None]
        first = next((k for k, (_, v) in enumerate(xs) if v > 0), None)
        if first is None:
            brackets.append(Bracket(m, xs[-1][0] if xs else None, None, 0, "above-range"))
        elif first == 0:
            brackets.append(Bracket(m, None, xs[0][0], 0, "below-range"))
        else:
            b = Bracket(m, xs[first - 1][0], xs[first][0], 0, "located")
            brackets.append(b)
            live.append(b)
    while True:
        live = [b for b in live if b.status == "located" and (b.rel_width or 0) > th.rtol]
        if not live:
            break
        tasks = []
        for b in live:
            assert b.low is not None and b.high is not None
            x = _mid(b.low, b.high, axis.log)
            doc = study.resolve({axis.path: x}, f"threshold {b.metric} at {axis.path} = {x!r}")
            tasks.append(Task(id=point_id(doc, "solve"), order=-1, point=-1, mode="solve",
                              values={axis.path: x}, seed=None, doc=doc))
        rows_now = run_batch(tasks)
        for b, task, row in zip(live, tasks, rows_now):
            b.steps += 1
            if row["status"] == STATUS_FAILED:
                b.status, b.error = "failed", row["error"]
                continue
            x = task.values[axis.path]
            if (row["metrics"].get(b.metric) or 0) > 0:
                b.high = x
            else:
                b.low = x
    atomic_write_text(out / THRESHOLDS_CSV, csv_text(
        ["metric", "axis", "low", "high", "rel_width", "steps", "status", "error"],
        [[b.metric, axis.path, "" if b.low is None else b.low, "" if b.high is None else b.high,
          "" if b.rel_width is None else b.rel_width, b.steps, b.status, b.error]
         for b in brackets]))
    return brackets
