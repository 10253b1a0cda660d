"""What a simulation run records: one row per agent and round, one per round.

These frozen dataclasses are the single source of the CSV columns and of the
per-round parts of ``summary.json`` (see ``docs/summary-schema.md``). All
quantities are floats in natural units (bytecoins, kWh, good units), arrays
are indexed by post ``[x^0, x^1, ..., x^T]`` (post 0 = the consumption good).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: agent status in a round
STATUS_OK = "ok"
STATUS_FAILED = "failed"  # its strategy raised or its transaction reverted
STATUS_ABSTAINED = "abstained"  # it chose not to trade (priced out, or nothing to spend)


@dataclass(frozen=True)
class AgentRound:
    """One agent in one closed round.

    Attributes
    ----------
    round : int
        Round index, from 0.
    agent : str
        Agent id ``"{group}-{k}"``.
    kind : str
        ``"standard"`` or ``"producer"``.
    status : str
        ``"ok"``, ``"failed"`` or ``"abstained"``.
    bids : tuple of float
        Bids ``b_i^t`` in bytecoins, ``t = 0..T`` (what reached the chain).
    offers : tuple of float
        Offers: ``ω_h`` on post 0 for a standard agent, ``q_j^t`` on the
        electricity posts for a producer.
    allocations : tuple of float
        ``x_i^t = b_i^t / p^t`` (eqs. 5-7) as settled by the chain (rounded
        down), ``t = 0..T``; ``x^0`` is the good bought, before any input.
    consumption : tuple of float
        Electricity consumed ``E^t = x^t - s^t v`` for ``t = 1..T`` (SPEC §3).
    verification : tuple of float
        Verification electricity ``V^t = s^t v``, ``t = 1..T``, charged
        for this round's order (zero if it sent none).
    gas_used : int
        ``gasUsed`` of the agent's order receipt in this round (0 if none).
    v : float
        ``κ · gas_used``: the verification electricity of this round's order.
    balance : float
        Bytecoins the agent can spend next round: its wallet plus the revenue
        this round credits to it.
    stock : float
        The producer's stock of the good for next round's input (0 for a
        standard agent).
    error : str
        The failure, if any (empty otherwise).
    """

    round: int
    agent: str
    kind: str
    status: str
    bids: tuple[float, ...]
    offers: tuple[float, ...]
    allocations: tuple[float, ...]
    consumption: tuple[float, ...]
    verification: tuple[float, ...]
    gas_used: int
    v: float
    balance: float
    stock: float
    error: str = ""


@dataclass(frozen=True)
class RoundRecord:
    """One closed round, market-wide.

    Attributes
    ----------
    round : int
        Round index, from 0.
    prices : tuple of float
        ``p^t = B^t / Q^t`` as the contract computed it (``p^0 = B^0/Ω``);
        ``0.0`` on an inactive post.
    bids : tuple of float
        Totals ``B^t``.
    offers : tuple of float
        Totals ``Q^t`` (``Ω`` on post 0).
    distance : float
        ``max_t |p_sim^t / p_nash^t - 1|`` against the Nash prices
        (renormalised to this round's total bids), ``nan`` if not computed.
    orders : int
        Orders that reached the chain.
    failed : int
        Agents that failed in this round.
    gas : int
        Gas used by this round's transactions (orders and the close).
    verification : tuple of float
        ``Σ_i V_i^t`` for ``t = 1..T`` (kWh).
    delivered : tuple of float
        Electricity delivered ``Q^t``, ``t = 1..T`` (kWh).
    """

    round: int
    prices: tuple[float, ...]
    bids: tuple[float, ...]
    offers: tuple[float, ...]
    distance: float
    orders: int
    failed: int
    gas: int
    verification: tuple[float, ...]
    delivered: tuple[float, ...]


@dataclass(frozen=True)
class Failure:
    """An agent's failure in a round: the run went on without it."""

    round: int
    agent: str
    reason: str  # "strategy" (its decide raised) or "revert" (its tx was rejected)
    error: str


@dataclass(frozen=True)
class RunLog:
    """Everything recorded during a run, in order."""

    rounds: list[RoundRecord] = field(default_factory=list)
    agents: list[AgentRound] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
