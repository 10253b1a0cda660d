"""What a simulation run records: one row per agent and round, one per round,
the end-of-run ledger and the run's result.

These frozen dataclasses are the single source of the CSV columns and of
``summary.json`` (see ``docs/summary-schema.md``); :mod:`emg.output` only
serialises them. All quantities are floats in natural units (bytecoins, kWh,
good units) unless a name ends in ``_wei``/``_wad``; arrays are indexed by post
``[x^0, x^1, ..., x^T]`` (post 0 = the consumption good).

The price of an inactive post (``B^t = 0`` or ``Q^t = 0``) is ``0.0`` in these
records, in the CSV files and in what agents observe
(:class:`agents.strategies.Observation`), like the contract's own integer
price; the float economics (:func:`market.posts.settle`) writes ``nan``
there instead, and the plots draw it as a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from market.model import Economy, FloatArray, Scenario, SimulationSettings

from agents.chain.fixedpoint import WAD

if TYPE_CHECKING:  # pragma: no cover
    from market.results import Equilibrium
    from agents.events import EventReport


class AgentStatus(StrEnum):
    """An agent's status in a round (its text is what the CSV and JSON files hold)."""

    OK = "ok"  #: its order was placed
    FAILED = "failed"  #: its strategy raised or its transaction reverted
    ABSTAINED = "abstained"  #: it chose not to trade (priced out, or nothing to spend)


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
    status : AgentStatus
        ``ok``, ``failed`` or ``abstained``.
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
    cash_binds : bool
        Its order spent its whole balance and its unconstrained best response
        (the order's ``wanted_spend``) would have spent more.
    input_binds : bool
        A producer whose wanted offers needed more input than its stock (they
        were cut to fit).
    """

    round: int
    agent: str
    kind: str
    status: AgentStatus
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
    cash_binds: bool = False
    input_binds: bool = False


@dataclass(frozen=True)
class RoundRecord:
    """One closed round, market-wide.

    Attributes
    ----------
    round : int
        Round index, from 0.
    prices : tuple of float
        ``p^t = B^t / Q^t`` from the contract's totals (``p^0 = B^0/Ω``);
        ``0.0`` on an inactive post (see the module's note).
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
    event : str
        The kinds of the scenario's events that took effect before this round
        (``;``-separated; empty if none).
    constrained : float or None
        The share of agents whose cash or input constraint binds this round
        (``None`` in a run of a scenario without events, where it is not written).
    kappa : float or None
        The round's drawn ``κ`` (kWh per gas) when ``κ`` is uncertain, else None.
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
    event: str = ""
    constrained: float | None = None
    kappa: float | None = None


@dataclass(frozen=True)
class Failure:
    """An agent's failure in a round: the run went on without it."""

    round: int
    agent: str
    reason: str  # "strategy" (decide raised), "order" (a malformed order) or "revert" (tx rejected)
    error: str


@dataclass(frozen=True)
class RunLog:
    """Everything recorded during a run, in order."""

    rounds: list[RoundRecord] = field(default_factory=list)
    agents: list[AgentRound] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class PeriodBalance:
    """The electricity of one period ``t`` in the last round (``ledger.electricity.last_round``).

    ``consumed + verification = allocated = delivered − dust_wad / 1e18``.
    """

    t: int
    delivered: float
    consumed: float
    verification: float
    allocated: float
    dust_wad: int


@dataclass(frozen=True)
class ElectricityLedger:
    """Electricity (SPEC §3), exact in wad for every round and period.

    ``Σ_i (E_i^t + V_i^t) = Σ_i x_i^t = Q^t − dust^t`` with
    ``0 ≤ dust^t < buyers^t`` (each allocation is rounded down by less than
    one wad unit).
    """

    IDENTITY = ("sum_i (E_i^t + V_i^t) = sum_i x_i^t = Q^t - dust^t, "
                "0 <= dust^t < buyers^t (wad), every round and period")

    last_round: tuple[PeriodBalance, ...]
    max_dust_wad: int
    ok: bool


@dataclass(frozen=True)
class BytecoinLedger:
    """Bytecoins (SPEC §4), exact in wei.

    The agents' balances (on chain, and as each agent booked them from its
    events) plus the market's escrow equal the supply, and after the final
    claims the escrow is exactly the rounding dust forecast round by round.
    """

    IDENTITY = "sum_i balance_i + escrow = supply; escrow = rounding dust"

    supply_wei: int
    balances_wei: int
    escrow_wei: int
    dust_forecast_wei: int
    books_match_chain: bool
    ok: bool

    @property
    def supply(self) -> float:
        return self.supply_wei / WAD

    @property
    def balances(self) -> float:
        return self.balances_wei / WAD

    @property
    def escrow(self) -> float:
        return self.escrow_wei / WAD

    @property
    def dust_forecast(self) -> float:
        return self.dust_forecast_wei / WAD


@dataclass(frozen=True)
class Ledger:
    """The end-of-run checks (``summary.json``'s ``ledger``).

    Attributes
    ----------
    electricity : ElectricityLedger
    bytecoins : BytecoinLedger
    settlements_checked : int
        Settlements compared with the Python forecast of the contract's
        arithmetic (every one matched, or the run stops).
    """

    electricity: ElectricityLedger
    bytecoins: BytecoinLedger
    settlements_checked: int

    @property
    def ok(self) -> bool:
        """Both identities hold."""
        return self.electricity.ok and self.bytecoins.ok


@dataclass
class SimulationResult:
    """The outcome of :meth:`agents.simulation.Simulation.run` (everything the output folder is made of).

    Attributes
    ----------
    scenario : Scenario
    settings : SimulationSettings
        The settings in force (scenario's, with command-line overrides).
    log : RunLog
        Per-round and per-agent records, failures.
    converged : bool
        The last round's distance is within ``settings.tolerance``.
    distance : float
        ``max_t |p_sim^t / p_nash^t - 1|`` in the last round, against the Nash
        equilibrium solved with ``v_used`` and renormalised to that round's total bids.
    v_used : ndarray (N,)
        The verification electricity each agent used in its last decision
        (``κ · gasUsed`` of its previous receipt).
    v_last : ndarray (N,)
        ``κ · gasUsed`` of each agent's last order receipt.
    nash, competitive : Equilibrium or None
        ``emg solve``'s equilibria with ``v_used`` (None if the solver failed).
    nash_prices, competitive_prices : ndarray (T+1,) or None
        Their prices renormalised to the last round's total bids.
    final : Equilibrium or None
        The last round's profile as placed on chain, evaluated in floats with
        ``v_used`` and the agents that ordered (None if no round was played).
    ledger : Ledger
        The end-of-run checks (electricity and bytecoins), see ``docs/summary-schema.md``.
    gas_total, orders_total : int
    final_bids, final_offers, final_allocations : ndarray (N, T+1)
        The last round's orders and the chain's (rounded-down) allocations.
    participants : ndarray of bool (N,)
        The agents whose order of the last round was placed.
    wall_seconds : float
        Wall time of the loop (terminal only; never written to a file).
    timing : dict
        Seconds spent per phase (terminal and benchmarks only).
    chain : dict
        The chain it ran on (``backend``, ``node``, ``hardfork``, ``revert_data``).
    solver_errors : list of str
        Messages of ``solve_nash`` failures during the run (distances then ``nan``).
    """

    scenario: Scenario
    settings: SimulationSettings
    log: RunLog
    converged: bool
    distance: float
    v_used: FloatArray
    v_last: FloatArray
    nash: Equilibrium | None
    competitive: Equilibrium | None
    nash_prices: FloatArray | None
    competitive_prices: FloatArray | None
    final: Equilibrium | None
    ledger: Ledger
    gas_total: int
    orders_total: int
    final_bids: FloatArray
    final_offers: FloatArray
    final_allocations: FloatArray
    participants: np.ndarray
    wall_seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)
    solver_errors: list[str] = field(default_factory=list)
    #: the chain it ran on: backend, node (client version), hardfork, revert_data; see docs/summary-schema.md
    chain: dict[str, str] = field(default_factory=dict)
    #: the scenario's events as applied, each with the measures of the path after it
    events: list[EventReport] = field(default_factory=list)
    #: the economy in force at the end (after the events; the equilibria are its own)
    economy: Economy | None = None
