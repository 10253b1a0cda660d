"""A Hypothesis state machine against the market contract.

Random sequences of orders (valid and invalid), closes (early and at the
deadline), claims, withdrawals, deposits, mints by the token's monetary
authority (and refused mints by anyone else) and bad calls from many agents
across rounds, with a Python copy of the state. After every step:

* bytecoins are conserved: market balances (per agent, equal to the model's)
  + the escrow (equal to the model's: bids placed − paid out) + token balances
  outside the market = the supply; the market holds exactly its share;
* the escrow is exactly the closed rounds' bids not yet paid out plus the
  open round's bids; of it, what no unsettled order will be paid is dust,
  bounded by one wei per order and post;
* no agent is paid twice: a (agent, round) settles once, checked on the
  model and on the chain's Settled logs at the end of every run.

Every settlement (allocations, revenue, refund, stock) is asserted equal to
the fixed-point model (agents.chain.fixedpoint) exactly, and within rounding of the
float model (market.posts.settle).

Profiles: the default run is short; ``EMG_FUZZ=long`` (``make test-long``)
runs ≥ 10,000 state-machine steps (counted, and asserted after the run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from agents.chain.events import pack_order
from agents.chain import fixedpoint as fx
from market.posts import settle as float_settle
from tests.conftest import BACKENDS, make_chain

#: the Hypothesis state machine: ~20 s in the default profile (EMG_FUZZ=long: ~20 min)
pytestmark = pytest.mark.slow

WAD = fx.WAD
T = 2
LONG = os.environ.get("EMG_FUZZ", "").lower() == "long"
PROFILE = settings(
    max_examples=450 if LONG else 10,
    stateful_step_count=30 if LONG else 25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
#: on a managed Anvil (every step is a few JSON-RPC round trips): a bounded run
ANVIL_PROFILE = settings(PROFILE, max_examples=100 if LONG else 10, stateful_step_count=25)
STEPS = {"count": 0}
#: outcomes seen (success kinds and custom error names), printed after the run
OUTCOMES: dict[str, int] = {}


@dataclass
class Agent:
    kind: str
    address: str
    omega: int = 0
    theta: tuple[int, ...] = ()
    c: int = WAD
    capacity: int | None = None
    rho: int = 0
    balance: int = 0
    stock: int = 0
    token: int = 0  # ERC-20 balance outside the market
    pending: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None  # (round, bids, offers)


@dataclass
class World:
    chain: object
    market: object
    snap: object
    config: object
    supply: int
    start_block: int
    agents: list[Agent] = field(default_factory=list)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request):  # type: ignore[no-untyped-def]
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec
    from agents.chain.deploy import deploy_market

    chain = make_chain(request, 7, "machine")
    acc = chain.accounts
    standard = tuple(StandardSpec(acc[i].address, (10 + 7 * i) * WAD + i, (50 + 30 * i) * WAD + 17 * i)
                     for i in range(4))
    producers = (
        ProducerSpec(acc[4].address, (40 * WAD, 25 * WAD + 3), 8 * WAD // 10, 300 * WAD, 0, 30 * WAD, 80 * WAD),
        ProducerSpec(acc[5].address, (30 * WAD,), 5 * WAD // 4, None, WAD // 5, 20 * WAD, 40 * WAD),  # long run
    )
    config = MarketConfig(T, 600, standard, producers)
    # the outsider acc[6] is the token's monetary authority (it may mint; nobody else)
    market = deploy_market(chain, config, authority=acc[6].address)
    supply = sum(s.bytecoins for s in standard) + sum(p.bytecoins for p in producers)
    return World(chain, market, chain.snapshot(), config, supply, chain.block_number())


def _exact_input(offers, theta, c, rho):  # type: ignore[no-untyped-def]
    """Σ_t (q^t/θ^t)^{1/c} + ρ·max_t q^t, exactly (60 digits), in wad."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        th = list(theta) * (len(offers) - 1) if len(theta) == 1 else list(theta)
        total = sum(((Decimal(q) / Decimal(th[t - 1])) ** (Decimal(WAD) / Decimal(c)) * WAD
                     for t, q in enumerate(offers) if t > 0 and q > 0), Decimal(0))
        return total + Decimal(rho) * max(offers) / WAD


class MarketMachine(RuleBasedStateMachine):
    world: World

    @initialize()
    def reset(self) -> None:
        w = self.world
        w.chain.revert(w.snap)
        w.market.forget()
        self.agents = [Agent("standard", s.address, omega=s.omega, balance=s.bytecoins) for s in w.config.standard]
        self.agents += [Agent("producer", p.address, theta=p.theta, c=p.c, capacity=p.capacity, rho=p.rho,
                              balance=p.bytecoins, stock=p.stock) for p in w.config.producers]
        self.accounts = {a.address: a for a in w.chain.accounts}
        rs = w.market.current_round()
        self.round, self.deadline = rs.round, rs.deadline
        self.ordered: set[str] = set()
        self.open: list[tuple[Agent, tuple[int, ...], tuple[int, ...]]] = []
        self.hist: dict[int, tuple[list[int], list[int], object]] = {}
        self.escrow = 0
        self.settled: set[tuple[str, int]] = set()
        self.settlements = 0
        #: per closed round: its orders (address, bids, offers, ω) and bytecoins paid out so far
        self.round_orders: dict[int, list[tuple[str, tuple[int, ...], tuple[int, ...], int]]] = {}
        self.paid: dict[int, int] = {}
        self.supply = w.supply  # grows with the authority's mints

    # ------------------------------------------------------------------ helpers

    def _send(self, fn, expect: str | None, label: str = "ok"):  # type: ignore[no-untyped-def]
        """Run fn(); if ``expect`` is a custom error name, assert it reverted with it."""
        from agents.chain.backend import Reverted

        key = expect or label
        OUTCOMES[key] = OUTCOMES.get(key, 0) + 1
        if expect is None:
            return fn()
        with pytest.raises(Reverted) as info:
            fn()
        assert info.value.name == expect, (expect, info.value)
        return None

    def _settle_model(self, a: Agent, got) -> None:  # type: ignore[no-untyped-def]
        OUTCOMES["settlement"] = OUTCOMES.get("settlement", 0) + 1
        """Apply the settlement of a's pending order to the model and compare with the chain's."""
        assert a.pending is not None
        r, bids, offers = a.pending
        assert (a.address, r) not in self.settled, "paid twice"
        self.settled.add((a.address, r))
        self.settlements += 1
        B, Q, fl = self.hist[r]
        want = fx.settle_order(B, Q, bids, offers, omega=a.omega)
        assert got is not None and got.round == r
        assert (got.allocations, got.revenue, got.refund) == (want.allocations, want.revenue, want.refund)
        # within rounding of the float model of the same round
        i = fl["index"][a.address]
        for t in range(T + 1):
            assert abs(got.allocations[t] - fl["alloc"][i, t] * WAD) <= 1 + 1e-9 * got.allocations[t]
        assert abs(got.revenue - fl["revenue"][i] * WAD) <= T + 1 + 1e-9 * got.revenue
        a.balance += want.revenue + want.refund
        self.escrow -= want.revenue + want.refund
        self.paid[r] += want.revenue + want.refund
        if a.kind == "producer":
            assert got.consumed == a.stock and got.stock == want.allocations[0]
            a.stock = want.allocations[0]
        else:
            assert got.consumed == want.allocations[0]
        a.pending = None

    def _now(self) -> int:
        return int(self.world.chain.pending_time())

    # ------------------------------------------------------------------ rules

    @rule(i=st.integers(0, 5), frac=st.lists(st.floats(0, 1), min_size=T + 1, max_size=T + 1),
          over=st.booleans(), qfrac=st.lists(st.floats(0, 1.2), min_size=T, max_size=T))
    def order(self, i, frac, over, qfrac):  # type: ignore[no-untyped-def]
        self._order(i, frac, over, qfrac)

    @rule(frac=st.lists(st.floats(0, 1), min_size=T + 1, max_size=T + 1),
          qfrac=st.lists(st.floats(0, 1), min_size=T, max_size=T), close=st.booleans())
    def everyone_orders(self, frac, qfrac, close):  # type: ignore[no-untyped-def]
        """Every agent that has not ordered yet orders (valid-looking orders), then maybe close."""
        for i, a in enumerate(self.agents):
            if a.address not in self.ordered:
                self._order(i, frac[i % len(frac):] + frac[:i % len(frac)], False, qfrac)
        if close:
            self.close(early=True)

    def _order(self, i, frac, over, qfrac):  # type: ignore[no-untyped-def]
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        acct = self.accounts[a.address]
        now = self._now()
        # the balance the order sees is after settling the previous round
        bal, stock = a.balance, a.stock
        pend = a.pending
        settle_first = pend is not None and pend[0] < self.round
        if settle_first:
            B, Q, _ = self.hist[pend[0]]  # type: ignore[index]
            s = fx.settle_order(B, Q, pend[1], pend[2], omega=a.omega)  # type: ignore[index]
            bal += s.revenue + s.refund
            if a.kind == "producer":
                stock = s.allocations[0]
        budget = bal * (3 if over else 1) // (T + 1)
        bids = tuple(int(f * budget) for f in frac)
        offers: tuple[int, ...] = ()
        need = 0
        cap_error = False
        if a.kind == "producer":
            cap = a.capacity or 400 * WAD
            offers = (0, *(int(f * cap) for f in qfrac))
            cap_error = a.capacity is not None and any(q > a.capacity for q in offers)
            if not cap_error:
                need = fx.required_input(offers, a.theta, a.c, a.rho)
                # rounding against the producer: never below the exact input (60 digits)
                assert need >= _exact_input(offers, a.theta, a.c, a.rho), (offers, need)
        if now >= self.deadline:
            expect = "LateOrder"
        elif a.address in self.ordered:
            expect = "AlreadyOrdered"
        elif sum(bids) > bal:
            expect = "InsufficientBalance"
        elif cap_error:
            expect = "CapacityExceeded"
        elif need > stock:
            expect = "InsufficientInput"
        else:
            expect = None
        res = self._send(lambda: w.market.order(acct, list(bids), list(offers), round=self.round), expect,
                         "order")
        if res is None:
            return
        assert res.round == self.round and res.input == need
        if settle_first:
            self._settle_model(a, res.settlement)
        else:
            assert res.settlement is None
        a.balance -= sum(bids)
        self.escrow += sum(bids)
        a.stock = stock - need if a.kind == "producer" else a.stock
        a.pending = (self.round, bids, offers)
        self.ordered.add(a.address)
        self.open.append((a, bids, offers))

    @rule(i=st.integers(0, 5), ahead=st.booleans())
    def order_for_another_round(self, i, ahead):  # type: ignore[no-untyped-def]
        """An order meant for another round (a stale transaction, or one too early)
        is rejected whatever it carries; nothing moves (the invariants check it)."""
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        if not ahead and self.round == 0:
            ahead = True
        meant = self.round + 1 if ahead else self.round - 1
        expect = "LateOrder" if self._now() >= self.deadline else "WrongRound"
        bids = [0] * (T + 1)
        offers = [0] * (T + 1) if a.kind == "producer" else []
        self._send(lambda: w.market.order(self.accounts[a.address], bids, offers, round=meant), expect)

    @rule(early=st.booleans())
    def close(self, early):  # type: ignore[no-untyped-def]
        STEPS["count"] += 1
        w = self.world
        if not early and self._now() < self.deadline:
            w.chain.travel_to(self.deadline)
        all_in = len(self.ordered) == len(self.agents)
        expect = None if (self._now() >= self.deadline or all_in) else "RoundStillOpen"
        res = self._send(lambda: w.market.close(), expect, "close")
        if res is None:
            return
        B = [sum(b[t] for _, b, _ in self.open) for t in range(T + 1)]
        Q = [sum(a.omega for a, _, _ in self.open if a.kind == "standard")]
        Q += [sum(o[t] for a, _, o in self.open if a.kind == "producer") for t in range(1, T + 1)]
        assert res.closed.B == tuple(B) and res.closed.Q == tuple(Q)
        assert res.closed.prices == tuple(fx.price(b, q) for b, q in zip(B, Q))
        # the float model of the same round
        rows = [(a.address, list(b), ([a.omega, 0, 0] if a.kind == "standard" else list(o)))
                for a, b, o in self.open]
        fl: dict = {"index": {addr: k for k, (addr, _, _) in enumerate(rows)}}
        if rows:
            out = float_settle(np.array([r[1] for r in rows], dtype=float) / WAD,
                               np.array([r[2] for r in rows], dtype=float) / WAD)
            fl["alloc"], fl["revenue"] = out.allocations, out.revenue
        self.hist[self.round] = (B, Q, fl)
        self.round_orders[self.round] = [(a.address, b, o, a.omega) for a, b, o in self.open]
        self.paid[self.round] = 0
        self.round += 1
        self.deadline = w.market.current_round().deadline
        self.ordered.clear()
        self.open.clear()

    @rule(i=st.integers(0, 5))
    def claim(self, i):  # type: ignore[no-untyped-def]
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        if a.pending is None:
            expect = "NothingToClaim"
        elif a.pending[0] >= self.round:
            expect = "RoundNotClosed"
        else:
            expect = None
        acct = self.accounts[a.address]
        if expect == "NothingToClaim":
            self._send(lambda: w.market.transact(acct, "claim", [b"", b""]), expect)
            return
        got = self._send(lambda: w.market.claim(acct), expect, "claim")
        if got is not None:
            self._settle_model(a, got)

    @rule(i=st.integers(0, 5), frac=st.floats(0, 1.5), back=st.floats(0, 1))
    def withdraw_and_deposit(self, i, frac, back):  # type: ignore[no-untyped-def]
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        acct = self.accounts[a.address]
        amount = a.balance * int(frac * 1000) // 1000
        if amount == 0:
            self._send(lambda: w.market.withdraw(acct, 0), "ZeroAmount")
            return
        if amount > a.balance:
            self._send(lambda: w.market.withdraw(acct, amount), "InsufficientBalance")
            return
        self._send(lambda: w.market.withdraw(acct, amount), None, "withdraw")
        a.balance -= amount
        a.token += amount
        dep = a.token * int(back * 1000) // 1000
        if dep:
            self._send(lambda: w.market.deposit(acct, dep), None, "deposit")
            a.balance += dep
            a.token -= dep

    @rule(i=st.integers(0, 5), amount=st.integers(1, 200 * WAD), deposit=st.booleans())
    def mint(self, i, amount, deposit):  # type: ignore[no-untyped-def]
        """The authority issues bytecoins to an agent (who may deposit them); the agent itself cannot mint."""
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        acct = self.accounts[a.address]
        self._send(lambda: w.market.transact(acct, "token.mint", [a.address, amount], gas=100_000),
                   "NotAuthority")
        self._send(lambda: w.market.transact(w.chain.accounts[6], "token.mint", [a.address, amount],
                                             gas=100_000), None, "mint")
        self.supply += amount
        a.token += amount
        if deposit:
            self._send(lambda: w.market.deposit(acct, amount), None, "deposit")
            a.balance += amount
            a.token -= amount

    @rule()
    def time_passes(self) -> None:
        """The deadline passes without a close: late orders follow."""
        STEPS["count"] += 1
        self.world.chain.travel_to(self.deadline)

    @rule(i=st.integers(0, 5))
    def bad_calls(self, i):  # type: ignore[no-untyped-def]
        STEPS["count"] += 1
        w, a = self.world, self.agents[i]
        outsider = w.chain.accounts[6]
        self._send(lambda: w.market.order(outsider, [0] * (T + 1)), "UnknownAgent")
        if a.pending is not None and a.pending[0] < self.round and a.address not in self.ordered \
                and self._now() < self.deadline:
            r, bids, offers = a.pending
            forged = list(bids)
            forged[0] += 1
            acct = self.accounts[a.address]
            self._send(lambda: w.market.transact(
                acct, "order", [pack_order(self.round, bids, offers, previous=(forged, offers))],
                gas=w.market.order_gas),
                "BadPrevious")
            # the right payload but one byte long
            self._send(lambda: w.market.transact(
                acct, "order", [pack_order(self.round, bids, offers, previous=(bids, offers)) + b"\x00"],
                gas=w.market.order_gas),
                "BadOrderLength")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def conserved(self) -> None:
        w = self.world
        m = w.market
        for a in self.agents:
            st_ = m.agent(a.address)
            assert st_.balance == a.balance
            if a.kind == "producer":
                assert st_.stock == a.stock
            assert st_.last_round == (a.pending[0] if a.pending else None)
        assert m.escrow() == self.escrow
        outside = sum(a.token for a in self.agents)
        assert m.token_balance(m.market_address) == self.supply - outside
        assert sum(a.balance for a in self.agents) + self.escrow + outside == self.supply
        assert m.view("token.totalSupply")[0] == self.supply
        # escrow = every closed round's bids not yet paid out + the open round's bids;
        # of a closed round's remainder, what unsettled orders will be paid is owed, the rest is dust
        dust = 0
        bound = 0
        held = sum(sum(b) for _, b, _ in self.open)
        for r, orders in self.round_orders.items():
            B, Q, _ = self.hist[r]
            held += sum(B) - self.paid[r]
            owed = 0
            for addr, bids, offers, omega in orders:
                if (addr, r) not in self.settled:
                    s = fx.settle_order(B, Q, bids, offers, omega=omega)
                    owed += s.revenue + s.refund
            d = sum(B) - self.paid[r] - owed
            assert d >= 0
            dust += d
            bound += len(orders) * (T + 1)
        assert held == self.escrow
        assert 0 <= dust <= bound

    def teardown(self) -> None:
        # no (agent, round) settled twice, on the chain's own logs
        from agents.chain.events import Settled

        seen = [(e.agent, e.round) for e in self.world.market.events(self.world.start_block + 1)
                if isinstance(e, Settled)]
        assert len(seen) == len(set(seen)) == self.settlements


def test_market_state_machine(world):  # type: ignore[no-untyped-def]
    """The machine runs (and, under EMG_FUZZ=long, at least 10,000 steps): the
    step count is taken in this test, so it stands alone."""
    from hypothesis.stateful import run_state_machine_as_test

    STEPS["count"] = 0
    OUTCOMES.clear()
    MarketMachine.world = world
    local = world.chain.is_local
    run_state_machine_as_test(MarketMachine, settings=PROFILE if local else ANVIL_PROFILE)
    print(f"state-machine steps: {STEPS['count']}; outcomes: {dict(sorted(OUTCOMES.items()))}")
    assert STEPS["count"] >= (10_000 if LONG and local else 50)
