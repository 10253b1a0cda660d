"""Scenario files (TOML): loading and validation. The schema is ``docs/scenarios.md``.

Every key is checked: an unknown key, a wrong type or a bad value raises
:class:`~market.errors.ScenarioError` whose message starts with the field's
path as the file spells it (``producer[1].thetta: unknown key``).
"""

from __future__ import annotations

import math
import os
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from market.errors import ScenarioError
from market.model import (
    MAX_KAPPA,
    MAX_T,
    DEFAULT_GAS_PRODUCER,
    DEFAULT_GAS_STANDARD,
    Economy,
    GasPerOrder,
    ProducerGroup,
    Scenario,
    SimulationSettings,
    StandardGroup,
    Utility,
    Verification,
)
from market.kappa import (
    DEFAULT_NODES,
    MAX_NODES,
    MIN_NODES,
    MAX_SERIES,
    MAX_STATES,
    KappaStates,
    discrete_states,
    lognormal_states,
    series_states,
    uniform_states,
)
from market.shocks import events_from_list
from market.presets import kappa_value

_TOP = {"name", "description", "T", "verification", "standard", "producer", "simulation", "event"}
_VERIFICATION = {"kappa", "schedule", "gas_per_order"}
_GAS = {"standard", "producer"}
_STANDARD = {"name", "count", "omega", "alpha", "alpha0", "bytecoins", "utility", "sigma"}
_PRODUCER = {"name", "count", "theta", "c", "K", "rho", "alpha", "alpha0", "bytecoins", "stock",
             "utility", "sigma"}
_SIMULATION = {"rounds", "seed", "strategy", "damping", "tolerance", "backend", "round_duration", "market"}

#: largest scenario file read (bytes): checked before reading
MAX_FILE_BYTES = 1 << 20
#: stack frames the TOML parser may use (about 3 per level of nested arrays or tables)
_PARSE_DEPTH = 600
#: longest group or scenario name (characters)
MAX_NAME = 64
#: longest description (characters)
MAX_DESCRIPTION = 10_000
#: most rounds of a simulation
MAX_ROUNDS = 1_000_000
#: largest random seed (seeds are 64-bit, >= 0)
MAX_SEED = (1 << 64) - 1
#: longest round (seconds): the contract's bound of 365 days
MAX_ROUND_DURATION = 365 * 24 * 3600.0


def _show(v: Any, limit: int = 60) -> str:
    """``repr(v)`` cut to ``limit`` characters, for one-line messages."""
    try:
        text = repr(v)
    except (RecursionError, ValueError):
        text = f"<{type(v).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise ScenarioError(f"{prefix}{_show(key)[1:-1]}: unknown key "
                                f"(allowed: {', '.join(sorted(allowed))})")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _number(table: Mapping[str, Any], key: str, where: str, default: float | None = None,
            required: bool = True) -> float:
    if key not in table:
        if default is not None or not required:
            return default  # type: ignore[return-value]
        raise ScenarioError(f"{_path(where, key)}: missing")
    return _float(table[key], _path(where, key))


def _float(v: Any, name: str, what: str = "a number") -> float:
    """A TOML number as a finite float (integers of any size included)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{name}: expected {what}, got {_show(v)}")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ScenarioError(f"{name}: must be finite, got {_show(v)}")
    return x


def _int(table: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    if key not in table:
        if default is not None:
            return default
        raise ScenarioError(f"{_path(where, key)}: missing")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{_path(where, key)}: expected an integer, got {_show(v)}")
    return v


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is not None:
            return default
        raise ScenarioError(f"{_path(where, key)}: missing")
    v = table[key]
    if not isinstance(v, str):
        raise ScenarioError(f"{_path(where, key)}: expected a string, got {_show(v)}")
    return v


def _name(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    """A name: 1 to MAX_NAME printable characters."""
    v = _str(table, key, where, default)
    if not v or len(v) > MAX_NAME or not v.isprintable():
        raise ScenarioError(f"{_path(where, key)}: must be 1 to {MAX_NAME} printable characters, "
                            f"got {_show(v)}")
    return v


def _profile(table: Mapping[str, Any], key: str, where: str, T: int,
             default: tuple[float, ...] | None = None, scalar_ok: bool = False) -> tuple[float, ...]:
    """A list of ``T`` numbers (or, if ``scalar_ok``, one number repeated ``T`` times)."""
    f = _path(where, key)
    if key not in table:
        if default is not None:
            return default
        raise ScenarioError(f"{f}: missing")
    v = table[key]
    if scalar_ok and not isinstance(v, list):
        return (_number(table, key, where),) * T
    if not isinstance(v, list):
        raise ScenarioError(f"{f}: expected a list of {T} numbers, got {_show(v)}")
    if len(v) != T:
        raise ScenarioError(f"{f}: has {len(v)} entries but T = {T}")
    return tuple(_float(x, f"{f}[{t}]", "a finite number") for t, x in enumerate(v))


def _utility(table: Mapping[str, Any], where: str) -> Utility:
    kind = _str(table, "utility", where, "log")
    if kind not in ("log", "ces"):
        raise ScenarioError(f"{where}.utility: unknown utility {_show(kind)} (known: log, ces)")
    if kind == "log":
        if "sigma" in table:
            raise ScenarioError(f"{where}.sigma: only used with utility = \"ces\"")
        return Utility("log")
    return Utility("ces", _number(table, "sigma", where))


def _tables(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    v = doc.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ScenarioError(f"{key}: expected an array of tables ([[{key}]])")
    return v


def economy_from_dict(doc: Mapping[str, Any], base: Path | None = None) -> Economy:
    """Build and validate an :class:`~market.model.Economy` from a parsed scenario document.

    ``base`` is the folder a relative file name in the document (a κ series)
    is read from (the scenario file's folder; default the working directory).
    """
    T = _int(doc, "T", "")
    if not 1 <= T <= MAX_T:  # before any list of T entries is built
        raise ScenarioError(f"T: must be an integer >= 1 and <= {MAX_T} (the contract's bound), "
                            f"got {_show(T)}")
    ver = doc.get("verification", {})
    if not isinstance(ver, dict):
        raise ScenarioError("verification: expected a table")
    _unknown(ver, _VERIFICATION, "verification")
    raw_kappa = ver.get("kappa", "free")
    states = None
    if isinstance(raw_kappa, dict):
        states = kappa_states_from_table(raw_kappa, base)
        kappa = states.mean
    else:
        kappa = kappa_value(raw_kappa)
    schedule = _profile(ver, "schedule", "verification", T, default=(1.0 / T,) * T)
    gas = ver.get("gas_per_order", {})
    if not isinstance(gas, dict):
        raise ScenarioError("verification.gas_per_order: expected a table {standard = .., producer = ..}")
    _unknown(gas, _GAS, "verification.gas_per_order")
    gas_per_order = GasPerOrder(
        standard=_int(gas, "standard", "verification.gas_per_order", DEFAULT_GAS_STANDARD),
        producer=_int(gas, "producer", "verification.gas_per_order", DEFAULT_GAS_PRODUCER))
    verification = Verification(kappa=kappa, schedule=schedule, gas_per_order=gas_per_order,
                                kappa_name=raw_kappa if isinstance(raw_kappa, str) else None,
                                states=states)

    standard = []
    for i, g in enumerate(_tables(doc, "standard")):
        where = f"standard[{i}]"
        _unknown(g, _STANDARD, where)
        standard.append(StandardGroup(
            name=_name(g, "name", where), count=_int(g, "count", where, 1),
            omega=_number(g, "omega", where), alpha=_profile(g, "alpha", where, T),
            alpha0=_number(g, "alpha0", where, 0.0), bytecoins=_number(g, "bytecoins", where, 0.0),
            utility=_utility(g, where)))
    producers = []
    for i, g in enumerate(_tables(doc, "producer")):
        where = f"producer[{i}]"
        _unknown(g, _PRODUCER, where)
        K = _number(g, "K", where, required=False)
        rho = _number(g, "rho", where, required=False)
        producers.append(ProducerGroup(
            name=_name(g, "name", where), count=_int(g, "count", where, 1),
            theta=_profile(g, "theta", where, T, scalar_ok=True), c=_number(g, "c", where),
            K=K, rho=rho, alpha=_profile(g, "alpha", where, T, default=(0.0,) * T),
            alpha0=_number(g, "alpha0", where, 0.0), bytecoins=_number(g, "bytecoins", where, 0.0),
            stock=_number(g, "stock", where, 0.0), utility=_utility(g, where)))
    economy = Economy(T=T, standard=tuple(standard), producers=tuple(producers),
                      verification=verification)
    economy.check_chain_bounds()  # so that emg solve and emg simulate accept the same files
    return economy


#: the ``[simulation]`` fields' range checks: (test, message after "name: ")
_SIMULATION_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "rounds": (lambda v: 1 <= v <= MAX_ROUNDS, f"must be >= 1 and <= {MAX_ROUNDS}, got {{v}}"),
    "seed": (lambda v: 0 <= v <= MAX_SEED, "must be in [0, 2^64 - 1], got {v}"),
    "damping": (lambda v: 0.0 < v <= 1.0, "must be in (0, 1], got {v}"),
    "tolerance": (lambda v: v > 0.0, "must be > 0, got {v}"),
    "backend": (lambda v: v in ("eth-tester", "anvil") or v.startswith(("http://", "https://", "ws://", "wss://"))
                or (v.endswith(".ipc") and len(v) > 4),
                "expected \"eth-tester\", \"anvil\" (a managed node), an http(s):// or ws(s):// "
                "JSON-RPC URL or an .ipc path, got {v!r}"),
    "round_duration": (lambda v: 0.0 < v <= MAX_ROUND_DURATION,
                       "must be in (0, 31536000] seconds (365 days, the contract's bound), "
                       "got {v}"),
    "market": (lambda v: v in ("plain", "sealed"),
               "expected \"plain\" (public orders) or \"sealed\" (commit-reveal), got {v}"),
}


def check_simulation_value(key: str, value: int | float | str, name: str) -> None:
    """Check one ``[simulation]`` value (already of its type), as the loader does.

    ``name`` is what the message calls the field: the loader passes
    ``simulation.<key>``, ``emg simulate`` its option ``--<key>``.

    Raises
    ------
    ScenarioError
        ``"{name}: must be ..."`` if the value is out of range (or not finite).
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{name}: must be finite, got {value!r}")
    check = _SIMULATION_CHECKS.get(key)
    if check is not None and not check[0](value):
        raise ScenarioError(f"{name}: {check[1].format(v=_show(value))}")


def simulation_from_dict(table: Mapping[str, Any]) -> SimulationSettings:
    """Validate the ``[simulation]`` table."""
    if not isinstance(table, dict):
        raise ScenarioError("simulation: expected a table")
    w = "simulation"
    _unknown(table, _SIMULATION, w)
    d = SimulationSettings()
    rounds = _int(table, "rounds", w, d.rounds)
    check_simulation_value("rounds", rounds, f"{w}.rounds")
    strategy = _str(table, "strategy", w, d.strategy)
    if not strategy.strip():  # the agents layer checks the name (agents.strategies.STRATEGIES)
        raise ScenarioError("simulation.strategy: must be a non-empty string")
    damping = _number(table, "damping", w, d.damping)
    check_simulation_value("damping", damping, f"{w}.damping")
    tolerance = _number(table, "tolerance", w, d.tolerance)
    check_simulation_value("tolerance", tolerance, f"{w}.tolerance")
    backend = _str(table, "backend", w, d.backend)
    check_simulation_value("backend", backend, f"{w}.backend")
    round_duration = _number(table, "round_duration", w, d.round_duration)
    check_simulation_value("round_duration", round_duration, f"{w}.round_duration")
    seed = _int(table, "seed", w, d.seed)
    check_simulation_value("seed", seed, f"{w}.seed")
    market = _str(table, "market", w, d.market)
    check_simulation_value("market", market, f"{w}.market")
    return SimulationSettings(rounds=rounds, seed=seed,
                              strategy=strategy,
                              damping=damping, tolerance=tolerance, backend=backend,
                              round_duration=round_duration, market=market)


def scenario_from_dict(doc: Mapping[str, Any], path: str | None = None) -> Scenario:
    """Validate a parsed scenario document (see :func:`load_scenario`)."""
    _unknown(doc, _TOP, "")
    description = _str(doc, "description", "", "")
    if len(description) > MAX_DESCRIPTION:
        raise ScenarioError(f"description: must be at most {MAX_DESCRIPTION:,} characters, "
                            f"got {len(description):,}")
    default_name = (Path(path).stem if path else "scenario")[:MAX_NAME] or "scenario"
    economy = economy_from_dict(doc, Path(path).parent if path else None)
    simulation = simulation_from_dict(doc.get("simulation", {}))
    return Scenario(name=_name(doc, "name", "", default_name),
                    description=description,
                    economy=economy,
                    simulation=simulation,
                    path=path,
                    events=events_from_list(doc.get("event", []), economy, simulation.rounds))


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file, read safely.

    Only a regular file is read (not a folder, FIFO or device), opened without
    blocking, its size checked before reading (at most :data:`MAX_FILE_BYTES`),
    and decoded as UTF-8.

    Raises
    ------
    ScenarioError
        ``"{path}: ..."`` naming what is wrong with the file.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the scenario file: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(f"{p}: is a folder, not a scenario file")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(f"{p}: not a regular file (a FIFO, device or socket is not read)")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the scenario file: {exc.strerror}") from None
    try:
        st = os.fstat(fd)  # what was opened, not what was named a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(f"{p}: not a regular file (a FIFO, device or socket is not read)")
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{p}: the file has {st.st_size:,} bytes, a scenario may have "
                                f"at most {MAX_FILE_BYTES:,}")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the scenario file: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{p}: the file grew while read beyond {MAX_FILE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{p}: not UTF-8 text (byte {exc.start})") from None


def parse_scenario_text(text: str, name: str) -> dict[str, Any]:
    """Parse TOML text; any parse failure is one :class:`ScenarioError` line."""
    # web3's dependencies raise the recursion limit to 100,000 when imported: parse under
    # a limit of our own, so deep nesting fails fast here whatever was imported before
    old_limit = sys.getrecursionlimit()
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    sys.setrecursionlimit(min(old_limit, depth + _PARSE_DEPTH))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{name}: not valid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ScenarioError(f"{name}: not valid TOML: {_show(str(exc), 120)[1:-1]}") from None
    finally:
        sys.setrecursionlimit(old_limit)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        The file is missing, not a regular file, too large, not UTF-8, is not
        TOML, or a field is invalid (the message names it).
    """
    text = read_scenario_text(path)
    doc = parse_scenario_text(text, str(Path(path)))
    try:
        return scenario_from_dict(doc, str(Path(path)))
    except RecursionError:
        raise ScenarioError(f"{Path(path)}: a value is nested too deeply") from None


# ----------------------------------------------------------------------------- uncertain κ
_KAPPA_FORMS: dict[str, set[str]] = {
    "discrete": {"distribution", "values", "probs"},
    "uniform": {"distribution", "low", "high", "nodes"},
    "lognormal": {"distribution", "median", "sigma", "low", "high", "nodes"},
    "series": {"distribution", "file", "column"},
}
_UNBOUNDED = ("κ must have bounded support: with unbounded support no consumption plan is "
              "feasible in every state (each needs x^t >= s^t κ_k gas)")


def _kappa_bound(table: Mapping[str, Any], key: str) -> float:
    """``low`` or ``high`` of a continuous κ: present, finite, in [0, MAX_KAPPA]."""
    name = f"verification.kappa.{key}"
    if key not in table:
        raise ScenarioError(f"{name}: missing; {_UNBOUNDED}" if key == "high" else f"{name}: missing")
    v = table[key]
    if isinstance(v, float) and math.isinf(v):
        raise ScenarioError(f"{name}: got {_show(v)}; {_UNBOUNDED}")
    x = _float(v, name)
    if not 0.0 <= x <= MAX_KAPPA:
        raise ScenarioError(f"{name}: must be in [0, {MAX_KAPPA:g}] kWh/gas, got {_show(v)}")
    return x


def kappa_states_from_table(table: Mapping[str, Any], base: Path | None = None) -> KappaStates:
    """``verification.kappa`` given as a table: the verification states (docs/scenarios.md).

    ``distribution`` is ``"discrete"`` (``values``, each a number or a preset
    name, and ``probs``), ``"uniform"`` (``low``, ``high``), ``"lognormal"``
    (``median``, ``sigma`` of ``ln κ``, truncated to ``[low, high]``, ``low > 0``)
    — the continuous ones with ``nodes`` Gauss–Lobatto nodes (default
    :data:`~market.kappa.DEFAULT_NODES`) — or ``"series"`` (a CSV ``file``,
    one κ per round in the column named ``column``, default ``"kappa"``).

    Raises
    ------
    ScenarioError
        Naming the field (``verification.kappa.high: missing; κ must have bounded support ...``).
    """
    where = "verification.kappa"
    form = _str(table, "distribution", where)
    if form not in _KAPPA_FORMS:
        raise ScenarioError(f"{where}.distribution: unknown form {_show(form)} "
                            f"(known: {', '.join(_KAPPA_FORMS)})")
    _unknown(table, _KAPPA_FORMS[form], where)
    if form == "discrete":
        vals, probs = table.get("values"), table.get("probs")
        for key, lst in (("values", vals), ("probs", probs)):
            if not isinstance(lst, list) or not 1 <= len(lst) <= MAX_STATES:
                raise ScenarioError(f"{where}.{key}: expected a list of 1 to {MAX_STATES} entries, "
                                    f"got {_show(lst)}")
        assert isinstance(vals, list) and isinstance(probs, list)
        if len(vals) != len(probs):
            raise ScenarioError(f"{where}.probs: has {len(probs)} entries but values has {len(vals)}")
        kap = [kappa_value(x, f"{where}.values[{k}]") for k, x in enumerate(vals)]
        for k, x in enumerate(kap):
            if x > MAX_KAPPA:
                raise ScenarioError(f"{where}.values[{k}]: must be at most {MAX_KAPPA:g} kWh/gas, "
                                    f"got {x!r}")
        pr = [_float(x, f"{where}.probs[{k}]") for k, x in enumerate(probs)]
        for k, x in enumerate(pr):
            if not x > 0:
                raise ScenarioError(f"{where}.probs[{k}]: must be > 0, got {x!r}")
        if abs(sum(pr) - 1.0) > 1e-9:
            raise ScenarioError(f"{where}.probs: must sum to 1, sums to {sum(pr)!r}")
        return discrete_states(kap, pr)
    if form == "series":
        return _kappa_series(table, base)
    nodes = _int(table, "nodes", where, DEFAULT_NODES)
    if not MIN_NODES <= nodes <= MAX_NODES:
        raise ScenarioError(f"{where}.nodes: must be an integer in [{MIN_NODES}, {MAX_NODES}] "
                            f"(Gauss-Lobatto: both ends of the support are nodes), got {nodes!r}")
    low, high = _kappa_bound(table, "low"), _kappa_bound(table, "high")
    if not high > low:
        raise ScenarioError(f"{where}.high: must be above low = {low!r}, got {high!r}")
    if form == "uniform":
        return uniform_states(low, high, nodes)
    if not low > 0:
        raise ScenarioError(f"{where}.low: must be > 0 for a lognormal (the quadrature runs on "
                            f"ln κ), got {low!r}")
    median = _number(table, "median", where)
    sigma = _number(table, "sigma", where)
    if not median > 0:
        raise ScenarioError(f"{where}.median: must be > 0 kWh/gas, got {median!r}")
    if not sigma > 0:
        raise ScenarioError(f"{where}.sigma: must be > 0 (of ln κ), got {sigma!r}")
    return lognormal_states(median, sigma, low, high, nodes)


def _kappa_series(table: Mapping[str, Any], base: Path | None) -> KappaStates:
    """A κ series from a CSV file: a header row, then one row per round."""
    where = "verification.kappa"
    fname = _str(table, "file", where)
    column = _str(table, "column", where, "kappa")
    path = Path(fname)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        text = read_scenario_text(path)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}.file: {exc}") from None
    rows = [r for r in text.splitlines() if r.strip()]
    if not rows:
        raise ScenarioError(f"{where}.file: {path}: empty (a header row naming {column!r} is needed)")
    header = [h.strip() for h in rows[0].split(",")]
    if column not in header:
        raise ScenarioError(f"{where}.column: {column!r} is not a column of {path} "
                            f"(columns: {', '.join(header)})")
    col = header.index(column)
    series: list[float] = []
    for n, r in enumerate(rows[1:], start=2):
        cells = r.split(",")
        cell = cells[col].strip() if col < len(cells) else ""
        try:
            x = float(cell)
        except ValueError:
            raise ScenarioError(f"{where}.file: {path} line {n}: {column} is not a number: "
                                f"{_show(cell)}") from None
        if not (math.isfinite(x) and 0.0 <= x <= MAX_KAPPA):
            raise ScenarioError(f"{where}.file: {path} line {n}: {column} must be in "
                                f"[0, {MAX_KAPPA:g}] kWh/gas, got {cell}")
        series.append(x)
    if not 1 <= len(series) <= MAX_SERIES:
        raise ScenarioError(f"{where}.file: {path} must have 1 to {MAX_SERIES:,} rows of κ, "
                            f"got {len(series)}")
    states = series_states(series)
    if len(states.values) > MAX_STATES:
        raise ScenarioError(f"{where}.file: {path} has {len(states.values)} distinct κ values, "
                            f"at most {MAX_STATES} are allowed (each is a state the agents sum over)")
    return states
