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
from typing import Any


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
