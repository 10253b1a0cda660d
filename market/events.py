"""Shocks scripted in a scenario (``[[event]]`` tables) and the measures of the path after one.

An event happens *between* rounds: it takes effect after round ``round − 1``
has settled and before the agents observe round ``round``. Four kinds
(docs/scenarios.md, "Events"):

``issue``
    New bytecoins from the monetary authority: ``amount`` in total to a group
    (shared equally by its agents) or to ``"all"`` (in proportion to each
    agent's balance: a neutral issue), or ``per_agent`` bytecoins to every
    agent of a group or of ``"all"`` (lump sum).
``transfer``
    ``amount`` bytecoins in total from one group to another (taken equally from
    each agent of ``from``, given equally to each agent of ``to``); the supply
    is unchanged.
``kappa``
    The verification cost ``κ`` from this round on (a preset name or kWh/gas).
``preferences``
    A group's utility weights ``α^t`` (and optionally ``α^0``) from this round
    on (a demand shock; off chain).

This module holds the events as frozen dataclasses (imported by
:mod:`market.model`'s ``Scenario``); loading them, the economy in force after
one and the measures of the path after one are :mod:`market.shocks`'.
Carrying an event out on the chain is the simulation's (``agents.events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["issue", "transfer", "kappa", "preferences"]
#: the keys each kind of ``[[event]]`` table accepts
EVENT_KEYS: dict[str, set[str]] = {
    "issue": {"round", "kind", "to", "amount", "per_agent"},
    "transfer": {"round", "kind", "from", "to", "amount"},
    "kappa": {"round", "kind", "kappa"},
    "preferences": {"round", "kind", "group", "alpha", "alpha0"},
}
#: ``to = "all"``: every agent of the economy
ALL = "all"


@dataclass(frozen=True)
class Issue:
    """New bytecoins minted by the monetary authority before round ``round``.

    Exactly one of ``amount`` (total; to a group: equal shares; to ``"all"``: in
    proportion to balances) and ``per_agent`` (each agent of ``to``) is set.
    """

    round: int
    to: str
    amount: float | None = None
    per_agent: float | None = None
    kind: EventKind = "issue"

    def details(self) -> str:
        if self.per_agent is not None:
            return f"{self.per_agent:g} bytecoins to each agent of {self.to}"
        how = "in proportion to balances" if self.to == ALL else "in equal shares"
        return f"{self.amount:g} bytecoins to {self.to}, {how}"


@dataclass(frozen=True)
class Transfer:
    """``amount`` bytecoins moved from group ``source`` to group ``to`` (the scenario's ``from``)."""

    round: int
    source: str
    to: str
    amount: float
    kind: EventKind = "transfer"

    def details(self) -> str:
        return f"{self.amount:g} bytecoins from {self.source} to {self.to}"


@dataclass(frozen=True)
class KappaChange:
    """``κ`` (kWh/gas) from round ``round`` on; ``name`` the preset, if one was named."""

    round: int
    kappa: float
    name: str | None = None
    kind: EventKind = "kappa"

    def details(self) -> str:
        return f"kappa = {self.name or format(self.kappa, 'g')} ({self.kappa:g} kWh/gas)"


@dataclass(frozen=True)
class PreferenceChange:
    """Group ``group``'s weights ``α^1..α^T`` (and ``α^0`` unless ``None``) from round ``round`` on."""

    round: int
    group: str
    alpha: tuple[float, ...]
    alpha0: float | None = None
    kind: EventKind = "preferences"

    def details(self) -> str:
        a0 = "" if self.alpha0 is None else f", alpha0 = {self.alpha0:g}"
        return f"{self.group}: alpha = [{', '.join(format(a, 'g') for a in self.alpha)}]{a0}"


Event = Issue | Transfer | KappaChange | PreferenceChange


def event_record(ev: Event) -> dict[str, Any]:
    """The event as a JSON-ready dict: round, kind, its fields, and a one-line ``details``."""
    d: dict[str, Any] = {"round": ev.round, "kind": ev.kind}
    if isinstance(ev, Issue):
        d.update(to=ev.to, amount=ev.amount, per_agent=ev.per_agent)
    elif isinstance(ev, Transfer):
        d.update({"from": ev.source, "to": ev.to, "amount": ev.amount})
    elif isinstance(ev, KappaChange):
        d.update(kappa=ev.kappa, preset=ev.name)
    else:
        d.update(group=ev.group, alpha=list(ev.alpha), alpha0=ev.alpha0)
    d["details"] = ev.details()
    return d
