"""The study's index table: one row per task, rebuilt from the points' ``row.json`` files.

Rows come in the study's order and carry no wall time, so the same study with
the same seeds gives the same ``index.csv`` and ``index.parquet`` byte for
byte; each point's wall time goes to ``timings.csv``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from market.io import atomic_write_bytes, atomic_write_text

from emg.formats import csv_text
from emg.study.points import read_row
from emg.study.spec import Study, Task

INDEX_CSV = "index.csv"
INDEX_PARQUET = "index.parquet"
TIMINGS_CSV = "timings.csv"

#: the index's leading columns, before the axes and the metrics
LEAD = ("order", "point", "id", "mode", "seed")


def index_rows(tasks: list[Task], study: Study, out: Path) -> tuple[list[str], list[list[Any]]]:
    """The index table: header and rows, one row per task, in the study's order.

    Columns: ``order, point, id, mode, seed``, one per axis (its dotted
    path), ``status, error``, then the metrics in order of first appearance.
    A point that has not completed has status ``missing``.
    """
    axes = [a.path for a in study.axes]
    rows_raw = []
    metric_names: dict[str, None] = {}
    for t in tasks:
        row = read_row(out, t.id)
        rows_raw.append(row)
        if row:
            for k in row["metrics"]:
                metric_names.setdefault(k, None)
    header = [*LEAD, *axes, "status", "error", *metric_names]
    table = []
    for t, row in zip(tasks, rows_raw):
        base = [t.order, t.point, t.id, t.mode, t.seed, *(t.values.get(a) for a in axes)]
        if row is None:
            table.append([*base, "missing", "", *(None for _ in metric_names)])
        else:
            m = row["metrics"]
            table.append([*base, row["status"], row["error"], *(m.get(k) for k in metric_names)])
    return header, table


def _arrow_column(values: list[Any]) -> Any:
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if kinds <= {bool}:
        return pa.array(values, type=pa.bool_())
    if kinds <= {int}:
        return pa.array(values, type=pa.int64())
    if kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_index(tasks: list[Task], study: Study, out: Path) -> list[Path]:
    """Write ``index.csv``, ``index.parquet`` and ``timings.csv`` (atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, table = index_rows(tasks, study, out)
    atomic_write_text(out / INDEX_CSV, csv_text(header, [["" if v is None else v for v in r]
                                                         for r in table]))
    cols = {name: _arrow_column([r[k] for r in table]) for k, name in enumerate(header)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="zstd")
    atomic_write_bytes(out / INDEX_PARQUET, buf.getvalue())
    timing = []
    for t in tasks:
        row = read_row(out, t.id) or {}

        def sec(key: str) -> float | str:
            v = row.get(key)
            return "" if v is None else round(float(v), 6)
        timing.append([t.order, t.id, sec("wall_seconds"), sec("work_seconds")])
    atomic_write_text(out / TIMINGS_CSV, csv_text(["order", "id", "wall_seconds", "work_seconds"],
                                                  timing))
    return [out / INDEX_CSV, out / INDEX_PARQUET, out / TIMINGS_CSV]
