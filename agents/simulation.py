"""The on-chain simulation: AI agents trade round after round on a local chain.

:meth:`Simulation.step` plays one round, phase by phase (each a method over
the run's state, :class:`_RunState`)::

    observe  every agent reads the last closed round (``RoundClosed``: B^t, Q^t,
             p^t), everyone's orders of that round (``OrderPlaced`` events) and
             forecasts its own pending settlement (revenue, refund, stock) with
             the contract's rounding -> Observation
    decide   each agent's strategy turns its observation into an order (Python)
    order    each agent signs and sends its own transaction, in an order drawn
             from the simulation's random generator; the contract settles its
             previous order in the same call, and that settlement must match
             the forecast. A strategy that raises or a transaction that reverts
             is a failure of that agent in that round: recorded, and the run
             goes on without its order. In the sealed market
             (``simulation.market = "sealed"``) each order is two transactions
             (:meth:`Simulation._submit`): every agent commits (which settles its
             previous order), then every agent reveals
    close    a keeper account (not an agent) calls close(); if not every
             registered agent ordered, the chain first travels to the deadline
    settle   what each order of the round will settle to (the contract's
             rounding): the agents' records, the forecasts, the ledger's dust
    measure  the round's prices and their distance to the Nash equilibrium

:meth:`Simulation.run` steps until the distance of the round's prices to the
Nash equilibrium (solved with the verification electricity the agents
measured, renormalised to the round's total bids) is at most ``tolerance``
(never before the scenario's last event has happened), or for ``rounds`` rounds; then every agent with a pending order claims it, the
ledger is checked and the final equilibria are solved. The simulation owns
``numpy.random.Generator(seed)``: the same scenario and seed give the same
run, to the byte in the output files.

A scenario's events (``[[event]]``, :mod:`market.events`) take effect between
rounds: after round ``r − 1`` settled, before the agents observe round ``r``
(:mod:`agents.events` carries them out on the chain). A ``kappa`` or
``preferences`` event changes the economy in force, so the reference
equilibrium is solved again for it (cached per economy and ``v``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from market.competitive import solve_competitive
from market.errors import EmgError, ScenarioError, SimulationError, SolverError
from market.events import Issue, Transfer
from market.shocks import check_issues, recovery
from market.model import AgentSpec, Economy, FloatArray, Scenario, SimulationSettings
from market.nash import solve_nash
from market.profile import evaluate_profile

from agents.agent import GRID, Agent, as_float_row, to_wad
from agents.chain.backend import Chain, Reverted
from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec
from agents.chain.fixedpoint import WAD, FixedSettlement, required_input, settle_order
from agents.chain.node import AnvilNode
from agents.events import AppliedEvent, EventPlayer, EventReport, authority_account, fund_authority
from agents.kappa_draws import KappaDraws
from agents.records import (
    AgentRound,
    AgentStatus,
    BytecoinLedger,
    ElectricityLedger,
    Failure,
    Ledger,
    PeriodBalance,
    RoundRecord,
    RunLog,
    SimulationResult,
)
from agents.strategies import (
    MalformedOrder,
    Observation,
    Order,
    Strategy,
    build_strategies,
    check_order,
    relative_distance,
)

if TYPE_CHECKING:  # pragma: no cover
    from market.results import Equilibrium

    from agents.chain.backend import Account
    from agents.chain.client import CommitResult, OrderResult
    from agents.chain.errors import ChainError

    from agents.chain.events import Settled

StrategyFactory = Callable[[AgentSpec], Strategy]
#: a closed round's totals ``(B, Q)`` (wei, wad)
Totals = tuple[tuple[int, ...], tuple[int, ...]]


def market_config(economy: Economy, addresses: list[str], round_duration: int) -> MarketConfig:
    """The chain's :class:`~agents.chain.config.MarketConfig` for an economy (floats → wad/wei)."""
    std, prd = [], []
    for spec, addr in zip(economy.agents(), addresses):
        if spec.kind == "standard":
            std.append(StandardSpec(addr, to_wad(spec.omega), to_wad(spec.bytecoins)))
        else:
            prd.append(ProducerSpec(
                addr, tuple(to_wad(th) for th in spec.theta), to_wad(spec.c),
                None if spec.K is None else to_wad(spec.K),
                0 if spec.rho is None else to_wad(spec.rho), to_wad(spec.stock),
                to_wad(spec.bytecoins)))
    return MarketConfig(economy.T, round_duration, tuple(std), tuple(prd))


@dataclass
class _Decision:
    """An agent's decision of the round, with what it may spend (wei, wad)."""

    agent: Agent
    order: Order | None
    balance: int
    stock: int
    error: str = ""
    reason: str = "strategy"  #: of a failure: "strategy" (decide raised) or "order" (malformed)


@dataclass(frozen=True)
class _Sent:
    """An order the chain accepted: exact bids and offers, its receipt's gas."""

    bids: tuple[int, ...]
    offers: tuple[int, ...]
    gas: int


@dataclass
class _Round:
    """One round in the making (filled phase by phase by :meth:`Simulation.step`)."""

    round: int
    decisions: list[_Decision] = field(default_factory=list)
    sent: dict[str, _Sent] = field(default_factory=dict)
    status: dict[str, tuple[AgentStatus, str]] = field(default_factory=dict)
    gas: int = 0
    B: tuple[int, ...] = ()
    Q: tuple[int, ...] = ()
    #: the round's κ when it is uncertain, drawn after the orders (None: certain)
    kappa: float | None = None


@dataclass
class _RunState:
    """What a run carries from round to round.

    Attributes
    ----------
    v_used : ndarray (N,)
        The verification electricity each agent used in its latest decision.
    round : int
        The next round to play.
    log : RunLog
    closed : dict
        Every closed round's totals ``(B, Q)``.
    forecasts : dict
        Each agent's forecast settlement of its pending order.
    elec_dust : dict
        Per round ``[(Q^t, Σ_i x_i^t, buyers^t)]`` for ``t = 1..T`` (wad), for the ledger.
    last_bids, last_offers, last_prices
        The last round's orders and prices, as the agents observe them.
    gas_total, orders_total, dust_total, settle_checked : int
        Gas of every transaction; orders placed; wei of rounding dust
        forecast; settlements matched against their forecast.
    ref, ref_v
        The Nash equilibrium the live distance is measured against, and its ``v``.
    timing : dict
        Seconds per phase.
    finished : bool
        The final claims were made: no more rounds.
    epoch_start : int
        The first round of the economy in force (0, or the round of the last ``kappa``
        or ``preferences`` event so far).
    """

    v_used: FloatArray
    round: int = 0
    log: RunLog = field(default_factory=RunLog)
    closed: dict[int, Totals] = field(default_factory=dict)
    forecasts: dict[str, FixedSettlement] = field(default_factory=dict)
    elec_dust: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    last_bids: FloatArray | None = None
    last_offers: FloatArray | None = None
    last_prices: FloatArray | None = None
    gas_total: int = 0
    orders_total: int = 0
    dust_total: int = 0
    settle_checked: int = 0
    #: sealed market: wei escrowed by commitments never revealed (forfeited; held by the market)
    forfeited_total: int = 0
    ref: Equilibrium | None = None
    ref_v: FloatArray | None = None
    timing: dict[str, float] = field(
        default_factory=lambda: {"decide": 0.0, "order": 0.0, "close": 0.0, "solve": 0.0})
    finished: bool = False
    epoch_start: int = 0


class Simulation:
    """One run of a scenario on a fresh local chain.

    Parameters
    ----------
    scenario : Scenario
    settings : SimulationSettings, optional
        Overrides ``scenario.simulation``.
    strategy_factory : callable, optional
        ``AgentSpec -> Strategy``; default: the settings' strategy for every agent
        (:func:`agents.strategies.build_strategies`, which checks its name and options).
    progress : bool
        Show a tqdm progress bar on stderr (:meth:`run`).

    The chain, market and agents are set up in the constructor (so a caller
    can inspect or instrument ``self.agents`` before :meth:`run`); ``state``
    holds what the run has recorded so far, round by round (:meth:`step`).
    """

    def __init__(self, scenario: Scenario, settings: SimulationSettings | None = None,
                 strategy_factory: StrategyFactory | None = None, progress: bool = False) -> None:
        self.scenario = scenario
        self.economy = economy = scenario.economy
        self.settings = settings or scenario.simulation
        economy.check_chain_bounds()  # a hand-built economy: named by field, not by agent index
        self.progress = progress
        self.rng = np.random.default_rng(self.settings.seed)
        #: each round's κ when it is uncertain (a stream of its own: self.rng is untouched)
        self.kappa_draws = KappaDraws(economy.kappa_states, self.settings.seed)
        self.T = economy.T
        self.N = economy.N
        self.schedule = economy.schedule
        # built before the chain starts, so a bad strategy name fails fast
        strategies = self._make_strategies(strategy_factory)
        #: the managed node (backend "anvil"), stopped by close()
        self.node: AnvilNode | None = None
        #: what keeps this run from parity with eth-tester, said at the start (emg simulate prints it)
        self.parity_notes: list[str] = []
        try:
            self._setup(economy, strategies)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> Chain:
        """The chain of ``settings.backend``: eth-tester, a managed Anvil, or a node's URL / IPC path.

        Same deterministic agent and keeper keys on every backend (so the same
        addresses, and the same run). A node's base fee that is not zero is
        signed above (``Chain.rpc``), or the run fails here, before deploying.
        """
        backend = self.settings.backend
        seed = self.settings.seed
        if backend == "eth-tester":
            return Chain.local(self.N, seed=seed)
        if backend == "anvil":
            from agents.chain.node import start_anvil

            self.node = start_anvil(ipc=True)
            chain = Chain.connect(self.node.endpoint, self.N, seed, fixed_block_interval=True,
                                  pipeline=True)
        else:
            chain = Chain.connect(backend, self.N, seed)
        if chain.hardfork != "prague":
            self.parity_notes.append(
                f"the node runs hardfork {chain.hardfork or '(not reported)'}, eth-tester Prague: "
                f"reverted transactions may use different gas (EIP-7623's calldata floor)")
        if chain.revert_data_method == "replay":
            self.parity_notes.append(
                "the node has no debug_traceTransaction: a reverted order's error is found by replaying "
                "it on the block before, which misses errors that depend on the block (LateOrder)")
        if chain.max_fee:
            self.parity_notes.append(
                f"the node's base fee is not zero: agents sign a max fee of {chain.max_fee} wei per gas "
                f"(priority fee 0; gas used is unaffected)")
        return chain

    def close(self) -> None:
        """Close the connection to the chain and stop a managed node (idempotent)."""
        chain = getattr(self, "chain", None)
        if chain is not None:
            chain.close()
        if self.node is not None:
            self.node.stop()

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chain_info(self) -> dict[str, str]:
        """The chain the run is on: backend, node (client version), hardfork, and how a mined
        transaction's revert data is found (``exact``/``trace``, or ``replay``: inexact)."""
        c = self.chain
        return {"backend": self.settings.backend, "node": c.client_version, "hardfork": c.hardfork,
                "revert_data": c.revert_data_method}

    def _setup(self, economy: Economy, strategies: list[Strategy]) -> None:
        from agents.chain.deploy import deploy_market  # loads the compiler and the client

        self.chain = self._connect()
        # eth-tester stamps blocks with the wall clock and moves it at least one second per
        # block (every transaction is a block), so on a busy machine or with many agents a
        # short deadline passes while agents are still ordering. The keeper closes a round
        # as soon as everyone has ordered, and travels to the deadline otherwise, so a long
        # deadline costs nothing: at least an hour, and 2(N+1) seconds
        duration = max(int(math.ceil(self.settings.round_duration)), 2 * (self.N + 1), 3600)
        self.config = market_config(economy, [a.address for a in self.chain.accounts], duration)
        if self.settings.market == "sealed":  # commit in the round's first half, reveal in its second
            self.config = replace(self.config, mode="sealed", reveal_duration=duration // 2)
        events = self.scenario.events
        for k, ev in enumerate(events):
            if ev.round >= self.settings.rounds:
                raise ScenarioError(f"event[{k}].round: {ev.round} is not before the run's last round "
                                    f"(rounds = {self.settings.rounds})")
        check_issues(economy, events)  # the balances may have been scaled since loading
        # a monetary authority only when the scenario issues money (otherwise the supply is fixed)
        authority = (authority_account(self.settings.seed)
                     if any(isinstance(ev, Issue) for ev in events) else None)
        self.client = deploy_market(self.chain, self.config,
                                    authority=authority.address if authority is not None else None)
        if authority is not None:
            fund_authority(self.chain, authority)
        supply = sum(s.bytecoins for s in self.config.standard) + sum(
            p.bytecoins for p in self.config.producers)
        #: the scenario's events, applied at their rounds (agents.events)
        self.events = EventPlayer(events, self.client, authority, supply)
        #: the economy in force is the ``epoch``-th (a kappa or preferences event starts the next)
        self._epoch = 0
        self._failed_epochs: set[int] = set()
        v_prior = economy.verification_energy()
        self.agents = [
            Agent(spec, acct, strategy, kappa=economy.kappa,
                  omega=to_wad(spec.omega) if spec.kind == "standard" else 0,
                  balance=to_wad(spec.bytecoins), stock=to_wad(spec.stock),
                  v_prior=float(v_prior[spec.index]))
            for spec, acct, strategy in zip(economy.agents(), self.chain.accounts, strategies)
        ]
        self._producer_specs = {p.address: p for p in self.config.producers}
        self._solved: dict[tuple[int, bytes], Equilibrium | None] = {}
        self.solver_errors: list[str] = []
        self.state = _RunState(v_used=np.array([a.v for a in self.agents]))

    def _make_strategies(self, factory: StrategyFactory | None) -> list[Strategy]:
        """Each agent's strategy, in economy order: ``factory(spec)``, by default the
        settings' strategy for every agent from the registry
        (:func:`agents.strategies.build_strategies`, which checks its name and options)."""
        if factory is not None:
            return [factory(spec) for spec in self.economy.agents()]
        return build_strategies(self.economy, self.settings, self.rng)

    # ------------------------------------------------------------------ helpers

    def _required_input(self, agent: Agent) -> Callable[[tuple[int, ...]], int]:
        """The contract's exact input requirement for this producer's offers (agents.chain.fixedpoint)."""
        spec = self._producer_specs[agent.account.address]

        def f(offers: tuple[int, ...]) -> int:
            return required_input(offers, spec.theta, spec.c, spec.rho)
        return f

    def _reference(self, v: FloatArray) -> Equilibrium | None:
        """``solve_nash`` of the economy in force with per-agent ``v`` (cached by the economy
        and the exact vector: gas takes few values).

        ``None`` if the solver fails (the message is kept in ``solver_errors``):
        the run goes on, its distances are then undefined (``nan``). A failure
        is final for the run: the reference is not solved again, whatever
        ``v`` the later rounds measure (a failing solve can take minutes, and
        re-running it every round turned a run into a rerun storm). The chain
        keeps running to the round limit: the agents' strategies do not need
        the reference, and the on-chain prices, orders and ledger are still
        recorded; only the stopping test (distance ≤ tolerance) is unavailable.
        """
        key = (self._epoch, np.asarray(v, dtype=float).tobytes())
        if key in self._solved:
            return self._solved[key]
        if self._epoch in self._failed_epochs:
            return None  # the reference failed once for this economy: not again (see above)
        try:
            eq: Equilibrium | None = solve_nash(self.economy, v=v)
        except SolverError as exc:
            eq = None
            self._failed_epochs.add(self._epoch)
            self.solver_errors.append(
                f"{exc} (the reference Nash equilibrium is not solved again this run: distances "
                f"are nan and the run cannot stop on its tolerance; the chain keeps running to "
                f"the round limit, since the agents' strategies do not need the reference)")
        self._solved[key] = eq
        return eq

    def _check_settlement(self, where: str, agent: Agent, settled: Settled) -> None:
        """The chain's settlement of ``agent``'s pending order must be the forecast one."""
        forecast = self.state.forecasts.pop(agent.id, None)
        if forecast is None or not forecast.matches(settled):
            raise SimulationError(f"{where}: {agent.id}'s settlement {settled} differs from the "
                                  f"contract-arithmetic forecast {forecast}")
        self.state.settle_checked += 1

    # ------------------------------------------------------------------ one round

    def step(self) -> RoundRecord:
        """Play one round: observe → decide → order → close → settle → measure.

        Returns the round's record (also appended to ``state.log``). The live
        distance in it is against the last equilibrium solved during the run;
        :meth:`run` recomputes every round's distance against the final one.
        """
        st = self.state
        if st.finished:
            raise SimulationError("the run is over (its last orders were claimed): no more rounds")
        rnd = _Round(st.round)
        applied = self._apply_events(st.round)
        self._decide(rnd)
        self._send_orders(rnd)
        # after the orders: agents bid not knowing it (none once a kappa event made κ certain)
        rnd.kappa = self.kappa_draws.draw(rnd.round) if self.economy.kappa_states is not None else None
        self._close(rnd)
        bids_m, offers_m, vsum = self._settle(rnd)
        record = self._measure(rnd, bids_m, offers_m, vsum)
        if self.events.events:
            constrained = [a for a in st.log.agents[-self.N:] if a.cash_binds or a.input_binds]
            record = replace(record, event=";".join(e.event.kind for e in applied),
                             constrained=len(constrained) / self.N)
            st.log.rounds[-1] = record
        st.round += 1
        return record

    def _apply_events(self, r: int) -> list[AppliedEvent]:
        """The events due before round ``r``, carried out on the chain (agents.events)."""
        out: list[AppliedEvent] = []
        st = self.state
        for index, ev in self.events.due(r):
            if isinstance(ev, Issue):
                balances = [a.spendable(st.closed)[0] for a in self.agents]
                done = self.events.issue(index, ev, self.agents, balances)
            elif isinstance(ev, Transfer):
                done = self.events.transfer(index, ev, self.agents, self._claim_one)
            else:
                self.economy, done = self.events.off_chain(index, ev, self.agents, self.economy,
                                                           self.events.supply)
                self._epoch += 1
                st.epoch_start = r
                st.ref = st.ref_v = None  # the economy changed: solve its equilibrium
            self.events.applied.append(done)
            out.append(done)
        return out

    def _claim_one(self, agent: Agent, where: str = "") -> None:
        """``agent`` claims its pending order (checked against the forecast)."""
        settled = self.client.claim(agent.account)
        self._check_settlement(where or f"claim before round {self.state.round}", agent, settled)
        agent.claimed(settled)

    def _observe(self, agent: Agent, r: int) -> tuple[Observation, int, int]:
        """What ``agent`` sees before round ``r``, and what it may spend (wei, wad)."""
        st = self.state
        balance, stock = agent.spendable(st.closed)
        obs = Observation(
            round=r, economy=self.economy, spec=agent.spec,
            balance=balance / WAD, stock=stock / WAD, v=agent.v,
            bids=st.last_bids, offers=st.last_offers, prices=st.last_prices, rng=self.rng)
        return obs, balance, stock

    def _decide(self, rnd: _Round) -> None:
        """Observe and decide, agent by agent (a strategy that raises is that agent's failure)."""
        t0 = time.perf_counter()
        self.state.v_used = np.array([a.v for a in self.agents])
        for agent in self.agents:
            obs, balance, stock = self._observe(agent, rnd.round)
            try:
                decided = agent.strategy.decide(obs)
            except Exception as exc:  # the agent's process failed: the run goes on
                rnd.decisions.append(_Decision(agent, None, balance, stock,
                                               f"{type(exc).__name__}: {exc}"))
                continue
            try:  # a malformed order is the agent's failure too, never sent as 0
                order = check_order(decided, agent.spec, self.T)
            except MalformedOrder as exc:
                rnd.decisions.append(_Decision(agent, None, balance, stock,
                                               f"malformed order: {exc}", reason="order"))
                continue
            rnd.decisions.append(_Decision(agent, order, balance, stock))
        self.state.timing["decide"] += time.perf_counter() - t0

    def _send_orders(self, rnd: _Round) -> None:
        """Each agent signs and sends its own order, in a random order; failures are recorded.

        The orders are built in that order, sent together (``order_all``: on
        the managed Anvil mined in blocks of many, in that order, without
        waiting on each receipt; see ``Chain.send_all``), then booked in that
        order, exactly as one by one.
        """
        t0 = time.perf_counter()
        st = self.state
        r = rnd.round
        plan: list[tuple[_Decision, tuple[int, ...], tuple[int, ...], EmgError | None]] = []
        for k in self.rng.permutation(self.N):
            d = rnd.decisions[int(k)]
            if d.error or d.order is None:
                plan.append((d, (), (), None))
                continue
            try:
                bids, offers = d.agent.to_integers(
                    d.order, d.balance, d.stock,
                    self._required_input(d.agent) if d.agent.producer else None)
            except EmgError as exc:
                plan.append((d, (), (), exc))
                continue
            plan.append((d, tuple(bids), tuple(offers), None))
        to_send = [(d.agent.account, b, o) for d, b, o, e in plan if not d.error and d.order is not None and e is None]
        results = iter(self._submit(to_send, r))
        for d, bids, offers, pre_error in plan:
            agent = d.agent
            if d.error:
                rnd.status[agent.id] = (AgentStatus.FAILED, d.error)
                st.log.failures.append(Failure(r, agent.id, d.reason, d.error))
                continue
            if d.order is None:
                rnd.status[agent.id] = (AgentStatus.ABSTAINED, "")
                continue
            try:
                if pre_error is not None:
                    raise pre_error
                res = next(results)
                if isinstance(res, EmgError):
                    raise res
            except Reverted as exc:
                msg = f"reverted: {exc.name}{tuple(exc.error_args)}" if exc.name else str(exc)
                rnd.status[agent.id] = (AgentStatus.FAILED, msg)
                st.log.failures.append(Failure(r, agent.id, "revert", msg))
                if exc.receipt is not None:
                    rnd.gas += exc.receipt.gas_used
                self._forfeit(rnd, agent, exc)
                continue
            except EmgError as exc:
                msg = str(exc)
                rnd.status[agent.id] = (AgentStatus.FAILED, msg)
                st.log.failures.append(Failure(r, agent.id, "revert", msg))
                self._forfeit(rnd, agent, exc)
                continue
            if res.settlement is not None:
                self._check_settlement(f"round {r}", agent, res.settlement)
            agent.placed(res.round, bids, offers, res.input, res.settlement, res.gas_used)
            rnd.sent[agent.id] = _Sent(bids, offers, res.gas_used)
            rnd.status[agent.id] = (AgentStatus.OK, d.order.note)  # a fallback's note, or ""
            rnd.gas += res.gas_used
            st.orders_total += 1
        st.timing["order"] += time.perf_counter() - t0

    def _submit(self, orders: list[tuple[Account, tuple[int, ...], tuple[int, ...]]],
                r: int) -> list[OrderResult | ChainError]:
        """Send the round's orders: plain, one ``order`` each (``order_all``); sealed, every
        order committed, then every committed order revealed (``sealed_all``: the reveal
        phase opens once every agent has committed, or at the commit deadline, to which the
        chain travels). Either way the agents decided before any order of the round was sent,
        from the last closed round only (see docs/strategies.md, "What a strategy sees")."""
        if self.config.sealed:
            return self.client.sealed_all(orders, round=r)
        return self.client.order_all(orders, round=r)

    def _forfeit(self, rnd: _Round, agent: Agent, exc: EmgError) -> None:
        """Sealed market, a reveal that failed after its commitment was mined: the commitment
        settled the agent's previous order (checked against the forecast) and its escrow is
        forfeited (it stays in the market: see contracts/SealedMarket.sol)."""
        commit: CommitResult | None = getattr(exc, "commit", None)
        if commit is None:
            return
        rnd.gas += commit.receipt.gas_used
        if commit.settlement is not None:
            self._check_settlement(f"round {rnd.round}", agent, commit.settlement)
            agent.claimed(commit.settlement)
        agent.balance -= commit.escrow
        self.state.forfeited_total += commit.escrow

    def _close(self, rnd: _Round) -> None:
        """The keeper closes the round (at its deadline if someone did not order)."""
        t0 = time.perf_counter()
        st = self.state
        if len(rnd.sent) < self.N:
            self.chain.travel_to(self.client.current_round().deadline)
        cres = self.client.close()
        rnd.gas += cres.receipt.gas_used
        st.gas_total += rnd.gas
        rnd.B, rnd.Q = cres.closed.B, cres.closed.Q
        st.closed[rnd.round] = (rnd.B, rnd.Q)
        st.timing["close"] += time.perf_counter() - t0

    def _settle(self, rnd: _Round) -> tuple[FloatArray, FloatArray, FloatArray]:
        """What each order of the round settles to (the contract's rounding), agent by agent.

        Keeps each forecast for the check at its settlement, appends the
        agents' records, and books the round's rounding dust for the ledger.
        Returns the round's bids, offers (``(N, T+1)``) and ``Σ_i V_i^t``.
        """
        st = self.state
        T, N = self.T, self.N
        B, Q = rnd.B, rnd.Q
        bids_m = np.zeros((N, T + 1))
        offers_m = np.zeros((N, T + 1))
        alloc_m = np.zeros((N, T + 1))
        paid = 0
        vsum = np.zeros(T)
        xsum_int = [0] * (T + 1)
        decided = {d.agent.id: d for d in rnd.decisions}
        for agent in self.agents:
            i = agent.spec.index
            status, err = rnd.status[agent.id]
            gas = 0
            sent = rnd.sent.get(agent.id)
            if sent is not None:
                gas = sent.gas
                f = settle_order(B, Q, sent.bids, sent.offers, agent.omega)
                st.forecasts[agent.id] = f
                paid += f.revenue + f.refund
                bids_m[i] = as_float_row(sent.bids, T)
                offers_m[i] = as_float_row(sent.offers, T) if agent.producer else 0.0
                if not agent.producer:
                    offers_m[i, 0] = agent.omega / WAD
                alloc_m[i] = as_float_row(f.allocations, T)
                for t in range(T + 1):
                    xsum_int[t] += f.allocations[t]
            cash_binds = input_binds = False
            d = decided.get(agent.id)
            if sent is not None and d is not None and d.order is not None:
                order = d.order
                # it spends its whole balance (to the grid) and its best response wanted more
                cash_binds = (order.wanted_spend is not None and sum(sent.bids) >= d.balance - (T + 1) * GRID
                              and order.wanted_spend > d.balance / WAD * (1.0 + BINDS_REL))
                input_binds = (agent.producer and order.wanted_input is not None
                               and order.wanted_input > d.stock / WAD * (1.0 + BINDS_REL))
            v = agent.verification(gas, rnd.kappa)
            V = self.schedule * v if gas else np.zeros(T)
            vsum += V
            nxt_balance, nxt_stock = agent.spendable(st.closed)
            st.log.agents.append(AgentRound(
                round=rnd.round, agent=agent.id, kind=agent.spec.kind, status=status,
                bids=tuple(bids_m[i].tolist()), offers=tuple(offers_m[i].tolist()),
                allocations=tuple(alloc_m[i].tolist()),
                consumption=tuple((alloc_m[i, 1:] - V).tolist()),
                verification=tuple(V.tolist()), gas_used=int(gas), v=float(v),
                balance=nxt_balance / WAD, stock=nxt_stock / WAD if agent.producer else 0.0,
                error=err, cash_binds=cash_binds, input_binds=input_binds))
        st.dust_total += sum(B) - paid
        # electricity ledger of this round, exact in wad: Σ_i x_i^t + dust^t = Q^t
        st.elec_dust[rnd.round] = [
            (Q[t] if B[t] > 0 and Q[t] > 0 else 0, xsum_int[t],
             sum(1 for i in range(N) if bids_m[i, t] > 0))
            for t in range(1, T + 1)]
        return bids_m, offers_m, vsum

    def _measure(self, rnd: _Round, bids_m: FloatArray, offers_m: FloatArray,
                 vsum: FloatArray) -> RoundRecord:
        """The round's prices, their distance to the Nash equilibrium, and its record.

        Live: against the last solve while ``v`` moved by < 1e-2 since; exact,
        with this round's ``v``, once it is near the tolerance (so the stopping
        test is exact).
        """
        st = self.state
        B, Q = rnd.B, rnd.Q
        prices = np.array([b / q if b > 0 and q > 0 else 0.0 for b, q in zip(B, Q)])
        t0 = time.perf_counter()
        if st.ref is None or st.ref_v is None or _rel_change(st.v_used, st.ref_v) > 1e-2:
            st.ref, st.ref_v = self._reference(st.v_used), st.v_used.copy()
        distance = self._distance(prices, B, st.ref)
        if distance <= 10.0 * self.settings.tolerance and not np.array_equal(st.v_used, st.ref_v):
            st.ref, st.ref_v = self._reference(st.v_used), st.v_used.copy()
            distance = self._distance(prices, B, st.ref)
        st.timing["solve"] += time.perf_counter() - t0
        record = RoundRecord(
            round=rnd.round, prices=tuple(prices.tolist()),
            bids=tuple(b / WAD for b in B), offers=tuple(q / WAD for q in Q),
            distance=distance, orders=len(rnd.sent),
            failed=sum(1 for s, _ in rnd.status.values() if s == AgentStatus.FAILED),
            gas=rnd.gas, verification=tuple(vsum.tolist()),
            delivered=tuple(q / WAD for q in Q[1:]), kappa=rnd.kappa)
        st.log.rounds.append(record)
        st.last_bids, st.last_offers, st.last_prices = bids_m, offers_m, prices
        return record

    # ------------------------------------------------------------------ the run

    def run(self) -> SimulationResult:
        """Step until the prices settle on the Nash equilibrium or the round limit, then finish.

        Continues a run already stepped by hand (from ``state.round``); once
        finished, a simulation cannot run again.
        """
        if self.state.finished:
            raise SimulationError("the run is over (its last orders were claimed): no more rounds")
        settings = self.settings
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=settings.rounds, desc="emg simulate", unit="round", leave=True)
        t_start = time.perf_counter()
        try:
            while self.state.round < settings.rounds:
                record = self.step()
                if bar is not None:
                    bar.set_postfix_str(f"round {record.round}  distance {record.distance:.2e}  "
                                        f"gas {self.state.gas_total:,}", refresh=False)
                    bar.update(1)
                if record.distance <= settings.tolerance and record.round >= self.events.last_round:
                    break  # settled, and no event is still to come
        finally:
            if bar is not None:
                bar.close()
        return self._finish(wall=time.perf_counter() - t_start)

    def _claim_all(self) -> None:
        """Every agent with a pending order claims it (checked against the forecast)."""
        for agent in self.agents:
            if agent.pending is not None:
                self._claim_one(agent, "final claim")
        self.state.finished = True

    def _finish(self, wall: float) -> SimulationResult:
        """Final claims, the ledger, the final equilibria and distances: the result."""
        st = self.state
        settings = self.settings
        T, N = self.T, self.N
        log = st.log
        v_used = st.v_used
        self._claim_all()
        ledger = self._ledger()
        # ---- the comparison: equilibria with the v the agents used, renormalised
        nash = (st.ref if st.ref is not None and st.ref_v is not None
                and np.array_equal(v_used, st.ref_v) else None)
        if nash is None:
            nash = self._reference(v_used)
        # every round's distance in the economy in force, against this one final equilibrium
        # (the live ones may have used an equilibrium solved with an earlier v); rounds
        # before the last kappa or preferences event keep their live distance, to the
        # equilibrium of the economy in force then
        log.rounds[:] = [replace(rr, distance=self._distance(np.array(rr.prices), st.closed[rr.round][0],
                                                             nash)) if rr.round >= st.epoch_start else rr
                         for rr in log.rounds]
        distance = log.rounds[-1].distance if log.rounds else math.inf
        last = log.rounds[-1] if log.rounds else None
        total_bids = sum(last.bids) if last is not None else 0.0
        nash_p = (nash.prices * (total_bids / nash.bids.sum())
                  if nash is not None and nash.bids.sum() > 0 else None)
        try:
            comp: Equilibrium | None = solve_competitive(self.economy, v=v_used)
        except EmgError:
            comp = None
        comp_p = (comp.prices * (total_bids / comp.bids.sum())
                  if comp is not None and comp.bids.sum() > 0 else None)
        v_last = np.array([a.verification(a.gas_used) for a in self.agents])
        last_status = {a.agent: a.status for a in log.agents[-N:]} if log.agents else {}
        participants = np.array([last_status.get(ag.id) == AgentStatus.OK for ag in self.agents])
        converged = bool(distance <= settings.tolerance)
        final_bids = st.last_bids if st.last_bids is not None else np.zeros((N, T + 1))
        final_offers = st.last_offers if st.last_offers is not None else np.zeros((N, T + 1))
        final = None
        if log.rounds:
            final = evaluate_profile(
                self.economy, final_bids, final_offers, v=v_used, participants=participants,
                kind="simulation", iterations=len(log.rounds), converged=converged,
                message="last on-chain round")
        return SimulationResult(
            scenario=self.scenario, settings=settings, log=log,
            converged=converged, distance=float(distance),
            v_used=v_used, v_last=v_last, nash=nash, competitive=comp,
            nash_prices=nash_p, competitive_prices=comp_p, final=final, ledger=ledger,
            gas_total=st.gas_total, orders_total=st.orders_total,
            final_bids=final_bids, final_offers=final_offers,
            final_allocations=np.array([list(a.allocations) for a in log.agents[-N:]])
            if log.agents else np.zeros((N, T + 1)),
            participants=participants, wall_seconds=wall, timing=st.timing,
            solver_errors=list(self.solver_errors), chain=self.chain_info(),
            events=self._event_reports(), economy=self.economy)

    def _event_reports(self) -> list[EventReport]:
        """Each applied event with the measures of the path after it (market.events.recovery)."""
        log = self.state.log
        applied = self.events.applied
        by_round = {r.round: r for r in log.rounds}
        out = []
        for k, done in enumerate(applied):
            r0 = done.event.round
            same = [a for a in applied if a.event.round == r0]
            later = [a.event.round for a in applied if a.event.round > r0]
            end = min(later) if later else (log.rounds[-1].round + 1 if log.rounds else r0)
            window = [by_round[r] for r in range(r0, end) if r in by_round]
            pre = by_round.get(r0 - 1)
            prices = np.array([pre.prices if pre else window[0].prices if window else ()]
                              + [w.prices for w in window], dtype=float)
            rec = recovery(r0, [w.round for w in window], [w.distance for w in window], prices,
                           self.settings.tolerance, same[0].supply_before / WAD, same[-1].supply_after / WAD)
            out.append(EventReport(done, rec))
        return out

    @staticmethod
    def _distance(prices: FloatArray, B: tuple[int, ...], ref: Equilibrium | None) -> float:
        """``max_t |p^t / p_nash^t − 1|``, Nash prices renormalised to this round's total bids.

        ``nan`` without an equilibrium (the solver failed).
        """
        if ref is None:
            return math.nan
        total_ref = float(ref.bids.sum())
        if total_ref <= 0:
            return math.inf
        scale = (sum(B) / WAD) / total_ref
        nash_p = np.nan_to_num(ref.prices, nan=0.0) * scale
        if np.any((nash_p > 0) & ~(prices > 0)):
            return math.inf  # a post the equilibrium trades on is inactive on chain
        return relative_distance(prices, nash_p)

    def _ledger(self) -> Ledger:
        """End-of-run checks: electricity per period and round, bytecoins conserved.

        See :class:`~agents.records.ElectricityLedger` and
        :class:`~agents.records.BytecoinLedger` for the identities.
        """
        st = self.state
        T = self.T
        electricity_ok = True
        worst = 0
        for rows in st.elec_dust.values():
            for delivered, xsum, buyers in rows:
                dust = delivered - xsum
                worst = max(worst, dust)
                if not 0 <= dust <= max(buyers, 0) or (delivered == 0 and xsum != 0):
                    electricity_ok = False
        last_r = max(st.elec_dust) if st.elec_dust else None
        last_rows = []
        if last_r is not None:
            last_agents = [a for a in st.log.agents if a.round == last_r]
            for t in range(1, T + 1):
                delivered, xsum, _ = st.elec_dust[last_r][t - 1]
                last_rows.append(PeriodBalance(
                    t=t, delivered=delivered / WAD,
                    consumed=sum(a.consumption[t - 1] for a in last_agents),
                    verification=sum(a.verification[t - 1] for a in last_agents),
                    allocated=xsum / WAD, dust_wad=delivered - xsum))
        # bytecoins: Σ agents' balances + escrow = supply, escrow = rounding dust
        supply = self.events.supply  # the genesis supply and every mint since
        on_chain = [self.client.agent(a.account.address).balance for a in self.agents]
        booked = [a.balance for a in self.agents]
        escrow = self.client.escrow()
        market_tokens = self.client.token_balance(self.client.market_address)
        # escrow: the rounding dust, and (sealed market) the escrow of commitments never revealed
        bytecoins_ok = (sum(on_chain) + escrow == supply and on_chain == booked
                        and escrow == st.dust_total + st.forfeited_total and market_tokens == supply)
        return Ledger(
            electricity=ElectricityLedger(last_round=tuple(last_rows), max_dust_wad=worst,
                                          ok=bool(electricity_ok)),
            bytecoins=BytecoinLedger(
                supply_wei=supply, balances_wei=sum(on_chain), escrow_wei=escrow,
                dust_forecast_wei=st.dust_total, books_match_chain=on_chain == booked,
                ok=bool(bytecoins_ok)),
            settlements_checked=st.settle_checked)


#: relative margin by which the unconstrained want must exceed the balance (stock) for a
#: constraint to count as binding (at a stationary state the want equals the balance)
BINDS_REL = 1e-6


def _rel_change(a: FloatArray, b: FloatArray) -> float:
    """``max_i |a_i - b_i| / max(|b_i|, tiny)`` (0 for two zero vectors)."""
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0
