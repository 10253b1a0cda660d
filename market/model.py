"""The economy of SPEC §1 and §3 as frozen dataclasses.

Units (SPEC "units convention"): in this package everything is a float in its
natural unit: bytecoins, kWh of electricity, units of the consumption good.
Agents are flattened as every standard agent first (groups in file order,
members in order), then every producer; ids are ``"{group}-{k}"``. Posts are
``0..T``: ``0`` is the consumption good, ``t >= 1`` electricity in period ``t``.

Every value is checked when an :class:`Economy` is built (by a scenario file or
by hand); errors are :class:`~market.errors.ScenarioError` naming the field as
the scenario file spells it (``producer[1].c``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from market.errors import ScenarioError
from market.events import Event
from market.kappa import KappaStates, check_states

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

UtilityKind = Literal["log", "ces"]

#: Default gas per order when the scenario does not give one (the simulation
#: measures the real figure from receipts and passes it to the solver).
DEFAULT_GAS_STANDARD = 60_000
DEFAULT_GAS_PRODUCER = 80_000

# ----------------------------------------------------------------------------- bounds
# What an economy may hold, checked when it is built, so that ``emg solve`` and
# ``emg simulate`` accept exactly the same economies (docs/scenarios.md, "Bounds").
# The chain's bounds are mirrored here (market/ imports nothing from the chain);
# tests/market/test_scenario.py checks that they match agents.chain.

#: most electricity periods the contract accepts (Market.sol MAX_T)
MAX_T = 700
#: largest amount, in units (bytecoins, kWh, the good): a round figure below the contract's
#: bound of 2^84 - 1 wei or wad (~1.934e7 units), so that no float rounding reaches it
MAX_AMOUNT = 1.9e7
#: smallest positive amount: one wei or wad (a smaller one rounds to 0 on the chain)
MIN_AMOUNT = 1e-18
#: returns-to-scale exponent c: the contract's range (wad 1e17 .. 1e20)
MIN_C, MAX_C = 0.1, 100.0
#: most agents in one economy the solvers take (a bound on their memory; M = 100,000 standard
#: agents with their producers solve in seconds, scripts/bench.py solve)
MAX_AGENTS = 200_000
#: most agents in a scenario file, for both commands (the chain's rounds: one order per
#: agent and round; checked by :meth:`Economy.check_chain_bounds`)
MAX_CHAIN_AGENTS = 10_000
#: largest utility weight alpha^t, alpha^0 (weights are relative: larger ones overflow the tables)
MAX_WEIGHT = 1e6
#: CES elasticity of substitution sigma: beyond this range the CES powers overflow
MIN_SIGMA, MAX_SIGMA = 0.1, 10.0
#: largest kappa, kWh per gas (proof of work is 2.4e-3)
MAX_KAPPA = 1.0
#: largest gas per order (a 30M-gas block)
MAX_GAS = 30_000_000


@dataclass(frozen=True)
class Utility:
    """An agent's utility family over electricity consumption ``E^t`` (and the good).

    ``kind = "log"``: ``u = Σ_t α^t ln E^t + α^0 ln c^0`` (Cobb-Douglas).
    ``kind = "ces"``: ``u = (Σ_t α^t E_t^r + α^0 (c^0)^r)^{1/r}``, ``r = (σ-1)/σ``,
    with elasticity of substitution ``σ > 0``, ``σ ≠ 1`` (``σ → 1`` is the log case).
    """

    kind: UtilityKind = "log"
    sigma: float = 1.0

    @property
    def r(self) -> float:
        """The CES exponent ``r = (σ - 1)/σ`` (0 for log utility)."""
        return 0.0 if self.kind == "log" else (self.sigma - 1.0) / self.sigma


@dataclass(frozen=True)
class StandardGroup:
    """``count`` identical standard agents (SPEC §1): sell-all endowment ``omega`` of the good."""

    name: str
    count: int
    omega: float
    alpha: tuple[float, ...]
    alpha0: float = 0.0
    bytecoins: float = 0.0
    utility: Utility = field(default_factory=Utility)


@dataclass(frozen=True)
class ProducerGroup:
    """``count`` identical producers: ``q^t = θ^t φ^c``, ``q^t ≤ K``.

    Exactly one of ``K`` (short run, capacity given) and ``rho`` (long run:
    capacity chosen at a cost of ``ρ K`` units of the good) is set.
    """

    name: str
    count: int
    theta: tuple[float, ...]
    c: float
    K: float | None = None
    rho: float | None = None
    alpha: tuple[float, ...] = ()
    alpha0: float = 0.0
    bytecoins: float = 0.0
    stock: float = 0.0
    utility: Utility = field(default_factory=Utility)

    @property
    def long_run(self) -> bool:
        return self.rho is not None


@dataclass(frozen=True)
class GasPerOrder:
    """Gas one order costs, per agent kind (a producer's order carries offers too)."""

    standard: int = DEFAULT_GAS_STANDARD
    producer: int = DEFAULT_GAS_PRODUCER


@dataclass(frozen=True)
class Verification:
    """Verification electricity (SPEC §3): ``v = κ · gas``, spread as ``V^t = s^t v``."""

    kappa: float
    schedule: tuple[float, ...]
    gas_per_order: GasPerOrder = field(default_factory=GasPerOrder)
    kappa_name: str | None = None
    #: ``κ`` uncertain (:mod:`market.kappa`): the verification states, with
    #: ``kappa`` their mean; None for a scalar ``κ`` (today's meaning, exactly)
    states: KappaStates | None = None


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the flattened economy, with every parameter the model uses."""

    index: int
    id: str
    kind: Literal["standard", "producer"]
    group: str
    omega: float
    alpha: tuple[float, ...]
    alpha0: float
    theta: tuple[float, ...]
    c: float
    K: float | None
    rho: float | None
    bytecoins: float
    stock: float
    utility: Utility


@dataclass(frozen=True)
class AgentArrays:
    """The economy's per-agent parameters as numpy arrays (row ``i`` = agent ``i``).

    ``alpha[:, 0]`` is ``α^0``; ``theta``, ``c``, ``K``, ``rho`` are meaningful for
    producers only (``theta = 0``, ``c = 1``, ``K = inf``, ``rho = 0`` for
    standard agents; ``K = inf`` for long-run producers, ``rho = 0`` for short-run).
    """

    producer: BoolArray
    omega: FloatArray
    alpha: FloatArray
    theta: FloatArray
    c: FloatArray
    K: FloatArray
    rho: FloatArray
    long_run: BoolArray
    bytecoins: FloatArray
    stock: FloatArray
    r: FloatArray

    def row(self, i: int) -> AgentArrays:
        """The arrays restricted to agent ``i``, keeping 1-row shapes (``(1,)``, ``(1, T+1)``)."""
        return replace(self, **{f.name: getattr(self, f.name)[i:i + 1] for f in fields(self)})


@dataclass(frozen=True)
class SimulationSettings:
    """The ``[simulation]`` table, read by the on-chain simulation (``agents``)."""

    rounds: int = 100
    seed: int = 0
    strategy: str = "best-response"  # a name of agents.strategies.STRATEGIES, or "module:Class"
    damping: float = 0.5
    tolerance: float = 1e-6
    backend: str = "eth-tester"
    round_duration: float = 60.0
    market: str = "plain"  # "plain" (public orders) or "sealed" (commit-reveal: agents.chain SealedMarket)


def _fail(field_name: str, message: str) -> None:
    raise ScenarioError(f"{field_name}: {message}")


def _positive(value: float, field_name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        _fail(field_name, f"must be a finite number > 0, got {value!r}")


def _non_negative(value: float, field_name: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        _fail(field_name, f"must be a finite number >= 0, got {value!r}")


def _at_most(value: float, bound: float, field_name: str, unit: str = "") -> None:
    if value > bound:
        _fail(field_name, f"must be at most {bound:.7g}{unit}, got {value!r}")


def _amount(value: float, field_name: str, unit: str, positive: bool) -> None:
    """An amount the chain holds in wei/wad: 0 (unless ``positive``) or in [1e-18, MAX_AMOUNT]."""
    (_positive if positive else _non_negative)(value, field_name)
    if 0 < value < MIN_AMOUNT:
        _fail(field_name, f"must be 0 or at least 1e-18 {unit} (one wei/wad), got {value!r}")
    _at_most(value, MAX_AMOUNT, field_name, f" {unit} (below 2^84 wei/wad, the contract's bound)")


def _check_weights(alpha: tuple[float, ...], alpha0: float, T: int, where: str) -> None:
    if len(alpha) != T:
        _fail(f"{where}.alpha", f"has {len(alpha)} entries but T = {T}")
    for t, a in enumerate(alpha):
        _non_negative(a, f"{where}.alpha[{t}]")
        _at_most(a, MAX_WEIGHT, f"{where}.alpha[{t}]")
    _non_negative(alpha0, f"{where}.alpha0")
    _at_most(alpha0, MAX_WEIGHT, f"{where}.alpha0")
    if not sum(alpha) + alpha0 > 0:
        _fail(f"{where}.alpha", "weights must sum to a positive number")


def _check_utility(u: Utility, where: str) -> None:
    if u.kind not in ("log", "ces"):
        _fail(f"{where}.utility", f"unknown utility {u.kind!r} (known: log, ces)")
    if u.kind == "ces":
        _positive(u.sigma, f"{where}.sigma")
        if not MIN_SIGMA <= u.sigma <= MAX_SIGMA:
            _fail(f"{where}.sigma", f"must be in [{MIN_SIGMA}, {MAX_SIGMA}], got {u.sigma!r}")
        if abs(u.sigma - 1.0) < 1e-12:
            _fail(f"{where}.sigma", "sigma = 1 is log utility: write utility = \"log\"")


@dataclass(frozen=True)
class Economy:
    """The whole economy: ``T`` periods, groups of standard agents and producers, verification.

    Attributes
    ----------
    T : int
        Number of electricity periods (posts ``1..T``; post ``0`` is the good).
    standard : tuple of StandardGroup
    producers : tuple of ProducerGroup
    verification : Verification
    """

    T: int
    standard: tuple[StandardGroup, ...]
    producers: tuple[ProducerGroup, ...]
    verification: Verification

    def __post_init__(self) -> None:
        T = self.T
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            _fail("T", f"must be an integer >= 1, got {T!r}")
        if not self.standard:
            _fail("standard", "at least one group of standard agents is needed")
        if not self.producers:
            _fail("producer", "at least one group of producers is needed")
        names: set[str] = set()
        kinds: tuple[tuple[str, tuple[StandardGroup | ProducerGroup, ...]], ...] = (
            ("standard", self.standard), ("producer", self.producers))
        for kind, groups in kinds:
            for g_i, g in enumerate(groups):
                where = f"{kind}[{g_i}]"
                if not g.name or not isinstance(g.name, str):
                    _fail(f"{where}.name", "must be a non-empty string")
                if g.name in names:
                    _fail(f"{where}.name", f"duplicate group name {g.name!r}")
                names.add(g.name)
                if (isinstance(g.count, bool) or not isinstance(g.count, int)
                        or not 1 <= g.count <= MAX_AGENTS):
                    _fail(f"{where}.count", f"must be an integer >= 1 and <= {MAX_AGENTS}, got {g.count!r}")
                _check_weights(g.alpha, g.alpha0, T, where)
                _non_negative(g.bytecoins, f"{where}.bytecoins")
                _check_utility(g.utility, where)
                if isinstance(g, StandardGroup):
                    _positive(g.omega, f"{where}.omega")
                else:
                    self._check_producer(g, where)
        if self.N > MAX_AGENTS:
            _fail("count", f"the economy has {self.N} agents, at most {MAX_AGENTS} are allowed")
        v = self.verification
        _non_negative(v.kappa, "verification.kappa")
        _at_most(v.kappa, MAX_KAPPA, "verification.kappa", " kWh/gas")
        if v.states is not None:
            check_states(v.states, "verification.kappa", MAX_KAPPA)
            if abs(v.states.mean - v.kappa) > 1e-12 * max(v.kappa, 1e-300):
                _fail("verification.kappa", f"is {v.kappa!r} but its states' mean is {v.states.mean!r}")
        if len(v.schedule) != T:
            _fail("verification.schedule", f"has {len(v.schedule)} entries but T = {T}")
        for t, s in enumerate(v.schedule):
            _non_negative(s, f"verification.schedule[{t}]")
        if abs(sum(v.schedule) - 1.0) > 1e-9:
            _fail("verification.schedule", f"must sum to 1, sums to {sum(v.schedule)!r}")
        for k in ("standard", "producer"):
            gas = getattr(v.gas_per_order, k)
            if isinstance(gas, bool) or not isinstance(gas, int) or not 0 <= gas <= MAX_GAS:
                _fail(f"verification.gas_per_order.{k}",
                      f"must be an integer in [0, {MAX_GAS}] (a block), got {gas!r}")
        if not self.total_bytecoins > 0:
            _fail("bytecoins", "the bytecoin supply (sum over all agents) must be > 0")
        if self.P == 1 and any(a > 0 for a in self.producers[0].alpha):
            # A lone producer gets back every bytecoin it bids on its own posts: its
            # electricity is free to it and its best response does not exist.
            _fail("producer[0].alpha", "a single producer must not value electricity (alpha = 0): "
                  "it would buy its own output for free")

    @staticmethod
    def _check_producer(g: ProducerGroup, where: str) -> None:
        if len(g.theta) != len(g.alpha):
            _fail(f"{where}.theta", f"has {len(g.theta)} entries but T = {len(g.alpha)}")
        for t, th in enumerate(g.theta):
            _positive(th, f"{where}.theta[{t}]")
        _positive(g.c, f"{where}.c")
        if (g.K is None) == (g.rho is None):
            _fail(f"{where}.K", "give exactly one of K (short run) and rho (long run)")
        if g.K is not None:
            _positive(g.K, f"{where}.K")
        if g.rho is not None:
            _positive(g.rho, f"{where}.rho")
            if g.c > 1:
                _fail(f"{where}.c", "long-run producers need c <= 1 (increasing returns with "
                      "capacity chosen at a linear cost have no interior optimum)")
        _non_negative(g.stock, f"{where}.stock")

    def check_chain_bounds(self) -> None:
        """Check the bounds the chain imposes (docs/scenarios.md, "Bounds").

        An economy built by hand may exceed them for the solver's sake (a
        capacity of 1e12 that never binds); the scenario loader and ``emg
        simulate`` check them, so ``emg solve`` and ``emg simulate`` accept
        the same scenario files and the chain never refuses what was loaded.
        Each message names the field as the file spells it, the limit and the unit.

        Raises
        ------
        ScenarioError
            ``T`` above 700; more than :data:`MAX_CHAIN_AGENTS` agents; ``c``
            outside [0.1, 100]; an amount (``omega``,
            ``theta``, ``K``, ``rho``, ``stock``, ``bytecoins``) that is positive
            but below one wei/wad or above :data:`MAX_AMOUNT`; a post's total
            (the bytecoin supply, the good offered) above :data:`MAX_AMOUNT`.
        """
        if self.T > MAX_T:
            _fail("T", f"must be an integer >= 1 and <= {MAX_T} (the contract's bound), "
                  f"got {self.T!r}")
        kinds: tuple[tuple[str, tuple[StandardGroup | ProducerGroup, ...]], ...] = (
            ("standard", self.standard), ("producer", self.producers))
        for kind, groups in kinds:
            for g_i, g in enumerate(groups):
                where = f"{kind}[{g_i}]"
                if g.count > MAX_CHAIN_AGENTS:
                    _fail(f"{where}.count", f"must be <= {MAX_CHAIN_AGENTS}, got {g.count!r}")
                _amount(g.bytecoins, f"{where}.bytecoins", "bytecoins", positive=False)
                if isinstance(g, StandardGroup):
                    _amount(g.omega, f"{where}.omega", "units", positive=True)
                    continue
                for t, th in enumerate(g.theta):
                    _amount(th, f"{where}.theta[{t}]", "kWh per unit of input", positive=True)
                if not MIN_C <= g.c <= MAX_C:
                    _fail(f"{where}.c", f"must be in [{MIN_C}, {MAX_C}] (the contract's bound), "
                          f"got {g.c!r}")
                if g.K is not None:
                    _amount(g.K, f"{where}.K", "kWh", positive=True)
                if g.rho is not None:
                    _amount(g.rho, f"{where}.rho", "units of the good per kWh", positive=True)
                _amount(g.stock, f"{where}.stock", "units", positive=False)
        if self.N > MAX_CHAIN_AGENTS:
            _fail("count", f"the economy has {self.N} agents, at most {MAX_CHAIN_AGENTS} are allowed")
        for name, total in (("bytecoins", self.total_bytecoins),
                            ("standard.omega", sum(g.omega * g.count for g in self.standard))):
            if total > MAX_AMOUNT:
                _fail(name, f"the total over all agents, {total:.7g}, is above {MAX_AMOUNT:.7g} "
                      "(below 2^84 wei/wad, the contract's bound on a post's total)")

    # ------------------------------------------------------------------ sizes
    @property
    def groups(self) -> tuple[StandardGroup | ProducerGroup, ...]:
        """Every group, standard groups first (the flattening order)."""
        return (*self.standard, *self.producers)

    @property
    def M(self) -> int:
        """Number of standard agents."""
        return sum(g.count for g in self.standard)

    @property
    def P(self) -> int:
        """Number of producers."""
        return sum(g.count for g in self.producers)

    @property
    def N(self) -> int:
        """Number of agents, ``M + P``."""
        return self.M + self.P

    @property
    def kappa(self) -> float:
        """``κ`` in kWh per gas."""
        return self.verification.kappa

    @property
    def kappa_states(self) -> KappaStates | None:
        """The verification states when ``κ`` is uncertain (two or more states, mean > 0), else None.

        With one state, or every state 0, ``κ`` is certain and the economy is
        solved exactly as with a scalar ``κ``.
        """
        st = self.verification.states
        if st is None or len(st.values) < 2 or not st.mean > 0:
            return None
        return st

    @property
    def schedule(self) -> FloatArray:
        """Verification schedule ``s^t``, ``t = 1..T`` (shape ``(T,)``)."""
        return np.asarray(self.verification.schedule, dtype=float)

    @property
    def gas_per_order(self) -> GasPerOrder:
        return self.verification.gas_per_order

    @property
    def total_bytecoins(self) -> float:
        """The bytecoin supply ``Σ_i m_i``."""
        return float(sum(g.bytecoins * g.count for g in self.groups))

    # ------------------------------------------------------------ flattening
    def agents(self) -> tuple[AgentSpec, ...]:
        """Every agent, standard agents first then producers, with all its parameters."""
        return self._agents

    @cached_property
    def _agents(self) -> tuple[AgentSpec, ...]:
        out: list[AgentSpec] = []
        for g in self.standard:
            for k in range(g.count):
                out.append(AgentSpec(len(out), f"{g.name}-{k}", "standard", g.name, g.omega,
                                     g.alpha, g.alpha0, (), 1.0, None, None, g.bytecoins, 0.0,
                                     g.utility))
        for p in self.producers:
            for k in range(p.count):
                out.append(AgentSpec(len(out), f"{p.name}-{k}", "producer", p.name, 0.0, p.alpha,
                                     p.alpha0, p.theta, p.c, p.K, p.rho, p.bytecoins, p.stock,
                                     p.utility))
        return tuple(out)

    @cached_property
    def arrays(self) -> AgentArrays:
        """Per-agent parameters as arrays (see :class:`AgentArrays`)."""
        N, T = self.N, self.T
        groups: list[tuple[StandardGroup | ProducerGroup, int]] = [
            (g, g.count) for g in self.groups]
        counts = np.array([n for _, n in groups])

        def col(values: list[float]) -> FloatArray:
            return np.repeat(np.asarray(values, dtype=float), counts)

        producer = np.repeat(np.array([isinstance(g, ProducerGroup) for g, _ in groups]), counts)
        alpha = np.repeat(np.array([[g.alpha0, *g.alpha] for g, _ in groups], dtype=float),
                          counts, axis=0)
        theta_rows = [list(g.theta) if isinstance(g, ProducerGroup) else [0.0] * T
                      for g, _ in groups]
        theta = np.repeat(np.array(theta_rows, dtype=float).reshape(len(groups), T), counts, axis=0)
        K = col([g.K if isinstance(g, ProducerGroup) and g.K is not None else math.inf
                 for g, _ in groups])
        rho = col([g.rho if isinstance(g, ProducerGroup) and g.rho is not None else 0.0
                   for g, _ in groups])
        long_run = np.repeat(np.array([isinstance(g, ProducerGroup) and g.long_run
                                       for g, _ in groups]), counts)
        arr = AgentArrays(
            producer=producer,
            omega=col([g.omega if isinstance(g, StandardGroup) else 0.0 for g, _ in groups]),
            alpha=alpha,
            theta=theta,
            c=col([g.c if isinstance(g, ProducerGroup) else 1.0 for g, _ in groups]),
            K=K,
            rho=rho,
            long_run=long_run,
            bytecoins=col([g.bytecoins for g, _ in groups]),
            stock=col([g.stock if isinstance(g, ProducerGroup) else 0.0 for g, _ in groups]),
            r=col([g.utility.r for g, _ in groups]),
        )
        for a in (arr.producer, arr.omega, arr.alpha, arr.theta, arr.c, arr.K, arr.rho,
                  arr.long_run, arr.bytecoins, arr.stock, arr.r):
            a.setflags(write=False)
        assert arr.alpha.shape == (N, T + 1)
        return arr

    def verification_energy(self) -> FloatArray:
        """Each agent's verification electricity per order, ``v_i = κ · gas_i`` (kWh, ``(N,)``)."""
        gas = np.where(self.arrays.producer, float(self.gas_per_order.producer),
                       float(self.gas_per_order.standard))
        return self.kappa * gas

    # ----------------------------------------------------------- variations
    def replicate(self, n: int) -> Economy:
        """The ``n``-fold replica: every group's ``count`` multiplied by ``n``."""
        if n < 1:
            raise ValueError("n must be >= 1")
        return replace(self,
                       standard=tuple(replace(g, count=g.count * n) for g in self.standard),
                       producers=tuple(replace(g, count=g.count * n) for g in self.producers))

    def scale_bytecoins(self, k: float) -> Economy:
        """The same economy with every initial bytecoin balance ``m_i`` multiplied by ``k``."""
        return replace(self,
                       standard=tuple(replace(g, bytecoins=g.bytecoins * k) for g in self.standard),
                       producers=tuple(replace(g, bytecoins=g.bytecoins * k)
                                       for g in self.producers))

    def with_kappa(self, kappa: float) -> Economy:
        """The same economy with another ``κ`` (kWh/gas)."""
        return replace(self, verification=replace(self.verification, kappa=float(kappa),
                                                  kappa_name=None, states=None))

    def with_kappa_states(self, states: KappaStates | None) -> Economy:
        """The same economy with ``κ`` given by ``states`` (None: keep ``κ``, drop any states).

        ``κ`` becomes the states' mean; :meth:`with_kappa` of that mean is the
        certainty-equivalent economy the precautionary demand is measured against.
        """
        if states is None:
            return replace(self, verification=replace(self.verification, states=None))
        return replace(self, verification=replace(self.verification, kappa=states.mean,
                                                  kappa_name=None, states=states))


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario file: the economy, the simulation settings and the scripted events.

    ``events`` (``[[event]]`` tables, :mod:`market.events`) happen between rounds,
    in the order listed; ``economy`` is the economy before the first.
    """

    name: str
    description: str
    economy: Economy
    simulation: SimulationSettings
    path: str | None = None
    events: tuple[Event, ...] = ()
