"""The on-chain simulation: AI agents trade round after round on a local chain.

The loop, written out in plain code (one round)::

    observe  every agent reads the last closed round (``RoundClosed``: B^t, Q^t,
             p^t), everyone's orders of that round (``OrderPlaced`` events) and
             forecasts its own pending settlement (revenue, refund, stock) with
             the contract's rounding -> Observation
    decide   each agent's strategy turns its observation into an order (Python)
    order    each agent signs and sends its own transaction, in an order drawn
             from the simulation's random generator; the contract settles its
             previous order in the same call. A strategy that raises or a
             transaction that reverts is a failure of that agent in that round:
             recorded, and the run goes on without its order
    close    a keeper account (not an agent) calls close(); if not every
             registered agent ordered, the chain first travels to the deadline
    settle   settlement is pulled: each agent's next order settles its last
             one; after the last round every agent with a pending order claims

The run stops when the distance of the round's prices to the Nash equilibrium
(solved with the verification electricity the agents measured, renormalised
to the round's total bids) is at most ``tolerance``, or after ``rounds``
rounds. The simulation owns ``numpy.random.Generator(seed)``: the same
scenario and seed give the same run, to the byte in the output files.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from market.errors import EmgError, SimulationError, SolverError
from market.model import AgentSpec, Economy, FloatArray, Scenario, SimulationSettings

from agents.agent import WAD, Agent, as_float_row, to_wad
from agents.records import (
    STATUS_ABSTAINED,
    STATUS_FAILED,
    STATUS_OK,
    AgentRound,
    Failure,
    RoundRecord,
    RunLog,
)
from agents.strategies import Observation, Order, Strategy, build_strategies, relative_distance

if TYPE_CHECKING:  # pragma: no cover
    from market.results import Equilibrium

StrategyFactory = Callable[[AgentSpec], Strategy]


@dataclass
class SimulationResult:
    """The outcome of :meth:`Simulation.run` (everything the output folder is made of).

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
    ledger : dict
        The end-of-run checks (electricity and bytecoins), see ``docs/summary-schema.md``.
    gas_total, orders_total : int
    wall_seconds : float
        Wall time of the loop (terminal only; never written to a file).
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
    nash: "Equilibrium | None"
    competitive: "Equilibrium | None"
    nash_prices: FloatArray | None
    competitive_prices: FloatArray | None
    ledger: dict[str, Any]
    gas_total: int
    orders_total: int
    final_bids: FloatArray
    final_offers: FloatArray
    final_allocations: FloatArray
    participants: np.ndarray
    wall_seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)
    solver_errors: list[str] = field(default_factory=list)


def market_config(economy: Economy, addresses: list[str], round_duration: int) -> Any:
    """The chain's :class:`~agents.chain.deploy.MarketConfig` for an economy (floats → wad/wei)."""
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec

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
        Show a tqdm progress bar on stderr.

    The chain, market and agents are set up in the constructor (so a caller
    can inspect or instrument ``self.agents`` before :meth:`run`).
    """

    def __init__(self, scenario: Scenario, settings: SimulationSettings | None = None,
                 strategy_factory: StrategyFactory | None = None, progress: bool = False) -> None:
        from agents.chain.backend import Chain
        from agents.chain.deploy import deploy_market

        self.scenario = scenario
        self.economy = economy = scenario.economy
        self.settings = settings or scenario.simulation
        if self.settings.backend != "eth-tester":
            raise SimulationError(f"simulation.backend: only \"eth-tester\" is supported by "
                                  f"emg simulate, got {self.settings.backend!r}")
        self.progress = progress
        self.rng = np.random.default_rng(self.settings.seed)
        self.T = economy.T
        self.N = economy.N
        self.schedule = economy.schedule
        specs = economy.agents()
        strategies = ([strategy_factory(spec) for spec in specs] if strategy_factory is not None
                      else build_strategies(economy, self.settings, self.rng))
        self.chain = Chain.local(self.N, seed=self.settings.seed)
        # eth-tester stamps blocks with the wall clock and moves it at least one second per
        # block (every transaction is a block), so on a busy machine or with many agents a
        # short deadline passes while agents are still ordering. The keeper closes a round
        # as soon as everyone has ordered, and travels to the deadline otherwise, so a long
        # deadline costs nothing: at least an hour, and 2(N+1) seconds
        duration = max(int(math.ceil(self.settings.round_duration)), 2 * (self.N + 1), 3600)
        self.config = market_config(economy, [a.address for a in self.chain.accounts], duration)
        self.client = deploy_market(self.chain, self.config)
        v_prior = economy.verification_energy()
        self.agents = [
            Agent(spec, acct, strategy, kappa=economy.kappa,
                  omega=to_wad(spec.omega) if spec.kind == "standard" else 0,
                  balance=to_wad(spec.bytecoins), stock=to_wad(spec.stock),
                  v_prior=float(v_prior[spec.index]))
            for spec, acct, strategy in zip(specs, self.chain.accounts, strategies)
        ]
        self._producer_specs = {p.address: p for p in self.config.producers}
        self._solved: dict[bytes, Any] = {}
        self.solves = 0
        self.solver_errors: list[str] = []

    # ------------------------------------------------------------------ helpers

    def _required_input(self, agent: Agent) -> Callable[[tuple[int, ...]], int]:
        """The contract's exact input requirement for this producer's offers (agents.chain.fixedpoint)."""
        from agents.chain.fixedpoint import required_input

        spec = self._producer_specs[agent.account.address]

        def f(offers: tuple[int, ...]) -> int:
            return required_input(offers, spec.theta, spec.c, spec.rho)
        return f

    def _reference(self, v: FloatArray) -> "Equilibrium | None":
        """``solve_nash`` with per-agent ``v`` (cached by the exact vector: gas takes few values).

        ``None`` if the solver fails (the message is kept in ``solver_errors``):
        the run goes on, its distances are then undefined (``nan``).
        """
        from market.nash import solve_nash

        key = np.asarray(v, dtype=float).tobytes()
        if key in self._solved:
            return self._solved[key]
        try:
            eq: Equilibrium | None = solve_nash(self.economy, v=v)
        except SolverError as exc:
            eq = None
            self.solver_errors.append(str(exc))
        self._solved[key] = eq
        self.solves += 1
        return eq

    # ------------------------------------------------------------------ the loop

    def run(self) -> SimulationResult:
        """Play rounds until the prices settle on the Nash equilibrium or the round limit."""
        from agents.chain.fixedpoint import settle_order

        from agents.chain.backend import Reverted

        settings = self.settings
        T, N = self.T, self.N
        log = RunLog()
        closed: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        last_bids: FloatArray | None = None
        last_offers: FloatArray | None = None
        last_prices: FloatArray | None = None
        gas_total = 0
        orders_total = 0
        dust_total = 0
        settle_checked = 0
        elec_dust: dict[int, list[tuple[int, int, int]]] = {}  # round -> [(Q^t, Σx^t, buyers^t)]
        v_used = np.array([a.v for a in self.agents])
        ref_v: FloatArray | None = None
        ref: Equilibrium | None = None
        distance = math.inf
        timing = {"decide": 0.0, "order": 0.0, "close": 0.0, "solve": 0.0}
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=settings.rounds, desc="emg simulate", unit="round", leave=True)
        t_start = time.perf_counter()
        rounds_played = 0
        forecasts: dict[str, Any] = {}
        try:
            for r in range(settings.rounds):
                # ---- observe + decide
                t0 = time.perf_counter()
                decisions: list[tuple[Agent, Order | None, int, int, str]] = []
                v_used = np.array([a.v for a in self.agents])
                for agent in self.agents:
                    balance, stock = agent.spendable(closed)
                    obs = Observation(
                        round=r, economy=self.economy, spec=agent.spec,
                        balance=balance / WAD, stock=stock / WAD, v=agent.v,
                        bids=last_bids, offers=last_offers, prices=last_prices, rng=self.rng)
                    try:
                        order = agent.strategy.decide(obs)
                        decisions.append((agent, order, balance, stock, ""))
                    except Exception as exc:  # the agent's process failed: the run goes on
                        decisions.append((agent, None, balance, stock, f"{type(exc).__name__}: {exc}"))
                timing["decide"] += time.perf_counter() - t0

                # ---- order (each agent signs and sends its own transaction)
                t0 = time.perf_counter()
                sent: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]] = {}
                status: dict[str, tuple[str, str]] = {}
                round_gas = 0
                for k in self.rng.permutation(N):
                    agent, order, balance, stock, err = decisions[int(k)]
                    if err:
                        status[agent.id] = (STATUS_FAILED, err)
                        log.failures.append(Failure(r, agent.id, "strategy", err))
                        continue
                    if order is None:
                        status[agent.id] = (STATUS_ABSTAINED, "")
                        continue
                    try:
                        bids, offers = agent.to_integers(
                            order, balance, stock,
                            self._required_input(agent) if agent.producer else None)
                        res = self.client.order(agent.account, bids, offers)
                    except Reverted as exc:
                        msg = f"reverted: {exc.name}{tuple(exc.error_args)}" if exc.name else str(exc)
                        status[agent.id] = (STATUS_FAILED, msg)
                        log.failures.append(Failure(r, agent.id, "revert", msg))
                        if exc.receipt is not None:
                            round_gas += exc.receipt.gas_used
                        continue
                    except EmgError as exc:
                        msg = str(exc)
                        status[agent.id] = (STATUS_FAILED, msg)
                        log.failures.append(Failure(r, agent.id, "revert", msg))
                        continue
                    if res.settlement is not None:
                        f = forecasts.pop(agent.id, None)
                        s = res.settlement
                        if f is None or (f.allocations, f.revenue, f.refund) != (
                                s.allocations, s.revenue, s.refund):
                            raise SimulationError(
                                f"round {r}: {agent.id}'s settlement {s} differs from the "
                                f"contract-arithmetic forecast {f}")
                        settle_checked += 1
                    agent.placed(res.round, bids, offers, res.input, res.settlement,
                                 res.receipt.gas_used)
                    sent[agent.id] = (bids, offers, res.receipt.gas_used)
                    status[agent.id] = (STATUS_OK, "")
                    round_gas += res.receipt.gas_used
                    orders_total += 1
                timing["order"] += time.perf_counter() - t0

                # ---- close
                t0 = time.perf_counter()
                if len(sent) < N:
                    state = self.client.current_round()
                    self.chain.travel_to(state.deadline)
                cres = self.client.close()
                round_gas += cres.receipt.gas_used
                gas_total += round_gas
                B, Q = cres.closed.B, cres.closed.Q
                closed[r] = (B, Q)
                timing["close"] += time.perf_counter() - t0

                # ---- what each agent's order will settle to (the contract's rounding)
                bids_m = np.zeros((N, T + 1))
                offers_m = np.zeros((N, T + 1))
                alloc_m = np.zeros((N, T + 1))
                paid = 0
                vsum = np.zeros(T)
                xsum_int = [0] * (T + 1)
                for agent in self.agents:
                    i = agent.spec.index
                    st, err = status[agent.id]
                    gas = 0
                    if agent.id in sent:
                        bids, offers, gas = sent[agent.id]
                        f = settle_order(B, Q, bids, offers, agent.omega)
                        forecasts[agent.id] = f
                        paid += f.revenue + f.refund
                        bids_m[i] = as_float_row(bids, T)
                        offers_m[i] = as_float_row(offers, T) if agent.producer else 0.0
                        if not agent.producer:
                            offers_m[i, 0] = agent.omega / WAD
                        alloc_m[i] = as_float_row(f.allocations, T)
                        for t in range(T + 1):
                            xsum_int[t] += f.allocations[t]
                    v = agent.kappa * gas
                    V = self.schedule * v if gas else np.zeros(T)
                    vsum += V
                    nxt_balance, nxt_stock = agent.spendable(closed)
                    log.agents.append(AgentRound(
                        round=r, agent=agent.id, kind=agent.spec.kind, status=st,
                        bids=tuple(bids_m[i].tolist()), offers=tuple(offers_m[i].tolist()),
                        allocations=tuple(alloc_m[i].tolist()),
                        consumption=tuple((alloc_m[i, 1:] - V).tolist()),
                        verification=tuple(V.tolist()), gas_used=int(gas), v=float(v),
                        balance=nxt_balance / WAD, stock=nxt_stock / WAD if agent.producer else 0.0,
                        error=err))
                escrowed = sum(B)
                dust_total += escrowed - paid
                # electricity ledger of this round, exact in wad: Σ_i x_i^t + dust^t = Q^t
                elec_dust[r] = [
                    (Q[t] if B[t] > 0 and Q[t] > 0 else 0, xsum_int[t],
                     sum(1 for i in range(N) if bids_m[i, t] > 0))
                    for t in range(1, T + 1)]
                prices = np.array([b / q if b > 0 and q > 0 else 0.0 for b, q in zip(B, Q)])

                # ---- distance to the Nash equilibrium with the v the agents used
                # (live: against the last solve while v moved by < 1e-2 since; exact, with
                # this round's v, once it is near the tolerance: the stopping test is exact)
                t0 = time.perf_counter()
                if ref is None or ref_v is None or _rel_change(v_used, ref_v) > 1e-2:
                    ref, ref_v = self._reference(v_used), v_used.copy()
                distance = self._distance(prices, B, ref)
                if distance <= 10.0 * settings.tolerance and not np.array_equal(v_used, ref_v):
                    ref, ref_v = self._reference(v_used), v_used.copy()
                    distance = self._distance(prices, B, ref)
                timing["solve"] += time.perf_counter() - t0
                n_failed = sum(1 for s, _ in status.values() if s == STATUS_FAILED)
                log.rounds.append(RoundRecord(
                    round=r, prices=tuple(prices.tolist()),
                    bids=tuple(b / WAD for b in B), offers=tuple(q / WAD for q in Q),
                    distance=distance, orders=len(sent), failed=n_failed, gas=round_gas,
                    verification=tuple(vsum.tolist()),
                    delivered=tuple(q / WAD for q in Q[1:])))
                last_bids, last_offers, last_prices = bids_m, offers_m, prices
                rounds_played = r + 1
                if bar is not None:
                    bar.set_postfix_str(f"round {r}  distance {distance:.2e}  gas {gas_total:,}",
                                        refresh=False)
                    bar.update(1)
                if distance <= settings.tolerance:
                    break
        finally:
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t_start

        # ---- settle: every agent with a pending order claims it
        for agent in self.agents:
            if agent.pending is not None:
                s = self.client.claim(agent.account)
                f = forecasts.pop(agent.id, None)
                if f is None or (f.allocations, f.revenue, f.refund) != (s.allocations, s.revenue,
                                                                          s.refund):
                    raise SimulationError(f"final claim of {agent.id}: settlement {s} differs from "
                                          f"the forecast {f}")
                settle_checked += 1
                agent.claimed(s)

        ledger = self._ledger(log, elec_dust, dust_total, settle_checked)
        # ---- the comparison: equilibria with the v the agents used, renormalised
        nash = ref if ref is not None and ref_v is not None and np.array_equal(v_used, ref_v) else None
        if nash is None:
            nash = self._reference(v_used)
        # every round's distance, against this one final equilibrium (the live ones may
        # have used an equilibrium solved with an earlier v)
        log.rounds[:] = [replace(rr, distance=self._distance(np.array(rr.prices), closed[rr.round][0],
                                                             nash)) for rr in log.rounds]
        distance = log.rounds[-1].distance if log.rounds else math.inf
        last = log.rounds[-1] if log.rounds else None
        total_bids = sum(last.bids) if last is not None else 0.0
        nash_p = (nash.prices * (total_bids / nash.bids.sum())
                  if nash is not None and nash.bids.sum() > 0 else None)
        try:
            from market.competitive import solve_competitive

            comp: Equilibrium | None = solve_competitive(self.economy, v=v_used)
        except (EmgError, ImportError):
            comp = None
        comp_p = (comp.prices * (total_bids / comp.bids.sum())
                  if comp is not None and comp.bids.sum() > 0 else None)
        v_last = np.array([a.kappa * a.gas_used for a in self.agents])
        last_status = {a.agent: a.status for a in log.agents[-N:]} if log.agents else {}
        participants = np.array([last_status.get(ag.id) == STATUS_OK for ag in self.agents])
        return SimulationResult(
            scenario=self.scenario, settings=settings, log=log,
            converged=bool(distance <= settings.tolerance), distance=float(distance),
            v_used=v_used, v_last=v_last, nash=nash, competitive=comp,
            nash_prices=nash_p, competitive_prices=comp_p, ledger=ledger,
            gas_total=gas_total, orders_total=orders_total,
            final_bids=last_bids if last_bids is not None else np.zeros((N, T + 1)),
            final_offers=last_offers if last_offers is not None else np.zeros((N, T + 1)),
            final_allocations=np.array([list(a.allocations) for a in log.agents[-N:]])
            if log.agents else np.zeros((N, T + 1)),
            participants=participants, wall_seconds=wall, timing=timing,
            solver_errors=list(self.solver_errors))

    @staticmethod
    def _distance(prices: FloatArray, B: tuple[int, ...], ref: "Equilibrium | None") -> float:
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

    def _ledger(self, log: RunLog, elec_dust: dict[int, list[tuple[int, int, int]]],
                dust_total: int, settle_checked: int) -> dict[str, Any]:
        """End-of-run checks: electricity per period and round, bytecoins conserved.

        Electricity (SPEC §3), exact in wad for every round and period:
        ``Σ_i (E_i^t + V_i^t) = Σ_i x_i^t = Q^t − dust^t`` with
        ``0 ≤ dust^t < buyers^t`` (each allocation is rounded down by less than
        one wad unit). Bytecoins (SPEC §4): the agents' balances (on chain, and
        as each agent booked them from its events) plus the market's escrow
        equal the supply, and after the final claims the escrow is exactly the
        rounding dust forecast round by round.
        """
        T = self.T
        electricity_ok = True
        worst = 0
        for rows in elec_dust.values():
            for delivered, xsum, buyers in rows:
                dust = delivered - xsum
                worst = max(worst, dust)
                if not 0 <= dust <= max(buyers, 0) or (delivered == 0 and xsum != 0):
                    electricity_ok = False
        last_r = max(elec_dust) if elec_dust else None
        last_rows = []
        if last_r is not None:
            last_agents = [a for a in log.agents if a.round == last_r]
            for t in range(1, T + 1):
                delivered, xsum, _ = elec_dust[last_r][t - 1]
                last_rows.append({
                    "t": t, "delivered": delivered / WAD,
                    "consumed": sum(a.consumption[t - 1] for a in last_agents),
                    "verification": sum(a.verification[t - 1] for a in last_agents),
                    "allocated": xsum / WAD, "dust_wad": delivered - xsum})
        # bytecoins: Σ agents' balances + escrow = supply, escrow = rounding dust
        supply = sum(s.bytecoins for s in self.config.standard) + sum(
            p.bytecoins for p in self.config.producers)
        on_chain = [self.client.agent(a.account.address).balance for a in self.agents]
        booked = [a.balance for a in self.agents]
        escrow = self.client.escrow()
        market_tokens = self.client.token_balance(self.client.market_address)
        bytecoins_ok = (sum(on_chain) + escrow == supply and on_chain == booked
                        and escrow == dust_total and market_tokens == supply)
        return {
            "electricity": {
                "identity": "sum_i (E_i^t + V_i^t) = sum_i x_i^t = Q^t - dust^t, "
                            "0 <= dust^t < buyers^t (wad), every round and period",
                "last_round": last_rows,
                "max_dust_wad": worst,
                "ok": bool(electricity_ok),
            },
            "bytecoins": {
                "identity": "sum_i balance_i + escrow = supply; escrow = rounding dust",
                "supply": supply / WAD,
                "balances": sum(on_chain) / WAD,
                "escrow": escrow / WAD,
                "dust_forecast": dust_total / WAD,
                "supply_wei": str(supply),
                "balances_wei": str(sum(on_chain)),
                "escrow_wei": str(escrow),
                "books_match_chain": on_chain == booked,
                "ok": bool(bytecoins_ok),
            },
            "settlements_checked": settle_checked,
            "ok": bool(electricity_ok and bytecoins_ok),
        }


def _rel_change(a: FloatArray, b: FloatArray) -> float:
    """``max_i |a_i - b_i| / max(|b_i|, tiny)`` (0 for two zero vectors)."""
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def with_overrides(settings: SimulationSettings, **kw: Any) -> SimulationSettings:
    """``settings`` with the given fields replaced (``None`` values are ignored)."""
    return replace(settings, **{k: v for k, v in kw.items() if v is not None})
