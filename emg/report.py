"""HTML reports: ``emg report RUN_DIR`` for one ``emg simulate --out`` folder, and a study's ``report.html``.

Each report is one self-contained file that opens offline: Plotly's
JavaScript is embedded in it (no CDN), the charts are Plotly figures built in
Python (:mod:`plotly.graph_objects`), the tables plain HTML. The file is
deterministic (fixed element ids, no date), so the same folder gives the same
report. Two tiny scripts make the report checkable by a headless browser:
JavaScript errors are counted in ``<html data-errors>``, and from the page's load on
``<body data-plots>`` holds the number of charts Plotly has drawn (updated every
250 ms), ``data-plot-divs`` the number of chart containers.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from market.errors import EmgError
from market.io import atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from emg.study.spec import Study

REPORT_FILE = "report.html"
#: rows of the index table shown in a study report (the full table is index.csv)
MAX_TABLE_ROWS = 1000

_ERRORS_JS = """
window.__emgErrors = [];
window.addEventListener('error', function (e) {
  window.__emgErrors.push(String(e.message));
  document.documentElement.setAttribute('data-errors', String(window.__emgErrors.length));
  document.documentElement.setAttribute('data-error-text', window.__emgErrors.join(' | '));
});
document.documentElement.setAttribute('data-errors', '0');
"""

_COUNT_JS = """
function emgCountPlots() {
  var drawn = 0;
  document.querySelectorAll('.js-plotly-plot').forEach(function (d) {
    if (d.querySelector('.main-svg') && d.querySelector('.scatterlayer .trace')) { drawn += 1; }
  });
  document.body.setAttribute('data-plots', String(drawn));
  document.body.setAttribute('data-plot-divs', String(document.querySelectorAll('.emg-plot').length));
}
emgCountPlots();
window.addEventListener('load', function () { emgCountPlots(); setInterval(emgCountPlots, 250); });
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.scroll { max-height: 480px; overflow: auto; }
.emg-plot { margin: 0.5em 0 1.5em; }
"""


class ReportError(EmgError, ValueError):
    """A folder cannot be reported on (the message names what is missing)."""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _fig_html(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    body = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})
    return f'<div class="emg-plot">{body}</div>'


def _page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script>{_ERRORS_JS}</script>\n"
        f"<script>{_plotly_js()}</script>\n"
        "</head>\n<body>\n" + "\n".join(body) + f"\n<script>{_COUNT_JS}</script>\n</body>\n</html>\n"
    )


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]], left: int = 1) -> str:
    out = ["<table><tr>" + "".join(
        f'<th class="{"l" if k < left else ""}">{html.escape(h)}</th>' for k, h in enumerate(header))
        + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(
            f'<td class="{"l" if k < left else ""}">{html.escape(_fmt(v))}</td>'
            for k, v in enumerate(r)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _layout(fig: Any, title: str, xtitle: str, ytitle: str, logx: bool = False,
            logy: bool = False) -> None:
    fig.update_layout(title=title, xaxis_title=xtitle, yaxis_title=ytitle, template="plotly_white",
                      height=420, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    if logx:
        fig.update_xaxes(type="log")
    if logy:
        fig.update_yaxes(type="log")


# ----------------------------------------------------------------------------- one run

def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _float(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return math.nan


def _maybe_float(s: str) -> Any:
    try:
        return float(s)
    except ValueError:
        return s


def run_report_html(run_dir: str | Path) -> str:
    """The HTML report of an ``emg simulate --out`` folder."""
    import plotly.graph_objects as go

    d = Path(run_dir)
    for name in ("summary.json", "rounds.csv", "agents.csv"):
        if not (d / name).is_file():
            raise ReportError(f"{d}: no {name} (expected an emg simulate --out folder)")
    s = json.loads((d / "summary.json").read_text())
    rounds = _read_csv(d / "rounds.csv")
    agents = _read_csv(d / "agents.csv")
    sc = s["scenario"]
    T = int(sc["T"])
    eq = s["equilibrium"]
    nash = eq.get("nash_prices_renormalised") or [None] * (T + 1)
    comp = eq.get("competitive_prices_renormalised") or [None] * (T + 1)
    x = [int(r["round"]) for r in rounds]
    events = s.get("events") or []  # only a scenario with [[event]]s has them

    def mark(fig: Any) -> Any:
        """A grey vertical line just before each event's round (nothing without events)."""
        for r in sorted({int(e["round"]) for e in events}):
            fig.add_vline(x=r - 0.5, line_dash="dashdot", line_color="grey")
        return fig

    body = [f"<h1>emg simulate: {html.escape(sc['name'])}</h1>",
            f"<p>{html.escape(sc.get('description') or '')}</p>", "<h2>Scenario</h2>"]
    st = s["settings"]
    body.append(_table(["field", "value"], [
        ["T (periods)", T], ["standard agents (M)", sc["M"]], ["producers (P)", sc["P"]],
        ["kappa (kWh/gas)", sc["kappa"]], ["kappa preset", sc.get("kappa_preset") or ""],
        ["bytecoin supply", sc["bytecoin_supply"]], ["strategy", st["strategy"]],
        ["seed", st["seed"]], ["damping", st["damping"]], ["tolerance", st["tolerance"]],
        ["round limit", st["rounds"]]]))
    conv = s["convergence"]
    last = rounds[-1] if rounds else None
    body.append("<h2>Final round</h2>")
    rows = []
    for t in range(T + 1):
        p = _float(last[f"p{t}"]) if last else math.nan
        pn = nash[t] if nash[t] is not None else math.nan
        pc = comp[t] if comp[t] is not None else math.nan
        ver = (100 * _float(last[f"V{t}"]) / _float(last[f"delivered{t}"])
               if t and last and _float(last[f"delivered{t}"]) > 0 else None)
        rows.append(["good (0)" if t == 0 else f"elec {t}", p, pn,
                     abs(p / pn - 1) if pn > 0 else math.nan, pc, pn / pc if pc > 0 else math.nan,
                     _float(last[f"Q{t}"]) if last else math.nan, ver])
    body.append(_table(["post", "on chain", "Nash", "|chain/Nash-1|", "competitive", "Nash/comp",
                        "quantity", "verif %"], rows))
    ledger = s["ledger"]
    body.append(_table(["check", "value"], [
        ["converged", conv["converged"]], ["rounds played", conv["rounds_played"]],
        ["distance", conv["distance"]], ["gas total", s["gas"]["total"]],
        ["orders", s["gas"]["orders"]],
        ["gas per order (standard, last)", s["gas"]["per_order_standard_last"]],
        ["gas per order (producer, last)", s["gas"]["per_order_producer_last"]],
        ["verification share (all rounds)", s["verification"]["share"]],
        ["ledger: electricity", ledger["electricity"]["ok"]],
        ["ledger: bytecoins", ledger["bytecoins"]["ok"]],
        ["settlements matched", ledger["settlements_checked"]],
        ["failures", len(s["failures"])], ["priced out", ", ".join(s["priced_out"])]]))
    if events:
        body.append("<h2>Events</h2>")
        body.append(_table(["round", "kind", "details", "supply after", "rounds to recover",
                            "largest overshoot", "price level / predicted"], [
            [e["round"], e["kind"], e["details"], e["supply_after"],
             "" if e["rounds_to_recover"] is None else e["rounds_to_recover"],
             max(e["overshoot_by_post"]) if e["overshoot_by_post"] else math.nan,
             math.nan if e["price_level_ratio"] is None else e["price_level_ratio"]] for e in events]))

    body.append("<h2>Prices against the Nash (dashed) and competitive (dotted) levels</h2>")
    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf"]
    for t in range(T + 1):
        c = palette[t % len(palette)]
        label = "good (0)" if t == 0 else f"elec {t}"
        fig.add_trace(go.Scatter(x=x, y=[_float(r[f"p{t}"]) for r in rounds], mode="lines+markers",
                                 name=label, line={"color": c}, marker={"size": 4}))
        if nash[t] is not None and x:
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[nash[t]] * 2, mode="lines",
                                     name=f"{label} Nash", line={"color": c, "dash": "dash"}))
        if comp[t] is not None and x:
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[comp[t]] * 2, mode="lines",
                                     name=f"{label} competitive", line={"color": c, "dash": "dot"}))
    _layout(fig, "on-chain prices (bytecoins per unit)", "round", "price")
    body.append(_fig_html(mark(fig), "emg-prices"))

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[_float(r["distance"]) for r in rounds], mode="lines+markers",
                             name="distance"))
    if x:
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[st["tolerance"]] * 2, mode="lines",
                                 name="tolerance", line={"dash": "dash"}))
    _layout(fig, "distance to the Nash equilibrium, max_t |p/p_nash - 1|", "round", "distance",
            logy=True)
    body.append(_fig_html(mark(fig), "emg-distance"))

    fig = go.Figure()
    for t in range(1, T + 1):
        fig.add_trace(go.Scatter(
            x=x, y=[_float(r[f"V{t}"]) / _float(r[f"delivered{t}"]) if _float(r[f"delivered{t}"]) > 0
                    else None for r in rounds], mode="lines+markers", name=f"period {t}"))
    _layout(fig, "verification share of the electricity delivered", "round", "share")
    body.append(_fig_html(mark(fig), "emg-verification"))

    fig = go.Figure()
    ids: dict[str, None] = {}
    for a in agents:
        ids.setdefault(a["agent"], None)
    for aid in ids:
        mine = [a for a in agents if a["agent"] == aid]
        fig.add_trace(go.Scatter(x=[int(a["round"]) for a in mine],
                                 y=[_float(a["balance"]) for a in mine], mode="lines", name=aid))
    _layout(fig, "bytecoin balances", "round", "bytecoins")
    body.append(_fig_html(mark(fig), "emg-balances"))
    if events:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=x, y=[_float(r["constrained"]) for r in rounds], mode="lines+markers",
                                 name="constrained"))
        _layout(fig, "share of agents whose cash or input constraint binds", "round", "share")
        body.append(_fig_html(mark(fig), "emg-constrained"))
    return _page(f"emg report: {sc['name']}", body)


# ----------------------------------------------------------------------------- a study

def study_report_html(study: Study, out: Path) -> str:
    """The HTML report of a study folder: the study, comparative statics, the index table."""
    import plotly.graph_objects as go

    from emg.study.plots import statics
    from emg.study.index import index_rows

    header, table = index_rows(study.tasks(), study, out)
    col = {h: k for k, h in enumerate(header)}
    counts: dict[str, int] = {}
    for r in table:
        counts[r[col["status"]]] = counts.get(r[col["status"]], 0) + 1
    body = [f"<h1>emg study: {html.escape(study.name)}</h1>",
            f"<p>{html.escape(study.description)}</p>", "<h2>Design</h2>"]
    body.append(_table(["field", "value"], [
        ["mode", study.mode], ["combine", study.combine],
        ["base scenario", study.base.get("name", "")],
        ["rows (points x seeds)", len(table)],
        ["status", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]]))
    body.append(_table(["axis", "values"], [
        [a.path, ", ".join(_fmt(v) for v in a.values) if a.values
         else f"{'log ' if a.log else ''}range [{a.low:g}, {a.high:g}]"] for a in study.axes]))
    th = out / "thresholds.csv"
    if th.is_file():
        body.append("<h2>Thresholds (bisection on the solver)</h2>")
        trows = _read_csv(th)
        body.append(_table(list(trows[0]) if trows else ["metric"],
                           [[_maybe_float(v) for v in r.values()] for r in trows]))
    series = statics(study, out)
    if series:
        body.append("<h2>Comparative statics</h2>")
    for k, s in enumerate(series):
        fig = go.Figure()
        for line in s.lines:
            if s.connect:
                fig.add_trace(go.Scatter(x=line.x, y=line.y, mode="lines+markers", name=line.label))
                if len(line.dots_x) > len(line.x):
                    fig.add_trace(go.Scatter(x=line.dots_x, y=line.dots_y, mode="markers",
                                             name=f"{line.label} (each row)", opacity=0.35,
                                             marker={"size": 5}, showlegend=False))
            else:
                fig.add_trace(go.Scatter(x=line.dots_x, y=line.dots_y, mode="markers",
                                         name=line.label))
        _layout(fig, s.title, s.axis, s.ylabel, logx=s.log)
        body.append(_fig_html(fig, f"emg-statics-{k}"))
    body.append("<h2>Index</h2>")
    shown = table[:MAX_TABLE_ROWS]
    if len(table) > len(shown):
        body.append(f"<p>The first {len(shown):,} rows of {len(table):,}; the whole table is "
                    "<code>index.csv</code> / <code>index.parquet</code>.</p>")
    body.append('<div class="scroll">' + _table(header, shown, left=0) + "</div>")
    return _page(f"emg study: {study.name}", body)


def write_study_report(study: Study, out: Path) -> Path:
    """Write ``out/report.html`` (atomically) and return its path."""
    path = out / REPORT_FILE
    atomic_write_text(path, study_report_html(study, out))
    return path


# ----------------------------------------------------------------------------- the command

def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg report``."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="an emg simulate --out folder")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write the report (default: RUN_DIR/report.html)")


def run(args: argparse.Namespace) -> int:
    """Write the report of one simulation folder."""
    target = Path(args.out) if args.out else Path(args.run_dir) / REPORT_FILE
    atomic_write_text(target, run_report_html(args.run_dir))
    print(f"wrote {target}")
    return 0
