"""Scenario events (:mod:`market.events`): loading, the economy in force, the path after one.

:func:`events_from_list` validates a scenario's ``[[event]]`` tables (each
message names its field, ``event[2].amount: ...``); :func:`economy_after` is the
economy in force after a ``kappa`` or ``preferences`` event; :func:`recovery`
measures the path of prices after an event (rounds to recover, overshoot,
price level against the quantity of money). Pure economics: no chain here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from market.errors import ScenarioError
from market.events import ALL, EVENT_KEYS, Event, Issue, KappaChange, PreferenceChange, Transfer
from market.model import MAX_AMOUNT, MAX_WEIGHT, Economy, FloatArray
from market.presets import kappa_value


def economy_after(economy: Economy, event: Event) -> Economy:
    """The economy in force after ``event``: a new ``κ`` or a group's new weights.

    Money events (``issue``, ``transfer``) leave the economy's parameters alone:
    the equilibrium's allocations do not depend on who holds the money, and its
    price level scales with the supply (SPEC §4), which the simulation measures
    on chain.

    Raises
    ------
    ScenarioError
        The new economy is invalid (the message names the economy's field).
    """
    if isinstance(event, KappaChange):
        # a certain κ from here on: an uncertain κ's states end with the event
        return replace(economy, verification=replace(economy.verification, kappa=event.kappa,
                                                     kappa_name=event.name, states=None))
    if isinstance(event, PreferenceChange):
        def upd(g: Any) -> Any:
            if g.name != event.group:
                return g
            return replace(g, alpha=event.alpha, alpha0=g.alpha0 if event.alpha0 is None else event.alpha0)
        return replace(economy, standard=tuple(upd(g) for g in economy.standard),
                       producers=tuple(upd(g) for g in economy.producers))
    return economy


# ----------------------------------------------------------------------------- loading

def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(t: Mapping[str, Any], key: str, where: str) -> float:
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ScenarioError(f"{where}.{key}: expected a finite number, got {_show(v)}")
    return float(v)


def _amount(t: Mapping[str, Any], key: str, where: str) -> float:
    x = _number(t, key, where)
    if not 1e-18 <= x <= MAX_AMOUNT:
        raise ScenarioError(f"{where}.{key}: must be in [1e-18, {MAX_AMOUNT:.7g}] bytecoins, got {_show(t[key])}")
    return x


def _group(t: Mapping[str, Any], key: str, where: str, economy: Economy, all_ok: bool) -> str:
    if key not in t:
        raise ScenarioError(f"{where}.{key}: missing")
    v = t[key]
    names = [g.name for g in economy.groups]
    if isinstance(v, str) and (v in names or (all_ok and v == ALL)):
        return v
    known = ", ".join(([ALL] if all_ok else []) + names)
    raise ScenarioError(f"{where}.{key}: unknown group {_show(v)} (known: {known})")


def _one_event(t: Mapping[str, Any], where: str, economy: Economy, rounds: int) -> Event:
    kind = t.get("kind")
    if kind not in EVENT_KEYS:
        raise ScenarioError(f"{where}.kind: expected one of {', '.join(EVENT_KEYS)}, got {_show(kind)}")
    for key in t:
        if key not in EVENT_KEYS[kind]:
            raise ScenarioError(f"{where}.{_show(key)[1:-1]}: unknown key for kind = {kind!r} "
                                f"(allowed: {', '.join(sorted(EVENT_KEYS[kind]))})")
    if "round" not in t:
        raise ScenarioError(f"{where}.round: missing")
    r = t["round"]
    if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r < rounds:
        raise ScenarioError(f"{where}.round: must be an integer in [1, {rounds - 1}] (the run has "
                            f"simulation.rounds = {rounds}; an event happens before its round), got {_show(r)}")
    if kind == "issue":
        to = _group(t, "to", where, economy, all_ok=True)
        if ("amount" in t) == ("per_agent" in t):
            raise ScenarioError(f"{where}.amount: give exactly one of amount (total) and per_agent")
        if "amount" in t:
            return Issue(r, to, amount=_amount(t, "amount", where))
        return Issue(r, to, per_agent=_amount(t, "per_agent", where))
    if kind == "transfer":
        source = _group(t, "from", where, economy, all_ok=False)
        to = _group(t, "to", where, economy, all_ok=False)
        if source == to:
            raise ScenarioError(f"{where}.to: must differ from {where}.from ({source!r})")
        if "amount" not in t:
            raise ScenarioError(f"{where}.amount: missing")
        return Transfer(r, source, to, _amount(t, "amount", where))
    if kind == "kappa":
        if "kappa" not in t:
            raise ScenarioError(f"{where}.kappa: missing")
        raw = t["kappa"]
        value = kappa_value(raw, f"{where}.kappa")
        return KappaChange(r, value, raw if isinstance(raw, str) else None)
    group = _group(t, "group", where, economy, all_ok=False)
    if "alpha" not in t:
        raise ScenarioError(f"{where}.alpha: missing")
    alpha = t["alpha"]
    if not isinstance(alpha, list) or len(alpha) != economy.T:
        raise ScenarioError(f"{where}.alpha: expected a list of T = {economy.T} numbers, got {_show(alpha)}")
    values = []
    for k, a in enumerate(alpha):
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= float(a) <= MAX_WEIGHT:
            raise ScenarioError(f"{where}.alpha[{k}]: must be a number in [0, {MAX_WEIGHT:g}], got {_show(a)}")
        values.append(float(a))
    alpha0 = None
    if "alpha0" in t:
        alpha0 = _number(t, "alpha0", where)
        if not 0 <= alpha0 <= MAX_WEIGHT:
            raise ScenarioError(f"{where}.alpha0: must be in [0, {MAX_WEIGHT:g}], got {_show(t['alpha0'])}")
    return PreferenceChange(r, group, tuple(values), alpha0)


def issued(ev: Issue, counts: Mapping[str, int], n_agents: int) -> float:
    """Bytecoins an issue creates: ``amount``, or ``per_agent`` times the agents of ``to``."""
    if ev.amount is not None:
        return ev.amount
    return (ev.per_agent or 0.0) * (n_agents if ev.to == ALL else counts[ev.to])


def _check_supply(ev: Issue, supply: float, where: str) -> None:
    if supply > MAX_AMOUNT:
        raise ScenarioError(f"{where}.{'amount' if ev.amount is not None else 'per_agent'}: the "
                            f"supply would reach {supply:.7g} bytecoins, above {MAX_AMOUNT:.7g} "
                            "(below 2^84 wei, the contract's bound)")


def check_issues(economy: Economy, events: Sequence[Event]) -> None:
    """The supply after every issue stays within the chain's bound, for ``economy`` (e.g. one
    whose balances ``emg simulate --scale-money`` scaled after the events were loaded).

    Raises
    ------
    ScenarioError
        ``event[k].amount`` (or ``per_agent``): the supply it would reach.
    """
    supply = economy.total_bytecoins
    counts = {g.name: g.count for g in economy.groups}
    for k, ev in enumerate(events):
        if isinstance(ev, Issue):
            supply += issued(ev, counts, economy.N)
            _check_supply(ev, supply, f"event[{k}]")


def events_from_list(tables: Any, economy: Economy, rounds: int) -> tuple[Event, ...]:
    """Validate a scenario's ``[[event]]`` tables against its economy and its ``rounds``.

    Events are listed in the order they happen (rounds non-decreasing; events
    of one round apply in file order). Each message starts with the field's
    path, ``event[2].amount: ...``.

    Raises
    ------
    ScenarioError
        An unknown kind or key, a missing or bad value, a group the economy
        does not have, a round outside ``[1, rounds − 1]`` or before the
        previous event's, an economy made invalid by an event, or issues that
        would take the supply above the chain's bound.
    """
    if not isinstance(tables, list) or not all(isinstance(x, dict) for x in tables):
        raise ScenarioError("event: expected an array of tables ([[event]])")
    out: list[Event] = []
    current = economy
    supply = economy.total_bytecoins
    counts = {g.name: g.count for g in economy.groups}
    for i, t in enumerate(tables):
        where = f"event[{i}]"
        ev = _one_event(t, where, economy, rounds)
        if out and ev.round < out[-1].round:
            raise ScenarioError(f"{where}.round: {ev.round} is before event[{i - 1}]'s round "
                                f"{out[-1].round} (list events in the order they happen)")
        if isinstance(ev, Issue):
            supply += issued(ev, counts, economy.N)
            _check_supply(ev, supply, where)
        try:
            current = economy_after(current, ev)
        except ScenarioError as exc:
            field = "kappa" if isinstance(ev, KappaChange) else "alpha"
            reason = str(exc).split(": ", 1)[-1]
            raise ScenarioError(f"{where}.{field}: {reason}") from None
        out.append(ev)
    return tuple(out)


# ----------------------------------------------------------------------------- measures

@dataclass(frozen=True)
class Recovery:
    """The path of prices after one event, until the next event or the end of the run.

    Attributes
    ----------
    rounds_to_recover : int or None
        Rounds from the event until the distance to the equilibrium in force is
        at most the tolerance (0: the event's own round already is); ``None``
        if it never is before the next event or the end.
    overshoot : tuple of float
        Per post ``t = 0..T``: the largest excursion of ``p^t`` past its new level
        ``L^t`` (the window's last price) in the direction of the move from the
        pre-event price ``p_pre^t``, relative to ``L^t``: ``max_r max(0, (p_r^t −
        L^t)/L^t · sign(L^t − p_pre^t))`` (0 where the post did not move or is inactive).
    money_ratio : float
        Supply after over supply before the event (1 for non-money events).
    price_level_ratio : float
        Measured over predicted price level at the window's end: the mean over the
        active posts of ``L^t / (p_pre^t · money_ratio)`` (``p`` scales with ``M``
        at fixed allocations: 1 means the quantity of money alone explains it).
    """

    rounds_to_recover: int | None
    overshoot: tuple[float, ...]
    money_ratio: float
    price_level_ratio: float


def recovery(event_round: int, rounds: Sequence[int], distances: Sequence[float],
             prices: FloatArray, tolerance: float, supply_before: float,
             supply_after: float) -> Recovery:
    """Measure the window of rounds after an event (see :class:`Recovery`).

    Parameters
    ----------
    event_round : int
        The round the event took effect in (its first round).
    rounds, distances : sequence
        The window's rounds (from ``event_round`` on, consecutive) and their
        distances to the equilibrium in force.
    prices : ndarray (1 + len(rounds), T+1)
        Row 0: the last round's prices before the event; then the window's.
    tolerance : float
    supply_before, supply_after : float
        The bytecoin supply before and after the event.
    """
    p = np.asarray(prices, dtype=float)
    rtr = None
    for r, d in zip(rounds, distances):
        if d <= tolerance:
            rtr = r - event_round
            break
    pre, window = p[0], p[1:]
    money = supply_after / supply_before if supply_before > 0 else math.nan
    if window.shape[0] == 0:
        return Recovery(rtr, tuple(0.0 for _ in pre), money, math.nan)
    level = window[-1]
    active = (pre > 0) & (level > 0)
    direction = np.sign(level - pre)
    safe = np.where(level > 0, level, 1.0)
    excess = (window - level) / safe * direction
    over = np.where(active, np.maximum(excess.max(axis=0), 0.0), 0.0)
    ratio = float(np.mean(level[active] / (pre[active] * money))) if active.any() else math.nan
    return Recovery(rtr, tuple(float(x) for x in over), money, ratio)
