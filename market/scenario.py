"""Scenario files (TOML): loading and validation. The schema is ``docs/scenarios.md``.

Every key is checked: an unknown key, a wrong type or a bad value raises
:class:`~market.errors.ScenarioError` whose message starts with the field's
path as the file spells it (``producer[1].thetta: unknown key``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from market.errors import ScenarioError
from market.model import (
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
from market.presets import kappa_value

_TOP = {"name", "description", "T", "verification", "standard", "producer", "simulation"}
_VERIFICATION = {"kappa", "schedule", "gas_per_order"}
_GAS = {"standard", "producer"}
_STANDARD = {"name", "count", "omega", "alpha", "alpha0", "bytecoins", "utility", "sigma"}
_PRODUCER = {"name", "count", "theta", "c", "K", "rho", "alpha", "alpha0", "bytecoins", "stock",
             "utility", "sigma"}
_SIMULATION = {"rounds", "seed", "strategy", "damping", "tolerance", "backend", "round_duration"}


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise ScenarioError(f"{prefix}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _number(table: Mapping[str, Any], key: str, where: str, default: float | None = None,
            required: bool = True) -> float:
    if key not in table:
        if default is not None or not required:
            return default  # type: ignore[return-value]
        raise ScenarioError(f"{_path(where, key)}: missing")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{_path(where, key)}: expected a number, got {v!r}")
    if not math.isfinite(float(v)):
        raise ScenarioError(f"{_path(where, key)}: must be finite, got {v!r}")
    return float(v)


def _int(table: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    if key not in table:
        if default is not None:
            return default
        raise ScenarioError(f"{_path(where, key)}: missing")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{_path(where, key)}: expected an integer, got {v!r}")
    return v


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is not None:
            return default
        raise ScenarioError(f"{_path(where, key)}: missing")
    v = table[key]
    if not isinstance(v, str):
        raise ScenarioError(f"{_path(where, key)}: expected a string, got {v!r}")
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
        raise ScenarioError(f"{f}: expected a list of {T} numbers, got {v!r}")
    if len(v) != T:
        raise ScenarioError(f"{f}: has {len(v)} entries but T = {T}")
    out = []
    for t, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
            raise ScenarioError(f"{f}[{t}]: expected a finite number, got {x!r}")
        out.append(float(x))
    return tuple(out)


def _utility(table: Mapping[str, Any], where: str) -> Utility:
    kind = _str(table, "utility", where, "log")
    if kind not in ("log", "ces"):
        raise ScenarioError(f"{where}.utility: unknown utility {kind!r} (known: log, ces)")
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


def economy_from_dict(doc: Mapping[str, Any]) -> Economy:
    """Build and validate an :class:`~market.model.Economy` from a parsed scenario document."""
    T = _int(doc, "T", "")
    if T < 1:
        raise ScenarioError(f"T: must be an integer >= 1, got {T}")
    ver = doc.get("verification", {})
    if not isinstance(ver, dict):
        raise ScenarioError("verification: expected a table")
    _unknown(ver, _VERIFICATION, "verification")
    raw_kappa = ver.get("kappa", "free")
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
                                kappa_name=raw_kappa if isinstance(raw_kappa, str) else None)

    standard = []
    for i, g in enumerate(_tables(doc, "standard")):
        where = f"standard[{i}]"
        _unknown(g, _STANDARD, where)
        standard.append(StandardGroup(
            name=_str(g, "name", where), count=_int(g, "count", where, 1),
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
            name=_str(g, "name", where), count=_int(g, "count", where, 1),
            theta=_profile(g, "theta", where, T, scalar_ok=True), c=_number(g, "c", where),
            K=K, rho=rho, alpha=_profile(g, "alpha", where, T, default=(0.0,) * T),
            alpha0=_number(g, "alpha0", where, 0.0), bytecoins=_number(g, "bytecoins", where, 0.0),
            stock=_number(g, "stock", where, 0.0), utility=_utility(g, where)))
    return Economy(T=T, standard=tuple(standard), producers=tuple(producers),
                   verification=verification)


#: the ``[simulation]`` fields' range checks: (test, message after "name: ")
_SIMULATION_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "rounds": (lambda v: v >= 1, "must be >= 1, got {v}"),
    "damping": (lambda v: 0.0 < v <= 1.0, "must be in (0, 1], got {v}"),
    "tolerance": (lambda v: v > 0.0, "must be > 0, got {v}"),
    "backend": (lambda v: v in ("eth-tester", "anvil") or v.startswith(("http://", "https://", "ws://", "wss://"))
                or (v.endswith(".ipc") and len(v) > 4),
                "expected \"eth-tester\", \"anvil\" (a managed node), an http(s):// or ws(s):// "
                "JSON-RPC URL or an .ipc path, got {v!r}"),
    "round_duration": (lambda v: v > 0.0, "must be > 0, got {v}"),
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
        raise ScenarioError(f"{name}: {check[1].format(v=value)}")


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
    return SimulationSettings(rounds=rounds, seed=_int(table, "seed", w, d.seed),
                              strategy=strategy,
                              damping=damping, tolerance=tolerance, backend=backend,
                              round_duration=round_duration)


def scenario_from_dict(doc: Mapping[str, Any], path: str | None = None) -> Scenario:
    """Validate a parsed scenario document (see :func:`load_scenario`)."""
    _unknown(doc, _TOP, "")
    return Scenario(name=_str(doc, "name", "", Path(path).stem if path else "scenario"),
                    description=_str(doc, "description", "", ""),
                    economy=economy_from_dict(doc),
                    simulation=simulation_from_dict(doc.get("simulation", {})),
                    path=path)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        The file is missing, is not TOML, or a field is invalid (the message names it).
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML: {exc}") from None
    return scenario_from_dict(doc, str(p))
