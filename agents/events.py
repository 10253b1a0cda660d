"""Carrying a scenario's events (:mod:`market.events`, :mod:`market.shocks`) out on the chain, between rounds.

Money moves only through transactions, each signed by whoever holds the key:

``issue``
    The monetary authority (a keeper-like account, not an agent, fixed as the
    token's ``authority`` at deployment) mints each agent's share to the
    agent's own address; the agent approves the market and deposits it into
    its market account (``Minted``, ``Deposited`` events).
``transfer``
    Each agent of ``from`` first claims its pending settlement (so its revenue
    is in its account), withdraws its share, and sends it to agents of ``to``
    (ERC-20 ``transfer``), who deposit it.
``kappa``, ``preferences``
    Off chain: every agent's ``κ`` (its next decision's ``v = κ · gasUsed``),
    or the group's weights in every agent's view of the economy.

Integer shares (wei): an amount to a group is split equally (the remainder,
under one wei per agent, to its first agents); an amount to ``"all"`` in
proportion to each agent's spendable balance (rounded down, the remainder one
wei at a time from the first agent); ``per_agent`` is the same for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from market.errors import SimulationError
from market.events import ALL, Event, Issue, KappaChange, PreferenceChange, Transfer
from market.shocks import Recovery, economy_after

from agents.agent import to_wad
from agents.chain.fixedpoint import WAD

if TYPE_CHECKING:  # pragma: no cover
    from agents.agent import Agent
    from agents.chain.backend import Account, Chain
    from agents.chain.client import MarketClient

#: ether the keeper gives the monetary authority for gas (wei); a mint costs ~60k gas
AUTHORITY_ETHER = 1000 * 10**18


@dataclass(frozen=True)
class AppliedEvent:
    """An event as carried out: which round, what moved (wei per agent id), the supply around it.

    Attributes
    ----------
    index : int
        Its position in the scenario's ``[[event]]`` list.
    event : Event
    moved : dict
        Agent id → wei credited (issue, transfer) or debited (transfer, negative).
    supply_before, supply_after : int
        The token's supply (wei) before and after.
    """

    index: int
    event: Event
    moved: dict[str, int]
    supply_before: int
    supply_after: int


@dataclass(frozen=True)
class EventReport:
    """An event as applied on chain and the measures of the path after it (summary.json)."""

    applied: AppliedEvent
    recovery: Recovery


def split_equal(total: int, n: int) -> list[int]:
    """``total`` wei in ``n`` shares differing by at most one wei (larger first)."""
    q, r = divmod(total, n)
    return [q + (1 if k < r else 0) for k in range(n)]


def split_proportional(total: int, weights: list[int]) -> list[int]:
    """``total`` wei in proportion to ``weights`` (wei), rounded down, the remainder one wei at a
    time from the first agent with a positive weight; equal shares if every weight is 0."""
    w = sum(weights)
    if w <= 0:
        return split_equal(total, len(weights))
    shares = [total * x // w for x in weights]
    left = total - sum(shares)
    k = 0
    while left > 0:
        if weights[k % len(weights)] > 0:
            shares[k % len(weights)] += 1
            left -= 1
        k += 1
    return shares


def authority_account(seed: int | str) -> "Account":
    """The monetary authority's deterministic key (like the keeper's, from the run's seed)."""
    from agents.chain.backend import derive_accounts

    return derive_accounts(1, f"{seed}:authority")[0]


def fund_authority(chain: "Chain", authority: "Account") -> None:
    """The keeper sends the authority ether for its gas (one plain transfer)."""
    chain.send(chain.keeper, authority.address, b"", gas=21_000, value=AUTHORITY_ETHER)


class EventPlayer:
    """Applies a run's events on the chain at their rounds (see the module docstring).

    Parameters
    ----------
    events : tuple of Event
    client : MarketClient
    authority : Account or None
        The token's monetary authority (needed if any event is an ``issue``).
    supply : int
        The token's supply at the start (wei).
    """

    def __init__(self, events: tuple[Event, ...], client: "MarketClient", authority: "Account | None",
                 supply: int) -> None:
        self.events = events
        self.client = client
        self.authority = authority
        self.supply = supply
        self.applied: list[AppliedEvent] = []
        self._next = 0

    @property
    def last_round(self) -> int:
        """The round of the last event (-1 without events)."""
        return self.events[-1].round if self.events else -1

    def due(self, round: int) -> list[tuple[int, Event]]:
        """The events that take effect before ``round`` and have not been applied yet."""
        out = []
        while self._next < len(self.events) and self.events[self._next].round <= round:
            out.append((self._next, self.events[self._next]))
            self._next += 1
        return out

    # ------------------------------------------------------------------ money

    def issue(self, index: int, ev: Issue, agents: list["Agent"], balances: list[int]) -> AppliedEvent:
        """Mint ``ev`` to its agents (authority's transactions), who deposit it (their own)."""
        if self.authority is None:
            raise SimulationError(f"event[{index}]: an issue needs the monetary authority, "
                                  "which this market was deployed without")
        chosen = [k for k, a in enumerate(agents) if ev.to == ALL or a.spec.group == ev.to]
        if ev.per_agent is not None:
            shares = [to_wad(ev.per_agent)] * len(chosen)
        elif ev.to == ALL:
            shares = split_proportional(to_wad(ev.amount or 0.0), [balances[k] for k in chosen])
        else:
            shares = split_equal(to_wad(ev.amount or 0.0), len(chosen))
        before = self.supply
        moved: dict[str, int] = {}
        for k, amount in zip(chosen, shares):
            if amount <= 0:
                continue
            agent = agents[k]
            self.client.transact(self.authority, "token.mint", [agent.account.address, amount], gas=100_000)
            self.client.deposit(agent.account, amount)
            agent.balance += amount
            self.supply += amount
            moved[agent.id] = amount
        return AppliedEvent(index, ev, moved, before, self.supply)

    def transfer(self, index: int, ev: Transfer, agents: list["Agent"],
                 claim: "ClaimFn") -> AppliedEvent:
        """Move ``ev.amount`` from ``ev.source``'s agents to ``ev.to``'s, by their own transactions."""
        sources = [a for a in agents if a.spec.group == ev.source]
        sinks = [a for a in agents if a.spec.group == ev.to]
        gives = split_equal(to_wad(ev.amount), len(sources))
        gets = split_equal(to_wad(ev.amount), len(sinks))
        for agent, give in zip(sources, gives):
            if agent.pending is not None:
                claim(agent)  # its revenue into its account (checked against the forecast)
            if give > agent.balance:
                raise SimulationError(
                    f"event[{index}].amount: {agent.id} holds {agent.balance / WAD:.6g} bytecoins before "
                    f"round {ev.round}, less than its share {give / WAD:.6g} of the transfer")
        moved: dict[str, int] = {}
        j, need = 0, list(gets)
        for agent, give in zip(sources, gives):
            if give <= 0:
                continue
            self.client.withdraw(agent.account, give)
            agent.balance -= give
            moved[agent.id] = -give
            left = give
            while left > 0:
                piece = min(left, need[j])
                if piece > 0:
                    self.client.transact(agent.account, "token.transfer",
                                         [sinks[j].account.address, piece], gas=100_000)
                    need[j] -= piece
                    left -= piece
                if need[j] == 0:
                    j += 1
        for agent, get in zip(sinks, gets):
            if get > 0:
                self.client.deposit(agent.account, get)
                agent.balance += get
                moved[agent.id] = get
        return AppliedEvent(index, ev, moved, self.supply, self.supply)

    # ------------------------------------------------------------------ off chain

    @staticmethod
    def off_chain(index: int, ev: KappaChange | PreferenceChange, agents: list["Agent"],
                  economy_before: "Economy", supply: int) -> tuple["Economy", AppliedEvent]:
        """The economy in force after a ``kappa`` or ``preferences`` event, every agent told."""
        economy = economy_after(economy_before, ev)
        specs = economy.agents()
        for agent in agents:
            agent.spec = specs[agent.spec.index]
            if isinstance(ev, KappaChange):
                agent.kappa = economy.kappa
                if agent.gas_used:
                    agent.v = agent.verification(agent.gas_used)
                else:
                    agent.v = float(economy.verification_energy()[agent.spec.index])
        return economy, AppliedEvent(index, ev, {}, supply, supply)


if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from market.model import Economy

    ClaimFn = Callable[["Agent"], None]
