"""The AI agent: its own key, its strategy, and what it learns from its receipts.

An :class:`Agent` keeps, in exact integers, what the chain told it through its
own receipts' events and the closed rounds' totals:

* its market balance and (producer) stock as left by its last transaction;
* its unsettled order (round, bids, offers), which the contract settles
  inside its next order: its revenue and refund are credited and (producer)
  its stock becomes the good it bought (``Settled``);
* its verification electricity ``v = κ · gasUsed`` from its last order's
  receipt (SPEC §3), which its next decision uses.

From these it predicts exactly what its next order may spend
(:meth:`Agent.spendable`) with the contract's own rounding
(:func:`agents.chain.fixedpoint.settle_order`), so a full-balance order never reverts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from market.model import AgentSpec, FloatArray

from agents.chain.fixedpoint import WAD, settle_order
from agents.strategies import Order, Strategy

if TYPE_CHECKING:  # pragma: no cover
    from agents.chain.backend import Account
    from agents.chain.events import Settled

#: Orders are rounded down to multiples of GRID wei/wad (2^32 ≈ 4.3e-9 units). Why:
#: calldata costs 4 gas per zero byte and 16 per non-zero byte, so bids that
#: wander in their last digits from round to round change an order's gasUsed,
#: hence v = κ·gasUsed, hence the equilibrium the agents aim at. On the grid an
#: order stops changing, to the wei, once the strategy's output is stable to
#: ~1e-9: the gas (and v) of a converged run is the same in every round.
GRID = 1 << 32


def to_wad(x: float) -> int:
    """Float bytecoins/units → wei/wad, rounded down (never more than asked)."""
    if not math.isfinite(x) or x <= 0.0:
        return 0
    return int(x * WAD)


@dataclass(frozen=True)
class Pending:
    """An order placed in a round not yet settled (exact integers as sent)."""

    round: int
    bids: tuple[int, ...]
    offers: tuple[int, ...]


class Agent:
    """One AI agent: a key pair, a strategy, and its own book-keeping.

    Parameters
    ----------
    spec : AgentSpec
        Its parameters in the economy.
    account : Account
        Its key; it signs its own transactions.
    strategy : Strategy
        Turns an :class:`~agents.strategies.Observation` into an order.
    kappa : float
        ``κ``, kWh per unit of gas.
    omega : int
        Standard agent's endowment (wad; 0 for a producer).
    balance : int
        Initial market balance (wei).
    stock : int
        Initial stock of the good (wad; producers).
    v_prior : float
        Verification electricity assumed before its first receipt (kWh).
    """

    def __init__(self, spec: AgentSpec, account: "Account", strategy: Strategy, *, kappa: float,
                 omega: int, balance: int, stock: int, v_prior: float) -> None:
        self.spec = spec
        self.account = account
        self.strategy = strategy
        self.kappa = kappa
        self.omega = omega
        self.balance = balance
        self.stock = stock
        self.pending: Pending | None = None
        self.v = v_prior
        self.gas_used = 0

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def producer(self) -> bool:
        return self.spec.kind == "producer"

    # ------------------------------------------------------------------ observe

    def spendable(self, closed: dict[int, tuple[tuple[int, ...], tuple[int, ...]]]) -> tuple[int, int]:
        """``(balance, stock)`` its next order may use, in wei and wad.

        Its market balance plus what settling its pending order will credit
        (revenue and refund, from that round's closed totals ``closed[r] =
        (B, Q)``); a producer's stock becomes the good that order bought.
        """
        if self.pending is None:
            return self.balance, self.stock
        B, Q = closed[self.pending.round]
        f = settle_order(B, Q, self.pending.bids, self.pending.offers, self.omega)
        stock = f.allocations[0] if self.producer else self.stock
        return self.balance + f.revenue + f.refund, stock

    # ------------------------------------------------------------------ act

    def to_integers(self, order: Order, balance: int, stock: int,
                    input_of: Callable[[tuple[int, ...]], int] | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Exact integer bids (wei) and offers (wad) for ``order``, within balance and stock.

        Bids are rounded down to the :data:`GRID`; if the strategy meant to spend
        its whole balance the remainder goes to the largest bid (the order spends
        ``balance`` exactly); if their sum exceeds ``balance`` they are scaled down. A producer's offers are rounded down and
        scaled by ``1 - 1e-12`` steps until ``input_of(offers) <= stock``
        (``input_of`` = the contract's exact input requirement), so the order
        is never rejected for cash or input.
        """
        T1 = len(order.bids)
        bids = [to_wad(float(b)) // GRID * GRID for b in order.bids]
        total = sum(bids)
        if total > balance:  # more than it holds: scale down to the balance
            bids = [b * balance // total // GRID * GRID for b in bids]
        intended = float(np.sum(order.bids))
        if balance > 0 and intended >= (balance / WAD) * (1.0 - 1e-9) and any(bids):
            # it means to spend its whole balance: give the rounding remainder to its
            # largest bid, so nothing is left over (and its account slot is unchanged,
            # which keeps its gas, hence its v, the same from round to round)
            k = int(np.argmax(bids))
            bids[k] += balance - sum(bids)
        if not self.producer:
            return tuple(bids), ()
        offers = [0] + [to_wad(float(q)) // GRID * GRID for q in order.offers[1:T1]]
        if self.spec.K is not None:
            cap = to_wad(self.spec.K)
            offers = [min(q, cap) for q in offers]
        if input_of is not None:
            base = list(offers)
            for k in range(40):
                if input_of(tuple(offers)) <= stock:
                    break
                keep = 1.0 - 1e-12 * 4.0**k  # 1e-12, 4e-12, ... of the offers cut away
                offers = ([0] + [int(q * keep) // GRID * GRID for q in base[1:]] if keep > 0
                          else [0] * len(base))
            else:
                offers = [0] * len(offers)
        return tuple(bids), tuple(offers)

    def placed(self, round: int, bids: tuple[int, ...], offers: tuple[int, ...], input_used: int,
               settled: Settled | None, gas_used: int) -> None:
        """Book an order the chain accepted (its receipt and its ``Settled`` event, if any).

        Learns ``v = κ · gasUsed`` from the receipt (:meth:`verification`).
        """
        if settled is not None:
            self.balance += settled.revenue + settled.refund
            if self.producer:
                self.stock = settled.stock
        self.balance -= sum(bids)
        if self.producer:
            self.stock -= input_used
        self.pending = Pending(round, bids, offers)
        self.gas_used = gas_used
        self.v = self.verification(gas_used)

    def verification(self, gas_used: int, kappa: float | None = None) -> float:
        """``v = κ · gasUsed`` (kWh, SPEC §3): the verification electricity of an order
        whose receipt used ``gas_used`` (0 for no order). The one place the simulation
        computes it; the prior before any receipt is
        :meth:`market.model.Economy.verification_energy`. ``kappa`` is the round's
        drawn ``κ`` when it is uncertain (what the order really cost); the agent's
        own ``κ`` (the mean) otherwise, and always for what it learns (:meth:`placed`)."""
        return (self.kappa if kappa is None else kappa) * gas_used

    def claimed(self, settled: Settled) -> None:
        """Book the final ``claim`` (settlement of its last order)."""
        self.balance += settled.revenue + settled.refund
        if self.producer:
            self.stock = settled.stock
        self.pending = None


def as_float_row(values: tuple[int, ...], T: int) -> FloatArray:
    """An integer per-post tuple (wei/wad; empty = all zero) as floats of length ``T+1``."""
    if not values:
        return np.zeros(T + 1)
    return np.array(values, dtype=float) / WAD
