"""A Hypothesis state machine against the sealed-bid market (contracts/SealedMarket.sol).

Random sequences of commitments (within, above and below the balance, twice),
reveals (honest, with a wrong salt, bids above the escrow, too early, too late,
twice, without a commitment), closes (early and at the deadline), claims and
the passing of time, from standard agents and a producer, with a Python copy of
the state that predicts every outcome (success, or the custom error by name).
After every step:

* every balance (and the producer's stock) equals the model's;
* bytecoins are conserved: Σ balances + the market's escrow = the supply = the
  market's token holdings;
* the escrow is exactly: the live commitments' escrows + the forfeited escrows
  of commitments never revealed + the open round's revealed bids + every closed
  round's bids not yet paid out;
* every settlement equals the fixed-point model's (agents.chain.fixedpoint),
  and no (agent, round) settles twice (on the chain's Settled logs at the end).

eth-tester only: ~30 s in the default profile on 2 idle cores; ``EMG_FUZZ=long`` runs longer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from agents.chain import fixedpoint as fx
from agents.chain.backend import Chain, Reverted
from agents.chain.events import pack_values

pytestmark = pytest.mark.slow

WAD = fx.WAD
T = 2
N_STD = 3
#: long phases: the chain's clock moves at least a second a transaction; the machine travels on purpose
ROUND = 3600
REVEAL = 1800
LONG = os.environ.get("EMG_FUZZ", "").lower() == "long"
PROFILE = settings(max_examples=200 if LONG else 5, stateful_step_count=30 if LONG else 15, deadline=None,
                   derandomize=not LONG, suppress_health_check=list(HealthCheck))
OUTCOMES: dict[str, int] = {}


@dataclass
class Agent:
    address: str
    producer: bool
    omega: int
    balance: int
    stock: int = 0
    pending: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None  # (round, bids, offers)
    #: this round's commitment: (bids, offers, escrow), until revealed
    committed: tuple[tuple[int, ...], tuple[int, ...], int] | None = None
    commit_round: int = -1
    revealed_round: int = -1


@dataclass
class World:
    chain: Chain
    market: object
    snap: object
    config: object
    supply: int
    start_block: int
    theta: tuple[int, ...] = field(default_factory=tuple)


@pytest.fixture(scope="module")
def world() -> World:
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec
    from agents.chain.deploy import deploy_market

    chain = Chain.local(N_STD + 1, seed="sealed-machine")
    acc = chain.accounts
    standard = tuple(StandardSpec(acc[i].address, (10 + 7 * i) * WAD + i, (50 + 30 * i) * WAD + 17 * i)
                     for i in range(N_STD))
    producer = ProducerSpec(acc[N_STD].address, (40 * WAD, 25 * WAD + 3), WAD, 300 * WAD, 0, 60 * WAD, 80 * WAD)
    config = MarketConfig(T, ROUND, standard, (producer,), mode="sealed", reveal_duration=REVEAL)
    market = deploy_market(chain, config)
    supply = sum(s.bytecoins for s in standard) + producer.bytecoins
    return World(chain, market, chain.snapshot(), config, supply, chain.block_number(), producer.theta)


class SealedMachine(RuleBasedStateMachine):
    world: World

    @initialize()
    def reset(self) -> None:
        w = self.world
        w.chain.revert(w.snap)
        w.market.forget()  # type: ignore[attr-defined]
        w.market._sealed.clear()  # type: ignore[attr-defined]
        cfg = w.config
        self.agents = [Agent(s.address, False, s.omega, s.bytecoins) for s in cfg.standard]  # type: ignore[attr-defined]
        p = cfg.producers[0]  # type: ignore[attr-defined]
        self.agents.append(Agent(p.address, True, 0, p.bytecoins, p.stock))
        self.accounts = {a.address: a for a in w.chain.accounts}
        rs = w.market.current_round()  # type: ignore[attr-defined]
        self.round, self.deadline = rs.round, rs.deadline
        self.hist: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.unpaid: dict[int, int] = {}  # per closed round: ΣB not yet paid out
        self.open_bids = 0
        self.forfeited = 0
        self.settled: set[tuple[str, int]] = set()

    # ------------------------------------------------------------------ helpers

    @property
    def m(self):  # type: ignore[no-untyped-def]
        return self.world.market

    def _now(self) -> int:
        return int(self.world.chain.pending_time())

    def _send(self, fn, expect: str | None):  # type: ignore[no-untyped-def]
        OUTCOMES[expect or "ok"] = OUTCOMES.get(expect or "ok", 0) + 1
        if expect is None:
            return fn()
        with pytest.raises(Reverted) as info:
            fn()
        assert info.value.name == expect, (expect, info.value.name, info.value.error_args)
        return None

    def _tx(self, a: Agent, data: bytes):  # type: ignore[no-untyped-def]
        m = self.m
        try:
            return m.chain.send(self.accounts[a.address], m.market_address, data, m.order_gas)
        except Reverted as exc:
            raise m._named(exc) from None

    def _forecast(self, a: Agent) -> fx.FixedSettlement | None:
        """What settling a's pending order pays (None: no order, or its round is still open)."""
        if a.pending is None or a.pending[0] >= self.round:
            return None
        r, bids, offers = a.pending
        B, Q = self.hist[r]
        return fx.settle_order(B, Q, bids, offers, a.omega)

    def _apply_settlement(self, a: Agent, got) -> None:  # type: ignore[no-untyped-def]
        f = self._forecast(a)
        assert f is not None and a.pending is not None and got is not None
        r = a.pending[0]
        assert f.matches(got) and got.round == r
        assert (a.address, r) not in self.settled
        self.settled.add((a.address, r))
        a.balance += f.revenue + f.refund
        self.unpaid[r] -= f.revenue + f.refund
        if a.producer:
            a.stock = f.allocations[0]
        a.pending = None
        OUTCOMES["settlement"] = OUTCOMES.get("settlement", 0) + 1

    def _commits(self) -> int:
        return sum(1 for a in self.agents if a.commit_round == self.round)

    # ------------------------------------------------------------------ rules

    @rule(i=st.integers(0, N_STD), frac=st.lists(st.floats(0, 1), min_size=T + 1, max_size=T + 1),
          extra=st.sampled_from([0, 0, 1, 10**17, -1]), q=st.floats(0, 1.5))
    def commit(self, i, frac, extra, q) -> None:  # type: ignore[no-untyped-def]
        a = self.agents[i]
        f = self._forecast(a)
        spendable = a.balance + (f.revenue + f.refund if f else 0)
        bids = [int(x * spendable / (T + 1)) // 7 * 7 for x in frac]
        offers = [0] + [int(q * 20 * WAD) + t for t in range(T)] if a.producer else []
        escrow = max(sum(bids) + extra, 0)
        if extra == -1 and sum(bids) == 0:
            escrow = 0
        if self._now() >= self.deadline - REVEAL:
            expect = "CommitPhaseOver"
        elif a.commit_round == self.round:
            expect = "AlreadyCommitted"
        elif escrow > spendable:
            expect = "InsufficientBalance"
        else:
            expect = None
        acct = self.accounts[a.address]
        data = self.m.encode_commit(acct, self.round, bids, offers, escrow)
        receipt = self._send(lambda: self._tx(a, data), expect)
        if expect is None:
            res = self.m._commit_result(acct, self.round, bids, offers, receipt)
            assert res.escrow == escrow
            if f is not None:
                self._apply_settlement(a, res.settlement)
            else:
                assert res.settlement is None
            a.balance -= escrow
            a.committed = (tuple(bids), tuple(offers), escrow)
            a.commit_round = self.round

    @rule(i=st.integers(0, N_STD), how=st.sampled_from(["honest", "honest", "salt", "bids"]))
    def reveal(self, i, how) -> None:  # type: ignore[no-untyped-def]
        a = self.agents[i]
        acct = self.accounts[a.address]
        now = self._now()
        bids, offers, escrow = a.committed if a.committed else ((0,) * (T + 1), (), 0)
        salt = self.m.salt(acct, self.round, bids, offers)
        if how == "salt":
            salt = bytes(32)
        sent_bids = list(bids)
        if how == "bids":
            sent_bids[0] += 1
        input_ = fx.required_input(offers, self.world.theta, WAD, 0) if a.producer and offers else 0
        if now >= self.deadline:
            expect: str | None = "LateOrder"
        elif a.revealed_round == self.round:
            expect = "AlreadyOrdered"
        elif a.commit_round != self.round:
            expect = "NoCommitment"
        elif now < self.deadline - REVEAL and self._commits() < len(self.agents):
            expect = "RevealNotOpen"
        elif how != "honest":
            expect = "RevealMismatch"
        elif sum(bids) > escrow:
            expect = "InsufficientBalance"
        elif input_ > a.stock:
            expect = "InsufficientInput"
        else:
            expect = None
        data = self.m.encode("reveal", [self.round, salt, pack_values(sent_bids), pack_values(offers)])
        receipt = self._send(lambda: self._tx(a, data), expect)
        if expect is None:
            placed = self.m._order_result(acct, bids, offers, receipt)  # the client remembers the order
            assert (placed.round, placed.input) == (self.round, input_)
            a.balance += escrow - sum(bids)
            a.stock -= input_
            a.pending = (self.round, tuple(bids), tuple(offers))
            a.committed = None
            a.revealed_round = self.round
            self.open_bids += sum(bids)
            self.m._sealed.pop(a.address, None)

    @rule(frac=st.lists(st.floats(0, 1), min_size=T + 1, max_size=T + 1), q=st.floats(0, 1.5),
          skip=st.integers(-1, N_STD), bad=st.sampled_from(["salt", "bids"]), close=st.booleans())
    def everyone_commits_and_reveals(self, frac, q, skip, bad, close) -> None:  # type: ignore[no-untyped-def]
        """Every agent commits; the first tries a reveal that does not match; then every agent
        (but ``skip``, whose commitment is then forfeited) reveals honestly."""
        for i in range(len(self.agents)):
            self.commit(i, frac, 0, q)
        self.commit(0, frac, 0, q)  # again: AlreadyCommitted (or CommitPhaseOver)
        self.reveal(0, bad)
        for i in range(len(self.agents)):
            if i != skip:
                self.reveal(i, "honest")
        if close:
            self.close(False)

    @rule(early=st.booleans())
    def close(self, early) -> None:  # type: ignore[no-untyped-def]
        revealed = sum(1 for a in self.agents if a.revealed_round == self.round)
        if early and self._now() < self.deadline and revealed < len(self.agents):
            self._send(lambda: self.m.close(), "RoundStillOpen")
            return
        if revealed < len(self.agents):
            self.world.chain.travel_to(self.deadline)
        closed = self._send(lambda: self.m.close(), None).closed
        self.hist[self.round] = (closed.B, closed.Q)
        self.unpaid[self.round] = sum(closed.B)
        assert sum(closed.B) == self.open_bids
        self.open_bids = 0
        for a in self.agents:  # commitments never revealed: forfeited
            if a.committed is not None:
                self.forfeited += a.committed[2]
                a.committed = None
        self.round += 1
        self.deadline = closed.next_deadline

    @rule(i=st.integers(0, N_STD))
    def claim(self, i) -> None:  # type: ignore[no-untyped-def]
        a = self.agents[i]
        if a.pending is None:
            self._send(lambda: self.m.claim(self.accounts[a.address]), "NothingToClaim")
        elif a.pending[0] >= self.round:
            self._send(lambda: self.m.claim(self.accounts[a.address]), "RoundNotClosed")
        else:
            self._apply_settlement(a, self._send(lambda: self.m.claim(self.accounts[a.address]), None))

    @rule()
    def commit_phase_ends(self) -> None:
        self.world.chain.travel_to(max(self.deadline - REVEAL, self._now()))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def conserved(self) -> None:
        m = self.m
        for a in self.agents:
            s = m.agent(a.address)
            assert s.balance == a.balance
            if a.producer:
                assert s.stock == a.stock
        live = sum(a.committed[2] for a in self.agents if a.committed is not None)
        escrow = m.escrow()
        assert escrow == live + self.forfeited + self.open_bids + sum(self.unpaid.values())
        assert sum(a.balance for a in self.agents) + escrow == self.world.supply
        assert m.token_balance(m.market_address) == self.world.supply

    def teardown(self) -> None:
        from agents.chain.events import Settled

        seen = [(e.agent, e.round) for e in self.m.events(self.world.start_block + 1) if isinstance(e, Settled)]
        assert len(seen) == len(set(seen)) == len(self.settled)


def test_sealed_market_state_machine(world) -> None:  # type: ignore[no-untyped-def]
    from hypothesis.stateful import run_state_machine_as_test

    OUTCOMES.clear()
    SealedMachine.world = world
    run_state_machine_as_test(SealedMachine, settings=PROFILE)
    print(f"sealed state machine outcomes: {dict(sorted(OUTCOMES.items()))}")
    # the machine reached every phase (successes, settlements, a tampered reveal) and many errors
    for k in ("ok", "settlement", "RevealMismatch"):
        assert OUTCOMES.get(k, 0) > 0, (k, OUTCOMES)
    assert len(set(OUTCOMES) - {"ok", "settlement"}) >= 5, OUTCOMES
