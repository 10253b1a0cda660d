"""Comparative statics of a study: each headline metric against each numeric axis.

:func:`statics` turns the index table into series (shared by the PNGs here
and the interactive report): for a metric ``m`` and an axis ``x``, one line
per value of a second axis (the first other axis with at most
:data:`MAX_LINES` values), each point the mean over the rows that share
``x`` (other axes, seeds), and the rows themselves as dots. A logspace axis
(or a log range) gets a log scale; a quasi-random design is drawn as dots.
Failed and missing rows are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emg.study.index import index_rows
from emg.study.spec import Study

#: the headline metrics plotted, in order (``priced_out.<group>`` are added per group)
HEADLINE = ("ratio_max", "markup_mean", "verification_share", "priced_out",
            "rounds", "distance", "gas_per_order", "sim_verification_share")
MAX_LINES = 8

LABELS = {
    "ratio_max": "Nash/competitive price ratio (max over periods)",
    "markup_mean": "Nash markup over marginal cost (mean over periods)",
    "verification_share": "verification share of electricity (Nash)",
    "priced_out": "agents priced out (Nash)",
    "rounds": "rounds played (to the tolerance, or the limit)",
    "distance": "final distance to Nash",
    "gas_per_order": "gas per order",
    "sim_verification_share": "verification share (on chain)",
}


@dataclass
class Line:
    """One line of a comparative-statics plot."""

    label: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    dots_x: list[float] = field(default_factory=list)
    dots_y: list[float] = field(default_factory=list)


@dataclass
class Statics:
    """One plot: ``metric`` against ``axis``, one :class:`Line` per value of ``by``."""

    metric: str
    axis: str
    log: bool
    by: str | None
    lines: list[Line]
    connect: bool

    @property
    def title(self) -> str:
        return f"{self.metric} vs {self.axis}" + (f" by {self.by}" if self.by else "")

    @property
    def ylabel(self) -> str:
        if self.metric.startswith("priced_out."):
            return f"agents priced out, group {self.metric.split('.', 1)[1]} (Nash)"
        return LABELS.get(self.metric, self.metric)

    @property
    def filename(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.metric}-vs-{self.axis}") + ".png"


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def statics(study: Study, out: Path) -> list[Statics]:
    """The comparative-statics series of a study folder (from its rows)."""
    header, table = index_rows(study.tasks(), study, out)
    col = {name: k for k, name in enumerate(header)}
    rows = [r for r in table if r[col["status"]] not in ("failed", "missing")]
    metrics = [m for m in header if m in HEADLINE or m.startswith("priced_out.")]
    metrics.sort(key=lambda m: (HEADLINE.index(m) if m in HEADLINE else HEADLINE.index("priced_out") + 0.5, m))
    axes = [a for a in study.axes]
    distinct = {a.path: sorted({r[col[a.path]] for r in rows}, key=str) for a in axes}
    out_list: list[Statics] = []
    for a in axes:
        if not all(_number(v) is not None for v in distinct[a.path]) or len(distinct[a.path]) < 2:
            continue
        others = [b for b in axes if b.path != a.path and 1 < len(distinct[b.path]) <= MAX_LINES]
        by = others[0].path if others and study.combine in ("grid",) else None
        for m in metrics:
            groups: dict[Any, list[tuple[float, float]]] = {}
            for r in rows:
                x, y = _number(r[col[a.path]]), _number(r[col[m]])
                if x is None or y is None:
                    continue
                key = r[col[by]] if by else None
                groups.setdefault(key, []).append((x, y))
            if not groups:
                continue
            lines = []
            for key in sorted(groups, key=lambda k: (str(type(k)), k if k is not None else 0)):
                pts = groups[key]
                line = Line(label=f"{by} = {key}" if by else m)
                xs = sorted({p[0] for p in pts})
                for x in xs:
                    ys = [p[1] for p in pts if p[0] == x]
                    line.x.append(x)
                    line.y.append(sum(ys) / len(ys))
                line.dots_x = [p[0] for p in pts]
                line.dots_y = [p[1] for p in pts]
                lines.append(line)
            out_list.append(Statics(metric=m, axis=a.path, log=a.log, by=by, lines=lines,
                                    connect=study.combine in ("grid", "zip")))
    return out_list


def write_plots(study: Study, out: Path) -> list[Path]:
    """Write ``plots/<metric>-vs-<axis>.png`` for every series of :func:`statics`."""
    from emg.output import colors, new_figure, save_png

    written = []
    for s in statics(study, out):
        fig, ax = new_figure()
        cs = colors(len(s.lines))
        for line, c in zip(s.lines, cs):
            if s.connect:
                ax.plot(line.x, line.y, "-", color=c, label=line.label, marker="o", markersize=3)
                if len(line.dots_x) > len(line.x):
                    ax.plot(line.dots_x, line.dots_y, ".", color=c, alpha=0.35, markersize=4)
            else:
                ax.plot(line.dots_x, line.dots_y, ".", color=c, label=line.label, markersize=5)
        if s.log:
            ax.set_xscale("log")
        ax.set_xlabel(s.axis)
        ax.set_ylabel(s.ylabel)
        ax.set_title(f"{study.name}: {s.title}", fontsize=10)
        if s.by:
            ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        path = out / "plots" / s.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        save_png(fig, path)
        written.append(path)
    return written
