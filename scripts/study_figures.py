"""The shipped studies' figures for the README: run each study, print its table, draw docs/img/study-*.png.

    python scripts/study_figures.py [--runs runs/studies] [--only NAME ...] [--no-run]

Runs ``emg study studies/NAME.toml --out RUNS/NAME`` (a rerun skips the points
already computed), then prints the headline table of each study and, for
``replication``, the least-squares fit of ``ratio - 1 = C n^(-b)`` (log-log),
and writes ``docs/img/study-NAME.png``.
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("pos-to-pow", "replication", "market-power", "convergence")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def num(s: str) -> float:
    return float(s) if s not in ("", None) else math.nan


def fig():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7.0, 4.2), dpi=100)


def save(f, name: str) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    f.tight_layout()
    out = ROOT / "docs" / "img" / f"study-{name}.png"
    f.savefig(out, metadata={"Software": None})
    plt.close(f)
    print(f"wrote {out.relative_to(ROOT)}")


def pos_to_pow(d: Path) -> None:
    r = rows(d / "index.csv")
    th = rows(d / "thresholds.csv")
    groups = [c.split(".", 1)[1] for c in r[0] if c.startswith("priced_out.")]
    print(f"{'kappa':>10} {'verif share':>11} {'ratio':>7} " + " ".join(f"{g:>10}" for g in groups))
    for x in r:
        print(f"{num(x['verification.kappa']):>10.3g} {num(x['verification_share']):>11.3g} "
              f"{num(x['ratio_max']):>7.4f} " + " ".join(f"{x['priced_out.' + g]:>10}" for g in groups))
    for t in th:
        print(f"threshold {t['metric']}: {t['status']} "
              + (f"in [{num(t['low']):.4g}, {num(t['high']):.4g}] (width {100 * num(t['rel_width']):.2f}%, "
                 f"{t['steps']} bisection steps)" if t["status"] == "located" else ""))
    f, ax = fig()
    k = [num(x["verification.kappa"]) for x in r]
    ax.loglog(k, [num(x["verification_share"]) for x in r], "k-o", markersize=3,
              label="verification share of electricity (Nash)")
    ax.set_xlabel("kappa (kWh per gas)")
    ax.set_ylabel("verification share")
    ax2 = ax.twinx()
    located = {t["metric"]: num(t["high"]) for t in th if t["status"] == "located"}
    for g in groups:
        y = [num(x["priced_out." + g]) for x in r]
        if "priced_out." + g in located and len(set(y)) == 2:  # one jump: draw it at the bisected kappa
            at = located["priced_out." + g]
            ax2.plot([k[0], at, at, k[-1]], [0, 0, max(y), max(y)], label=f"priced out: {g} "
                     f"(from kappa = {at:.3g})")
        else:
            ax2.step(k, y, where="post", label=f"priced out: {g}")
    ax2.set_ylabel("agents priced out")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    ax.set_title("pos-to-pow: from proof of stake (left) to proof of work (right)", fontsize=10)
    save(f, "pos-to-pow")


def replication(d: Path) -> None:
    r = rows(d / "index.csv")
    n = np.array([num(x["replicate"]) for x in r])
    ratio = np.array([num(x["ratio_max"]) for x in r])
    b, logc = np.polyfit(np.log(n), np.log(ratio - 1.0), 1)
    for x, y in zip(n, ratio):
        print(f"n = {int(x):>3}: Nash/competitive = {y:.6f}, (ratio - 1) * n = {(y - 1) * x:.4f}")
    tail = n >= 4
    b4, logc4 = np.polyfit(np.log(n[tail]), np.log(ratio[tail] - 1.0), 1)
    print(f"fit ratio - 1 = C n^-b: all n: b = {-b:.4f}, C = {math.exp(logc):.4f}; "
          f"n >= 4: b = {-b4:.4f}, C = {math.exp(logc4):.4f}")
    f, ax = fig()
    ax.loglog(n, ratio - 1.0, "o", label="Nash/competitive price ratio - 1")
    ax.loglog(n, math.exp(logc4) * n ** b4, "--",
              label=f"fit (n >= 4): {math.exp(logc4):.3g} n^-{-b4:.3f}")
    ax.set_xlabel("replication n (agents and plants copied n times)")
    ax.set_ylabel("ratio - 1")
    ax.legend(fontsize=8)
    ax.set_title("replication: market power fades as O(1/n)", fontsize=10)
    save(f, "replication")


def market_power(d: Path) -> None:
    r = rows(d / "index.csv")
    P = [num(x["producer[0].count"]) for x in r]
    for x in r:
        print(f"P = {x['producer[0].count']:>2}: {x['status']:<6} markup {num(x['markup_mean']):.4f} "
              f"ratio {num(x['ratio_max']):.4f} {x['error'][:70]}")
    f, ax = fig()
    ax.plot(P, [num(x["markup_mean"]) for x in r], "o-", label="markup over marginal cost (Nash)")
    ax.plot(P, [num(x["ratio_max"]) for x in r], "s-", label="Nash/competitive price ratio")
    PP = np.array([p for p in P if p > 1])
    ax.plot(PP, (PP / (PP - 1)) ** 2, "k:", lw=1, label="(P/(P-1))^2")
    ax.set_xlabel("producers P")
    ax.legend(fontsize=8)
    ax.set_title("market-power: markups against the number of producers (P = 1 has no Nash equilibrium)",
                 fontsize=9)
    save(f, "market-power")


def convergence(d: Path) -> None:
    r = rows(d / "index.csv")
    seeds = sorted({x["seed"] for x in r}, key=int)
    for x in r:
        print(f"damping {x['simulation.damping']}, seed {x['seed']}: {x['status']}, "
              f"{x['rounds']} rounds, distance {num(x['distance']):.2e}, ledger {x['ledger_ok']}")
    f, ax = fig()
    for s in seeds:
        mine = [x for x in r if x["seed"] == s]
        ax.plot([num(x["simulation.damping"]) for x in mine], [num(x["rounds"]) for x in mine], "o-",
                label=f"seed {s}", alpha=0.8)
    ax.set_xlabel("damping eta")
    ax.set_ylabel("rounds to reach the tolerance 1e-6")
    ax.legend(fontsize=8)
    ax.set_title("convergence: rounds on chain against the damping", fontsize=10)
    save(f, "convergence")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=str(ROOT / "runs" / "studies"))
    ap.add_argument("--only", nargs="*", choices=STUDIES, default=list(STUDIES))
    ap.add_argument("--no-run", action="store_true", help="only read the study folders")
    args = ap.parse_args()
    draw = {"pos-to-pow": pos_to_pow, "replication": replication, "market-power": market_power,
            "convergence": convergence}
    for name in args.only:
        out = Path(args.runs) / name
        if not args.no_run:
            subprocess.run([sys.executable, "-m", "emg.cli", "study", str(ROOT / "studies" / f"{name}.toml"),
                            "--out", str(out), "--quiet"], check=False, cwd=ROOT)
        print(f"== {name}")
        draw[name](out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
