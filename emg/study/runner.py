"""Run a study on Dask distributed and write its index table.

By default a :class:`distributed.LocalCluster` of worker processes (one per
core, one thread each) starts and stops with the study; ``scheduler=ADDRESS``
runs it on an existing cluster instead (``dask scheduler`` / ``dask worker``).
The client submits the points a few at a time (about two per worker thread),
so it holds only the futures in flight and small rows, never a point's
results: a worker writes its point's folder itself and returns the row.

A rerun skips every point whose folder holds a ``row.json`` (failed points
too, unless ``retry_failed``); an interrupted study loses at most the points
in flight. The index is rebuilt from the points' ``row.json`` files, in the
study's order, so the same study with the same seeds gives the same
``index.csv`` and ``index.parquet`` byte for byte. Wall times differ from run
to run, so they go to ``timings.csv``, not to the index.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from market.io import atomic_write_text

from emg.study.index import write_index
from emg.study.points import ROW_FILE, STATUS_FAILED, read_row, run_task
from emg.study.spec import Study, Task

STUDY_JSON = "study.json"


@dataclass
class StudyRun:
    """What :func:`run_study` did.

    Attributes
    ----------
    total : int
        Tasks in the study (points x seeds).
    skipped : int
        Complete before this run (not run again).
    ran : int
        Run now.
    failed : int
        Rows whose status is ``failed`` (now or from before).
    not_converged : int
        Rows whose status is ``not-converged``.
    dashboard : str or None
        The Dask dashboard's address, when asked for.
    files : list of Path
        The study-level files written.
    """

    total: int
    skipped: int
    ran: int
    failed: int
    not_converged: int
    dashboard: str | None
    files: list[Path]
    thresholds: list[Any] | None = None


def study_json(study: Study) -> dict[str, Any]:
    """The study as run: what ``study.json`` records (for the report and for people)."""
    return {
        "name": study.name, "description": study.description, "mode": study.mode,
        "combine": study.combine, "n": study.n, "design_seed": study.design_seed,
        "seeds": list(study.seeds) if study.seeds is not None else None,
        "replications": study.replications,
        "axes": [{"path": a.path, "values": list(a.values), "low": None if math.isnan(a.low) else a.low,
                  "high": None if math.isnan(a.high) else a.high, "log": a.log,
                  "integer": a.integer} for a in study.axes],
        "base_scenario": study.base,
    }


def pending_tasks(tasks: list[Task], out_dir: Path, retry_failed: bool) -> list[Task]:
    """The tasks still to run: no ``row.json`` yet, or failed and ``retry_failed``; each id once."""
    seen: set[str] = set()
    out = []
    for t in tasks:
        if t.id in seen:
            continue
        seen.add(t.id)
        row = read_row(out_dir, t.id)
        if row is None or (retry_failed and row["status"] == STATUS_FAILED):
            out.append(t)
    return out


def _start_client(scheduler: str | None, workers: int | None,
                  dashboard: bool) -> tuple[Any, Any]:
    """A Dask client, and the LocalCluster it owns (``None`` on an existing cluster)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    n = workers or os.cpu_count() or 1
    # without a dashboard the scheduler still serves HTTP (health, metrics): on a free port,
    # not on 8787, which another cluster may hold
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0" if dashboard else None,
                           scheduler_kwargs=None if dashboard else {"dashboard_address": ":0"},
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _failed_row(task: Task, exc: BaseException) -> dict[str, Any]:
    msg = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]
    return {"id": task.id, "status": STATUS_FAILED, "error": msg, "wall_seconds": None,
            "metrics": {}}


def run_study(study: Study, out_dir: str | os.PathLike[str], *, scheduler: str | None = None,
              workers: int | None = None, dashboard: bool = False, retry_failed: bool = False,
              progress: bool = True, report: bool = True,
              say: Callable[[str], None] | None = None) -> StudyRun:
    """Run every pending point of ``study`` into ``out_dir`` and write the index, plots and report.

    Parameters
    ----------
    study : Study
    out_dir : path
        The study folder (created).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default:
        a LocalCluster started and stopped here.
    workers : int, optional
        LocalCluster worker processes (default: one per core).
    dashboard : bool
        Start the dashboard and report its address.
    retry_failed : bool
        Run the points recorded as failed again.
    progress : bool
        A tqdm progress bar on stderr.
    report : bool
        Write ``plots/`` and ``report.html`` after the index.
    say : callable, optional
        Where the one-line messages go (default: stderr).
    """
    emit = say or (lambda s: print(s, file=sys.stderr))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STUDY_JSON, json.dumps(study_json(study), indent=2) + "\n")
    tasks = study.tasks()
    todo = pending_tasks(tasks, out, retry_failed)
    unique = len({t.id for t in tasks})
    emit(f"emg study: {study.name}: {len(tasks)} tasks ({unique} distinct points), "
         f"{unique - len(todo)} complete, {len(todo)} to run")
    engine = _Engine(scheduler, workers, dashboard, out, progress, emit)
    brackets = None
    try:
        engine.run(todo)
        files = write_index(tasks, study, out)
        if study.threshold is not None:
            from emg.study.threshold import THRESHOLDS_CSV, locate

            brackets = locate(study, out, engine.batch)
            files.append(out / THRESHOLDS_CSV)
    finally:
        engine.close()
    dash = engine.dashboard
    rows = [read_row(out, t.id) for t in tasks]
    failed = sum(1 for r in rows if r and r["status"] == STATUS_FAILED)
    notc = sum(1 for r in rows if r and r["status"] == "not-converged")
    if report:
        from emg.study.plots import write_plots

        files += write_plots(study, out)
        from emg.report import write_study_report

        files.append(write_study_report(study, out))
    return StudyRun(total=len(tasks), skipped=unique - len(todo), ran=len(todo), failed=failed,
                    not_converged=notc, dashboard=dash, files=files, thresholds=brackets)


class _Engine:
    """The Dask client, started on first use (a rerun with nothing to do starts no cluster)."""

    def __init__(self, scheduler: str | None, workers: int | None, dashboard: bool, out: Path,
                 progress: bool, emit: Callable[[str], None]) -> None:
        self.scheduler, self.workers, self.want_dashboard = scheduler, workers, dashboard
        self.out, self.progress, self.emit = out, progress, emit
        self.client: Any = None
        self.cluster: Any = None
        self.dashboard: str | None = None

    def _client(self) -> Any:
        if self.client is None:
            self.client, self.cluster = _start_client(self.scheduler, self.workers,
                                                      self.want_dashboard)
            if self.want_dashboard:
                self.dashboard = str(self.client.dashboard_link)
                self.emit(f"emg study: Dask dashboard at {self.dashboard}")
        return self.client

    def run(self, todo: list[Task]) -> None:
        """Run ``todo`` (each writes its point folder)."""
        if todo:
            _run_on(self._client(), todo, self.out, self.progress)

    def batch(self, tasks: list[Task]) -> list[dict[str, Any]]:
        """Run what is not complete of ``tasks``; every task's row, in order."""
        self.run(pending_tasks(tasks, self.out, retry_failed=False))
        rows = [read_row(self.out, t.id) for t in tasks]
        assert all(r is not None for r in rows)
        return [r for r in rows if r is not None]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _run_on(client: Any, todo: list[Task], out: Path, progress: bool) -> None:
    """Submit ``todo`` a few at a time, as workers free up; record what fails on the client side."""
    from distributed import as_completed
    from tqdm import tqdm

    threads = sum(client.nthreads().values())
    slots = max(2, 2 * threads)
    queue = iter(todo)
    by_key: dict[str, Task] = {}

    def submit() -> Any:
        task = next(queue, None)
        if task is None:
            return None
        fut = client.submit(run_task, task, str(out), key=f"emg-point-{task.id}", pure=False,
                            retries=0)
        by_key[fut.key] = task
        return fut

    first = [f for f in (submit() for _ in range(slots)) if f is not None]
    done = failed = 0
    bar = tqdm(total=len(todo), unit="pt", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    try:
        pool = as_completed(first)
        for fut in pool:
            task = by_key.pop(fut.key)
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a killed worker: record and go on
                row = _failed_row(task, exc)
                atomic_write_text(out / "points" / task.id / ROW_FILE,
                                  json.dumps(row, indent=2) + "\n")
            fut.release()
            done += 1
            failed += row["status"] == STATUS_FAILED
            nxt = submit()
            if nxt is not None:
                pool.add(nxt)
            bar.set_postfix(done=done, failed=failed, running=min(len(by_key), threads), refresh=False)
            bar.update(1)
    finally:
        bar.close()
