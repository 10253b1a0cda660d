"""``emg study STUDY.toml --out DIR``: sweep scenarios on Dask, one row per point x seed.

The study file (``docs/study.md``) names a base scenario, the axes, how they
combine and the mode; :mod:`emg.study.spec` validates it and resolves every
point to a scenario document, :mod:`emg.study.runner` runs the points on Dask
distributed (a LocalCluster by default, ``--scheduler`` for an existing
cluster), :mod:`emg.study.points` is what a worker runs for one point, and
:mod:`emg.study.plots` draws the comparative statics. Top-level imports stay
light: Dask, pyarrow and the chain load inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg study``."""
    parser.add_argument("study", help="study TOML file (see docs/study.md)")
    parser.add_argument("--out", metavar="DIR", required=True,
                        help="the study folder: index.parquet, index.csv, points/, plots/, report.html "
                        "(a rerun into the same folder skips the completed points)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on an existing Dask cluster (e.g. tcp://10.0.0.1:8786) instead of "
                        "a LocalCluster")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="LocalCluster worker processes (default: one per core)")
    parser.add_argument("--dashboard", action="store_true", help="print Dask's dashboard address")
    parser.add_argument("--retry-failed", action="store_true",
                        help="run again the points recorded as failed")
    parser.add_argument("--no-report", action="store_true",
                        help="write the index only (no plots/, no report.html)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the study; exit 0 when no point failed, 1 otherwise."""
    from market.errors import ScenarioError

    from emg.study.runner import run_study
    from emg.study.spec import load_study

    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers: must be >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise ScenarioError("--workers: only for the LocalCluster, not with --scheduler")
    study = load_study(args.study)
    res = run_study(study, args.out, scheduler=args.scheduler, workers=args.workers,
                    dashboard=args.dashboard, retry_failed=args.retry_failed,
                    progress=not args.quiet, report=not args.no_report)
    if args.dashboard and res.dashboard is None:
        print("emg study: no dashboard: every point was complete, no cluster was started",
              file=sys.stderr)
    ok = res.total - res.failed - res.not_converged
    print(f"{study.name}: {res.total} rows: {ok} ok, {res.not_converged} not converged, "
          f"{res.failed} failed ({res.ran} run now, {res.skipped} complete before)")
    pngs = sum(1 for p in res.files if p.suffix == ".png")
    print(f"wrote {', '.join(str(p) for p in res.files if p.suffix != '.png')}"
          + (f" and {pngs} plots in {args.out}/plots" if pngs else ""), file=sys.stderr)
    return 1 if res.failed else 0
