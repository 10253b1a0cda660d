"""The text formats every emg output file shares: JSON numbers and CSV tables.

``emg solve`` and ``emg simulate`` write their files with these, so the same
number is written the same way in every file: floats as Python's shortest
round-trip ``repr``, and non-finite floats as JSON ``null`` (strict JSON has no
``NaN``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from market.io import check_out_dir


def json_num(x: float) -> float | None:
    """A JSON-safe float: ``nan``/``inf`` become ``None`` (``null``)."""
    x = float(x)
    return x if math.isfinite(x) else None


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A CSV table (``\\n`` line ends); floats, numpy's included, written with :func:`repr`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([repr(float(x)) if isinstance(x, float) else x for x in row])
    return buf.getvalue()


#: the files of ``emg simulate --out``, in the order they are written
SIMULATE_FILES = ("rounds.csv", "agents.csv", "prices.png", "distance.png", "verification.png",
                  "balances.png", "constrained.png", "summary.json")

#: the files of ``emg solve --out``
SOLVE_FILES = ("summary.json", "prices.csv", "agents.csv")

#: every name an emg output folder may hold: a folder holding anything else is not replaced
KNOWN_OUTPUTS = frozenset(SIMULATE_FILES) | frozenset(SOLVE_FILES)


def check_out(out_dir: str, option: str = "--out") -> Path:
    """Check an output folder before any work (:func:`market.io.check_out_dir`).

    It may be new, or an earlier output folder of either command (only
    :data:`KNOWN_OUTPUTS` and stale temporaries in it): it is replaced whole.
    """
    return check_out_dir(out_dir, option, KNOWN_OUTPUTS)
