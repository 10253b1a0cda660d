"""Study files (TOML): the axes, the design, and each point's resolved scenario.

A study names a base scenario, the axes that vary (any scenario or
``[simulation]`` field by its dotted path, plus ``replicate`` and ``money``),
how the axes combine (``grid``, ``zip``, ``sobol``, ``lhs``), the mode
(``solve``, ``simulate``, ``solve+simulate``) and the seeds of the
simulations. The schema is ``docs/study.md``. Every key is checked and an
error names the field as the file spells it (``axes."producer[0].c": ...``),
like the scenario loader's errors.

Each point is resolved to a complete scenario *document* (the parsed TOML
with the axis values written in), validated by the one scenario loader,
:func:`market.scenario.scenario_from_dict`. A point's id is a content hash
of that document and the settings that shape its outputs, so a rerun
recognises the points it has already computed.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from market.errors import ScenarioError
from market.model import Scenario
from market.scenario import parse_scenario_text, read_scenario_text, scenario_from_dict

#: version of the point outputs; part of every point id (bump when a point's files change)
POINT_FORMAT = 1

MODES = ("solve", "simulate", "solve+simulate")
COMBINES = ("grid", "zip", "sobol", "lhs")
SPECIAL_AXES = ("replicate", "money")

_TOP = {"name", "description", "scenario", "mode", "combine", "n", "design_seed", "replications",
        "seeds", "axes", "simulate_at", "threshold"}


class StudyError(ScenarioError):
    """A study file is invalid; the message names the field."""


def _read_toml(p: Path, field: str) -> dict[str, Any]:
    """A TOML file read as scenario files are (regular files only, size cap, UTF-8,
    bounded nesting: :func:`market.scenario.read_scenario_text`), errors as :class:`StudyError`."""
    try:
        return parse_scenario_text(read_scenario_text(p), str(p))
    except StudyError:
        raise
    except ScenarioError as exc:
        raise StudyError(f"{field}: {exc}") from None


# ----------------------------------------------------------------------------- axes

@dataclass(frozen=True)
class Axis:
    """One axis: the dotted path it sets, and its values (or a range for a quasi-random design).

    Attributes
    ----------
    path : str
        ``verification.kappa``, ``producer[0].c``, ``simulation.damping``,
        ``replicate`` or ``money``.
    values : tuple
        The values of a ``grid``/``zip`` design (empty for ``sobol``/``lhs``).
    low, high : float
        The range of a quasi-random design.
    log : bool
        The values are log-spaced (``logspace``, or a range with ``log = true``):
        plots use a log axis.
    integer : bool
        The values are integers (``replicate``, ``count`` fields): quasi-random
        draws are rounded.
    """

    path: str
    values: tuple[Any, ...] = ()
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    integer: bool = False

    @property
    def numeric(self) -> bool:
        """Every value is a number (plots use numeric axes only)."""
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


def _num(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise StudyError(f"{where}: expected a finite number, got {v!r}")
    return float(v)


def _space(spec: Any, where: str, kind: str) -> tuple[float, float, int]:
    if not isinstance(spec, list) or len(spec) != 3:
        raise StudyError(f"{where}.{kind}: expected [start, stop, count], got {spec!r}")
    a, b = _num(spec[0], f"{where}.{kind}[0]"), _num(spec[1], f"{where}.{kind}[1]")
    n = spec[2]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise StudyError(f"{where}.{kind}[2]: the count must be an integer >= 1, got {n!r}")
    if kind == "logspace" and not (a > 0 and b > 0):
        raise StudyError(f"{where}.logspace: start and stop must be > 0, got {a!r}, {b!r}")
    return a, b, n


def _clean(x: float) -> float:
    """A float with its last-bit noise removed (12 significant digits), so ids and tables stay stable."""
    return float(f"{x:.12g}")


def _axis(path: str, spec: Any, qmc: bool) -> Axis:
    where = f"axes.{_quote(path)}"
    integer = path == "replicate" or path.endswith(".count") or path in ("T", "simulation.rounds",
                                                                         "simulation.seed")
    if isinstance(spec, list):
        if not spec:
            raise StudyError(f"{where}: an empty list of values")
        if qmc:
            raise StudyError(f"{where}: a {{ range = [low, high] }} is needed for a sobol/lhs design, "
                             "got a list")
        return Axis(path, tuple(spec), integer=integer)
    if not isinstance(spec, dict):
        raise StudyError(f"{where}: expected a list of values, {{ linspace = [a, b, n] }}, "
                         f"{{ logspace = [a, b, n] }} or {{ range = [low, high] }}, got {spec!r}")
    keys = set(spec)
    allowed = {"linspace", "logspace", "range", "log"}
    for k in keys - allowed:
        raise StudyError(f"{where}.{k}: unknown key (allowed: {', '.join(sorted(allowed))})")
    kinds = keys & {"linspace", "logspace", "range"}
    if len(kinds) != 1:
        raise StudyError(f"{where}: give exactly one of linspace, logspace, range")
    kind = kinds.pop()
    if kind == "range":
        r = spec["range"]
        if not isinstance(r, list) or len(r) != 2:
            raise StudyError(f"{where}.range: expected [low, high], got {r!r}")
        lo, hi = _num(r[0], f"{where}.range[0]"), _num(r[1], f"{where}.range[1]")
        if not lo < hi:
            raise StudyError(f"{where}.range: low must be < high, got {lo!r}, {hi!r}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise StudyError(f"{where}.log: expected true or false, got {log!r}")
        if log and lo <= 0:
            raise StudyError(f"{where}.range: a log range needs low > 0, got {lo!r}")
        if not qmc:
            raise StudyError(f"{where}.range: a range is for combine = \"sobol\" or \"lhs\"; "
                             "use linspace/logspace or a list for grid/zip")
        return Axis(path, (), lo, hi, log=log, integer=integer)
    if "log" in spec:
        raise StudyError(f"{where}.log: only used with range")
    if qmc:
        raise StudyError(f"{where}: a {{ range = [low, high] }} is needed for a sobol/lhs design, "
                         f"got {kind}")
    a, b, n = _space(spec[kind], where, kind)
    if kind == "linspace":
        vals = np.linspace(a, b, n)
    else:
        vals = np.logspace(math.log10(a), math.log10(b), n)
    out = tuple(int(round(v)) if integer else _clean(float(v)) for v in vals)
    return Axis(path, out, log=kind == "logspace", integer=integer)


def _quote(path: str) -> str:
    return path if re.fullmatch(r"[A-Za-z0-9_-]+", path) else json.dumps(path)


# ----------------------------------------------------------------------------- dotted paths

_SEG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


def _segments(path: str, where: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = _SEG.match(part)
        if not m:
            raise StudyError(f"{where}: not a dotted path like verification.kappa or producer[0].c")
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def set_path(doc: dict[str, Any], path: str, value: Any, where: str) -> None:
    """Write ``value`` at the dotted ``path`` of a scenario document (in place).

    A missing table on the way is created (``simulation.damping`` in a scenario
    without ``[simulation]``); a missing list entry is an error naming it.
    """
    segs = _segments(path, where)
    node: Any = doc
    walked = ""
    for k, seg in enumerate(segs):
        last = k == len(segs) - 1
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise StudyError(f"{where}: {walked} is not a list in the base scenario")
            if seg >= len(node):
                raise StudyError(f"{where}: {walked} has {len(node)} entries in the base scenario, "
                                 f"no [{seg}]")
            walked += f"[{seg}]"
            if last:
                node[seg] = value
            else:
                node = node[seg]
            continue
        if not isinstance(node, dict):
            raise StudyError(f"{where}: {walked} is not a table in the base scenario")
        walked = f"{walked}.{seg}" if walked else seg
        if last:
            node[seg] = value
        else:
            nxt = segs[k + 1]
            if seg not in node:
                if isinstance(nxt, int):
                    raise StudyError(f"{where}: the base scenario has no {walked}")
                node[seg] = {}
            node = node[seg]


def _groups(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for key in ("standard", "producer") for g in doc.get(key, []) if isinstance(g, dict)]


def apply_axis(doc: dict[str, Any], path: str, value: Any) -> None:
    """Write one axis value into a scenario document (``replicate`` and ``money`` included)."""
    where = f"axes.{_quote(path)} = {value!r}"
    if path == "replicate":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise StudyError(f"{where}: replicate must be an integer >= 1")
        for g in _groups(doc):
            g["count"] = int(g.get("count", 1)) * value
    elif path == "money":
        k = _num(value, where)
        if not k > 0:
            raise StudyError(f"{where}: money must be > 0")
        for g in _groups(doc):
            g["bytecoins"] = float(g.get("bytecoins", 0.0)) * k
    else:
        set_path(doc, path, value, where)


# ----------------------------------------------------------------------------- the study

@dataclass(frozen=True)
class Task:
    """One unit of work: a design point, in one mode, with one seed.

    Attributes
    ----------
    id : str
        Content hash of ``doc`` and the settings (16 hex digits).
    order : int
        Position in the study (the index's row order).
    point : int
        The design point's number (replications of a point share it).
    mode : str
        ``solve`` or ``simulate``.
    values : dict
        Axis path -> value.
    seed : int or None
        The simulation's seed (``None`` for ``solve``).
    doc : dict
        The resolved scenario document.
    """

    id: str
    order: int
    point: int
    mode: str
    values: dict[str, Any]
    seed: int | None
    doc: dict[str, Any]

    def scenario(self) -> Scenario:
        """The point's scenario, validated by the scenario loader."""
        return scenario_from_dict(self.doc)


@dataclass(frozen=True)
class Threshold:
    """Where a metric first turns positive along the study's one axis, located by bisection.

    Attributes
    ----------
    metric : str
        An index column (``priced_out.edge``), or a prefix ending in ``.*``
        (``priced_out.*``: every group's column).
    rtol : float
        Stop when ``high / low - 1 <= rtol``.
    """

    metric: str
    rtol: float = 0.01


@dataclass(frozen=True)
class Study:
    """A validated study file."""

    name: str
    description: str
    base: dict[str, Any]
    mode: str
    combine: str
    axes: tuple[Axis, ...]
    n: int = 0
    design_seed: int = 0
    seeds: tuple[int, ...] | None = None
    replications: int = 1
    simulate_at: tuple[dict[str, Any], ...] = ()
    path: str | None = None
    threshold: Threshold | None = None

    def design(self) -> list[dict[str, Any]]:
        """The design points: one dict axis path -> value per point, in order."""
        return _design(self.axes, self.combine, self.n, self.design_seed)

    def tasks(self) -> list[Task]:
        """Every (point, mode, seed) of the study, in order, each resolved and validated."""
        out: list[Task] = []
        plan: list[tuple[str, dict[str, Any]]] = []
        if self.mode in ("solve", "solve+simulate"):
            plan += [("solve", p) for p in self.design()]
        if self.mode == "simulate":
            plan += [("simulate", p) for p in self.design()]
        elif self.mode == "solve+simulate":
            plan += [("simulate", dict(p)) for p in self.simulate_at]
        point = -1
        for mode, values in plan:
            point += 1
            doc = self.resolve(values, f"point {point}")
            if mode == "solve":
                seeds: list[int | None] = [None]
            else:
                base_seed = int(doc.get("simulation", {}).get("seed", 0))
                seeds = list(self.seeds) if self.seeds is not None else [
                    base_seed + r for r in range(self.replications)]
            for seed in seeds:
                d = copy.deepcopy(doc)
                if seed is not None:
                    d.setdefault("simulation", {})["seed"] = seed
                out.append(Task(id=point_id(d, mode), order=len(out), point=point, mode=mode,
                                values=values, seed=seed, doc=d))
        return out

    def resolve(self, values: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The base document with the axis values written in, validated (errors name the point)."""
        doc = copy.deepcopy(self.base)
        for path, value in values.items():
            apply_axis(doc, path, value)
        try:
            scenario_from_dict(doc)
        except StudyError:
            raise
        except ScenarioError as exc:
            shown = ", ".join(f"{p} = {v!r}" for p, v in values.items())
            raise StudyError(f"{where} ({shown}): {exc}") from None
        return doc


def point_id(doc: Mapping[str, Any], mode: str) -> str:
    """The content hash of a resolved scenario document and the settings (16 hex digits)."""
    blob = json.dumps({"format": POINT_FORMAT, "mode": mode, "scenario": doc},
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _design(axes: tuple[Axis, ...], combine: str, n: int, seed: int) -> list[dict[str, Any]]:
    if not axes:
        return [{}]
    if combine == "grid":
        return [dict(zip((a.path for a in axes), combo))
                for combo in itertools.product(*(a.values for a in axes))]
    if combine == "zip":
        return [dict(zip((a.path for a in axes), combo)) for combo in zip(*(a.values for a in axes))]
    from scipy.stats import qmc

    d = len(axes)
    sampler: qmc.QMCEngine = (qmc.Sobol(d, scramble=True, seed=seed) if combine == "sobol"
                              else qmc.LatinHypercube(d, seed=seed))
    u = sampler.random(n)
    points = []
    for row in u:
        p: dict[str, Any] = {}
        for a, x in zip(axes, row):
            if a.log:
                v = math.exp(math.log(a.low) + float(x) * (math.log(a.high) - math.log(a.low)))
            else:
                v = a.low + float(x) * (a.high - a.low)
            p[a.path] = int(round(v)) if a.integer else _clean(v)
        points.append(p)
    return points


# ----------------------------------------------------------------------------- loading

def _int_field(doc: Mapping[str, Any], key: str, default: int, low: int) -> int:
    v = doc.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise StudyError(f"{key}: expected an integer >= {low}, got {v!r}")
    return v


def study_from_dict(doc: Mapping[str, Any], path: str | None = None) -> Study:
    """Validate a parsed study document (see :func:`load_study`)."""
    for key in doc:
        if key not in _TOP:
            raise StudyError(f"{key}: unknown key (allowed: {', '.join(sorted(_TOP))})")
    name = doc.get("name", Path(path).stem if path else "study")
    if not isinstance(name, str) or not name:
        raise StudyError(f"name: expected a non-empty string, got {name!r}")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise StudyError(f"description: expected a string, got {description!r}")
    mode = doc.get("mode", "solve")
    if mode not in MODES:
        raise StudyError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    combine = doc.get("combine")
    if combine is None:
        raise StudyError(f"combine: missing (say how the axes combine: {', '.join(COMBINES)})")
    if combine not in COMBINES:
        raise StudyError(f"combine: expected one of {', '.join(COMBINES)}, got {combine!r}")
    qmc = combine in ("sobol", "lhs")
    n = 0
    if qmc:
        if "n" not in doc:
            raise StudyError(f"n: missing (the number of points of a {combine} design)")
        n = _int_field(doc, "n", 0, 1)
    elif "n" in doc:
        raise StudyError(f"n: only used with combine = \"sobol\" or \"lhs\"")
    design_seed = _int_field(doc, "design_seed", 0, 0)

    # the base scenario: a path (relative to the study file) or an inline table
    if "scenario" not in doc:
        raise StudyError("scenario: missing (a scenario file's path, or an inline [scenario] table)")
    raw = doc["scenario"]
    if isinstance(raw, str):
        p = Path(raw)
        if not p.is_absolute() and path is not None:
            p = Path(path).parent / p
        if not p.exists():
            raise StudyError(f"scenario: no such scenario file {str(p)!r}")
        base = _read_toml(p, "scenario")
        base.setdefault("name", p.stem)
    elif isinstance(raw, dict):
        base = copy.deepcopy(dict(raw))
    else:
        raise StudyError(f"scenario: expected a path or a table, got {raw!r}")
    try:
        scenario_from_dict(base)
    except ScenarioError as exc:
        raise StudyError(f"scenario: {exc}") from None

    # axes
    raw_axes = doc.get("axes", {})
    if not isinstance(raw_axes, dict):
        raise StudyError("axes: expected a table [axes]")
    axes = tuple(_axis(str(k), v, qmc) for k, v in raw_axes.items())
    if qmc and not axes:
        raise StudyError(f"axes: a {combine} design needs at least one axis")
    if combine == "zip" and axes:
        lengths = {a.path: len(a.values) for a in axes}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{_quote(k)} has {v}" for k, v in lengths.items())
            raise StudyError(f"axes: combine = \"zip\" pairs values by position, but the axes have "
                             f"unequal lengths ({shown})")

    # seeds
    simulates = mode != "solve"
    if "seeds" in doc and "replications" in doc:
        raise StudyError("seeds: give seeds or replications, not both")
    seeds: tuple[int, ...] | None = None
    replications = 1
    if "seeds" in doc or "replications" in doc:
        key = "seeds" if "seeds" in doc else "replications"
        if not simulates:
            raise StudyError(f"{key}: only used when the study simulates (mode = \"simulate\" or "
                             "\"solve+simulate\")")
        if key == "seeds":
            s = doc["seeds"]
            if (not isinstance(s, list) or not s
                    or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in s)):
                raise StudyError(f"seeds: expected a non-empty list of integers >= 0, got {s!r}")
            if len(set(s)) != len(s):
                raise StudyError(f"seeds: repeated seeds in {s!r}")
            seeds = tuple(s)
        else:
            replications = _int_field(doc, "replications", 1, 1)
    if any(a.path == "simulation.seed" for a in axes) and (seeds is not None or replications > 1):
        raise StudyError("axes.\"simulation.seed\": the seed is an axis; drop seeds/replications")

    # chosen simulate points
    simulate_at: tuple[dict[str, Any], ...] = ()
    if mode == "solve+simulate":
        raw_at = doc.get("simulate_at")
        if not isinstance(raw_at, list) or not raw_at or not all(isinstance(x, dict) for x in raw_at):
            raise StudyError("simulate_at: mode = \"solve+simulate\" needs a list of points, "
                             "e.g. simulate_at = [{ \"verification.kappa\" = 6.6e-8 }]")
        names = {a.path for a in axes}
        for k, pt in enumerate(raw_at):
            if set(pt) != names:
                raise StudyError(f"simulate_at[{k}]: give a value for every axis "
                                 f"({', '.join(sorted(names))}), got {', '.join(sorted(pt))}")
        simulate_at = tuple(dict(x) for x in raw_at)
    elif "simulate_at" in doc:
        raise StudyError("simulate_at: only used with mode = \"solve+simulate\"")

    threshold = None
    if "threshold" in doc:
        th = doc["threshold"]
        if not isinstance(th, dict):
            raise StudyError("threshold: expected a table { metric = \"priced_out.*\", rtol = 0.01 }")
        for k in th:
            if k not in ("metric", "rtol"):
                raise StudyError(f"threshold.{k}: unknown key (allowed: metric, rtol)")
        metric = th.get("metric")
        if not isinstance(metric, str) or not metric:
            raise StudyError(f"threshold.metric: expected an index column name, got {metric!r}")
        rtol = _num(th.get("rtol", 0.01), "threshold.rtol")
        if not 0 < rtol < 1:
            raise StudyError(f"threshold.rtol: must be in (0, 1), got {rtol!r}")
        if mode != "solve" or combine not in ("grid", "zip") or len(axes) != 1 or not axes[0].numeric:
            raise StudyError("threshold: needs mode = \"solve\" and one numeric grid axis")
        if axes[0].log and min(axes[0].values) <= 0:
            raise StudyError("threshold: a log axis needs values > 0")
        threshold = Threshold(metric, rtol)

    study = Study(name=name, description=description, base=base, mode=mode, combine=combine,
                  axes=axes, n=n, design_seed=design_seed, seeds=seeds, replications=replications,
                  simulate_at=simulate_at, path=path, threshold=threshold)
    study.tasks()  # resolve and validate every point now: a bad value fails before any work
    return study


def load_study(path: str | Path) -> Study:
    """Load and validate a study TOML file.

    Raises
    ------
    StudyError
        The file is missing, is not TOML, or a field is invalid (the message names it).
    """
    p = Path(path)
    if not p.exists():
        raise StudyError(f"{p}: no such study file")
    return study_from_dict(_read_toml(p, "study"), str(p))
