"""Strategies: how an AI agent turns what it observed into its next order.

A strategy is any object with one method, ``decide(observation) -> Order | None``
(:class:`Strategy`); ``None`` means "send nothing this round" (abstain). Each
agent owns its own strategy object, so a strategy may keep memory between
rounds. The simulation owns the random generator; a strategy that needs
randomness gets it from ``observation.rng``.

Shipped strategies
------------------
:class:`DampedBestResponse` (the default, ``strategy = "best-response"``)
    The static market-game best response ``(b*, q*)`` to everyone else's last
    orders (``market.bestresponse.best_response`` with the agent's measured ``v``),
    turned into a crypto-in-advance order by :func:`cash_in_advance`: the agent
    bids the *shares* ``b*/X*`` (``X* = Σ_t b*^t``) of its whole current
    balance ``m``, and a producer offers ``q*`` scaled down until its input
    requirement fits its stock of the good. Shares and offers move a fraction
    ``η`` (``damping``) of the way from last round's towards the target.
    At a fixed point ``m`` equals last round's revenue, which equals the
    market-game budget ``X*``, so the bids are ``b*`` themselves: the static Nash
    equilibrium of SPEC §2-§3, with total bids equal to the circulating
    bytecoin supply (SPEC §4 pins the price level).
:class:`PlayEquilibrium` (``strategy = "equilibrium"``)
    Plays a given profile (e.g. ``emg solve``'s Nash equilibrium) as far as its
    balance and stock allow.
:class:`FictitiousPlay` (``strategy = "fictitious-play"``)
    A learning rule: best response to the *average* of everyone else's orders
    over all rounds observed so far (Brown 1951), through the same
    crypto-in-advance conversion, undamped (the averaging is the damping).

Selecting a strategy by name
----------------------------
:data:`STRATEGIES` is the one registry of names (``[simulation] strategy`` in a
scenario, ``--strategy`` on the command line): each entry builds an agent's
strategy from its :class:`~market.model.AgentSpec` and a :class:`StrategyContext`
(the economy, the settings, the generator, the lazily solved Nash equilibrium)
and declares the options of :data:`STRATEGY_OPTIONS` it reads; a non-default
option it does not read is an error. A name ``"package.module:ClassName"``
selects a user's own class, built as ``ClassName(spec, ctx)``.
Adding a named strategy touches this module only: a class and an
:func:`register` entry (``docs/strategies.md``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import Protocol, cast, runtime_checkable

import numpy as np

from market.bestresponse import best_response
from market.errors import EmgError, ScenarioError, SolverError
from market.model import MAX_AMOUNT, AgentSpec, Economy, FloatArray, SimulationSettings
from market.nash import solve_nash
from market.posts import phi
from market.results import Equilibrium


@dataclass(frozen=True)
class Observation:
    """What an agent knows when it decides round ``round``.

    Everything comes from the chain's views and events (or the agent's own
    receipts), converted to floats in natural units.

    Attributes
    ----------
    round : int
        The round about to be played (from 0).
    economy : Economy
        The economy (public parameters; an agent uses its own row).
    spec : AgentSpec
        The agent's own parameters.
    balance : float
        Bytecoins this order may spend: its market account once its previous
        order is settled (settlement happens inside this order).
    stock : float
        A producer's stock of the good available as input this round (0 for a
        standard agent).
    v : float
        Its verification electricity ``κ · gasUsed`` from its last receipt
        (before the first receipt: the scenario's gas-per-order estimate).
    bids, offers : ndarray, shape (N, T+1), or None
        Every agent's order in the last closed round (from the ``OrderPlaced``
        events; zero rows for agents that did not order); ``None`` before the
        first round has closed.
    prices : ndarray, shape (T+1,), or None
        Last closed round's prices (0 on an inactive post).
    rng : numpy.random.Generator or None
        The simulation's generator, for strategies that randomise.
    """

    round: int
    economy: Economy
    spec: AgentSpec
    balance: float
    stock: float
    v: float
    bids: FloatArray | None = None
    offers: FloatArray | None = None
    prices: FloatArray | None = None
    rng: np.random.Generator | None = None


@dataclass(frozen=True)
class Order:
    """An order: bids on posts ``0..T`` (bytecoins) and a producer's offers (``[0, q^1..q^T]``).

    A standard agent's ``offers`` are ignored (the contract offers its whole
    endowment ``ω`` on post 0).
    """

    bids: FloatArray
    offers: FloatArray
    #: how the order was made when not by the strategy's rule (a stated fallback); recorded
    #: in the agent's row of ``agents.csv`` (column ``error``, status ``ok``)
    note: str = ""
    #: what the agent's unconstrained best response would spend, ``X* = Σ_t b*^t`` (bytecoins),
    #: and (producer) the input its wanted offers need (units of the good), before the cash
    #: and input constraints cut them; ``None``: the strategy does not say. The simulation
    #: reports a constraint as binding from these (``cash_binds``, ``input_binds``)
    wanted_spend: float | None = None
    wanted_input: float | None = None


class MalformedOrder(EmgError, ValueError):
    """A strategy returned something that is not a valid order; the message says what."""


#: the largest bid or offer an order may carry (units): the loader's bound on any amount
MAX_ORDER_AMOUNT = MAX_AMOUNT


def _order_row(values: object, T: int, name: str) -> FloatArray:
    """``values`` as ``T+1`` finite non-negative floats at most MAX_ORDER_AMOUNT, or MalformedOrder."""
    if isinstance(values, (str, bytes, dict)):
        raise MalformedOrder(f"{name} must be {T + 1} numbers, got a {type(values).__name__}")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise MalformedOrder(f"{name} must be {T + 1} numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":  # strings, objects, booleans: not amounts
        raise MalformedOrder(f"{name} must be {T + 1} numbers, got {arr.dtype.kind!r}-kind "
                             f"values {_brief(values)}")
    if arr.shape != (T + 1,):
        raise MalformedOrder(f"{name} must be {T + 1} numbers (posts 0..{T}), got shape "
                             f"{arr.shape}")
    arr = arr.astype(float)
    bad = [t for t in range(T + 1) if not (math.isfinite(arr[t]) and 0.0 <= arr[t] <= MAX_ORDER_AMOUNT)]
    if bad:
        t = bad[0]
        raise MalformedOrder(f"{name}[{t}] must be a finite number in [0, {MAX_ORDER_AMOUNT:g}], "
                             f"got {float(arr[t])!r}")
    return arr


def _brief(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def check_order(order: object, spec: AgentSpec, T: int) -> Order | None:
    """The order a strategy returned, checked; ``None`` (abstain) passes through.

    An order must be an :class:`Order` whose ``bids`` are ``T+1`` finite numbers
    in ``[0, MAX_ORDER_AMOUNT]`` (bytecoins), and, for a producer, whose
    ``offers`` are ``T+1`` such numbers (kWh; ``offers[0]`` is ignored). A
    standard agent's ``offers`` are ignored. Nothing is rounded or clipped
    here: a malformed order is the agent's failure for the round, never sent
    as 0.

    Raises
    ------
    MalformedOrder
        What is wrong, e.g. ``bids[2] must be a finite number in [0, 1.9e+07], got nan``.
    """
    if order is None:
        return None
    if not isinstance(order, Order):
        raise MalformedOrder(f"decide returned a {type(order).__name__}, not an Order or None: "
                             f"{_brief(order)}")
    bids = _order_row(order.bids, T, "bids")
    offers = _order_row(order.offers, T, "offers") if spec.kind == "producer" else order.offers
    if not isinstance(order.note, str):
        raise MalformedOrder(f"note must be a string, got a {type(order.note).__name__}")
    wants = {}
    for name in ("wanted_spend", "wanted_input"):
        w = getattr(order, name)
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float, np.floating))
                              or not math.isfinite(float(w)) or float(w) < 0):
            raise MalformedOrder(f"{name} must be None or a finite number >= 0, got {_brief(w)}")
        wants[name] = None if w is None else float(w)
    return Order(bids=bids, offers=offers, note=" ".join(order.note.split())[:300], **wants)


@runtime_checkable
class Strategy(Protocol):
    """The one method a strategy has."""

    def decide(self, obs: Observation) -> Order | None:
        """Return this round's order, or ``None`` to send nothing."""
        ...


# ----------------------------------------------------------------------------- helpers

def input_needed(spec: AgentSpec, offers: FloatArray) -> float:
    """A producer's input requirement ``Σ_t (q^t/θ^t)^{1/c} + ρ max_t q^t`` (eqs 9, 17; SPEC §1).

    The scalar form of :func:`market.posts.input_requirement` for one agent
    (kept scalar because it runs once per agent per round on the hot path).
    """
    if spec.kind != "producer":
        return 0.0
    total = 0.0
    qmax = 0.0
    for q, th in zip(offers[1:], spec.theta):
        if q > 0:
            total += phi(q, th, spec.c)
            qmax = max(qmax, q)
    if spec.rho is not None:
        total += spec.rho * qmax
    return total


def fit_to_stock(spec: AgentSpec, offers: FloatArray, stock: float) -> FloatArray:
    """Scale a producer's offers by ``λ ≤ 1`` so that its input fits its stock.

    Solves ``λ^{1/c} A + λ ρ q_max = S`` (``A = Σ_t (q^t/θ^t)^{1/c}``, ``S`` the
    stock), in closed form in the short run (``λ = (S/A)^c``) and by Newton's
    method (monotone, from above) in the long run. Also caps ``q^t ≤ K``.
    """
    q = np.array(offers, dtype=float)
    q[0] = 0.0
    q = np.maximum(q, 0.0)
    if spec.K is not None:
        np.minimum(q, spec.K, out=q)
    need = input_needed(spec, q)
    if need <= stock:
        return q
    if stock <= 0.0 or need <= 0.0:
        return np.zeros_like(q)
    inv_c = 1.0 / spec.c
    A = need - (spec.rho or 0.0) * float(q[1:].max())
    R = need - A
    if R == 0.0:
        lam = (stock / A) ** spec.c
    else:  # f(λ) = A λ^{1/c} + R λ - S, increasing and convex for c <= 1: Newton from λ = 1
        lam = 1.0
        for _ in range(60):
            f = A * lam**inv_c + R * lam - stock
            if f <= 0.0 and f > -1e-15 * stock:
                break
            lam_new = lam - f / (A * inv_c * lam ** (inv_c - 1.0) + R)
            if not lam_new > 0.0:
                lam_new = lam / 2.0
            if abs(lam_new - lam) <= 1e-16 * lam:
                lam = lam_new
                break
            lam = lam_new
    return q * lam


def cash_in_advance(
    spec: AgentSpec,
    target_bids: FloatArray,
    target_offers: FloatArray,
    balance: float,
    stock: float,
    prev: Order | None,
    damping: float,
) -> Order:
    """Turn a static best response into a crypto-in-advance order (SPEC §4).

    Parameters
    ----------
    spec : AgentSpec
    target_bids, target_offers : ndarray, shape (T+1,)
        The static best response ``b*``, ``q*`` (market-game budget, eqs 2/4).
    balance : float
        Bytecoins the agent holds, ``m``.
    stock : float
        The producer's stock of the good.
    prev : Order or None
        Last round's order (damping starts from its shares and offers).
    damping : float
        ``η ∈ (0, 1]``: the fraction of the way from last round's shares and
        offers towards the target's.

    Returns
    -------
    Order
        ``b = m · s`` with shares ``s = (1-η) s_prev + η b*/X*`` (``X* = Σ_t b*^t``),
        so the cash constraint ``Σ_t b^t ≤ m`` binds; offers
        ``(1-η) q_prev + η q*`` scaled down to fit the stock (:func:`fit_to_stock`).
        ``wanted_spend = X*`` and ``wanted_input`` (the input the unfitted offers need)
        say whether the cash and input constraints cut the best response.
    """
    X = float(target_bids.sum())
    shares = target_bids / X if X > 0 else np.zeros_like(target_bids)
    offers = np.asarray(target_offers, dtype=float)
    if prev is not None and damping < 1.0:
        prev_total = float(prev.bids.sum())
        if prev_total > 0:
            shares = (1.0 - damping) * (prev.bids / prev_total) + damping * shares
        offers = (1.0 - damping) * prev.offers + damping * offers
    bids = max(balance, 0.0) * shares
    wanted_input = None
    if spec.kind == "producer":
        wanted_input = input_needed(spec, offers)
        offers = fit_to_stock(spec, offers, stock)
    else:
        offers = np.zeros_like(bids)
    return Order(bids=bids, offers=offers, wanted_spend=X, wanted_input=wanted_input)


def opening_order(obs: Observation) -> Order:
    """The order played without an informative last round (see :func:`informative`).

    A standard agent splits its balance over the posts in proportion to its
    utility weights ``α^0, α^1..α^T``. A producer offers what its stock allows,
    the same input ``φ = S/T`` each period (``q^t = min(K, θ^t φ^c)``, scaled
    to fit in the long run), and bids half its balance on the good (its next
    input) and half on electricity by ``α`` (all on the good if ``α = 0``).
    """
    spec = obs.spec
    T = obs.economy.T
    alpha = np.array([spec.alpha0, *spec.alpha], dtype=float)
    m = max(obs.balance, 0.0)
    if spec.kind == "standard":
        return Order(bids=m * alpha / alpha.sum(), offers=np.zeros(T + 1))
    elec = alpha.copy()
    elec[0] = 0.0
    share = np.zeros(T + 1)
    if elec.sum() > 0:
        share = 0.5 * elec / elec.sum()
        share[0] += 0.5
    else:
        share[0] = 1.0
    phi = obs.stock / T
    q = np.zeros(T + 1)
    q[1:] = np.array(spec.theta) * phi**spec.c if phi > 0 else 0.0
    return Order(bids=m * share, offers=fit_to_stock(spec, q, obs.stock))


def informative(obs: Observation) -> bool:
    """Whether last round can anchor a best response: it exists and every post traded.

    Before the first close, or after a round in which some post was inactive
    (no bids or no offers, e.g. nobody could pay for the good yet), the
    static best response is degenerate (an agent's own bid would set the
    price alone); strategies then play :func:`opening_order` again.
    """
    return obs.bids is not None and obs.offers is not None and obs.prices is not None and bool(
        np.all(np.asarray(obs.prices) > 0))


def _best_response(obs: Observation, bids: FloatArray, offers: FloatArray,
                   warm: FloatArray | None = None) -> tuple[FloatArray, FloatArray, bool]:
    """``market.bestresponse.best_response`` for the observing agent: ``(b*, q*, priced_out)``.

    ``warm`` (a producer's last offers) goes in the agent's own row of the
    offers, which the solver ignores for the aggregates and uses as the
    first of its starting points. (A single warm-started search was tried
    and rejected: for ``c < 1`` it can stop at a worse local optimum.)
    """
    if warm is not None and obs.spec.kind == "producer":
        offers = offers.copy()
        offers[obs.spec.index] = warm
    a = best_response(obs.economy, obs.spec.index, bids, offers, v=obs.v)
    return np.asarray(a.bids, dtype=float), np.asarray(a.offers, dtype=float), bool(a.priced_out)


def hold(obs: Observation, prev: Order | None, damping: float, why: Exception) -> Order:
    """The fallback when the best response cannot be computed (:class:`SolverError`).

    The rule: the agent holds its last order's bid shares (applied to its current
    balance) and its last offers (fitted to its stock); with no last order it
    plays :func:`opening_order`. The order's ``note`` records the fallback and
    why, so the run's ``agents.csv`` shows it.
    """
    if prev is None:
        order = opening_order(obs)
        rule = "played the opening order"
    else:
        order = cash_in_advance(obs.spec, prev.bids, prev.offers, obs.balance, obs.stock, prev,
                                damping)
        rule = "held its last shares and offers"
    return replace(order, note=f"fallback, {rule}: {why}")


# ----------------------------------------------------------------------------- strategies

@dataclass
class DampedBestResponse:
    """Damped best response to last round's orders, within this round's cash and stock.

    See the module docstring; ``damping`` is ``η`` (1 = undamped).
    """

    damping: float = 0.5
    _prev: Order | None = field(default=None, init=False, repr=False)

    def decide(self, obs: Observation) -> Order | None:
        if not informative(obs):
            order = opening_order(obs)
        else:
            assert obs.bids is not None and obs.offers is not None
            warm = self._prev.offers if self._prev is not None else None
            try:
                b, q, priced_out = _best_response(obs, obs.bids, obs.offers, warm)
            except SolverError as exc:  # no best response (e.g. a lone seller): the stated rule
                order = hold(obs, self._prev, self.damping, exc)
                self._prev = order
                return order
            if priced_out and obs.spec.kind == "producer" and self._prev is not None:
                # producers are never priced out in the model (solve_nash keeps them all):
                # no feasible response means a degenerate round (e.g. it was the only
                # seller), so it holds its last shares and offers
                b, q = self._prev.bids, self._prev.offers
            elif priced_out:
                self._prev = None
                return None
            order = cash_in_advance(obs.spec, b, q, obs.balance, obs.stock, self._prev,
                                    self.damping)
        self._prev = order
        return order


@dataclass
class PlayEquilibrium:
    """Play a given profile row (bids, offers), as far as the balance and stock allow.

    The bids are scaled by ``min(1, m / Σ_t b^t)``; the offers are fitted to the
    stock. An agent the profile prices out (all zeros) abstains.
    """

    bids: FloatArray
    offers: FloatArray

    def decide(self, obs: Observation) -> Order | None:
        total = float(self.bids.sum())
        if total <= 0 and not np.any(self.offers[1:] > 0):
            return None
        scale = min(1.0, obs.balance / total) if total > 0 else 0.0
        bids = np.asarray(self.bids, dtype=float) * max(scale, 0.0)
        if obs.spec.kind == "producer":
            offers = fit_to_stock(obs.spec, np.asarray(self.offers, dtype=float), obs.stock)
        else:
            offers = np.zeros_like(bids)
        return Order(bids=bids, offers=offers)


@dataclass
class FictitiousPlay:
    """Fictitious play: best response to the running average of everyone's past orders.

    The average ``(1/n) Σ_{k<n}`` of the observed ``(N, T+1)`` bid and offer
    matrices stands for the others' next move; the best response goes through
    :func:`cash_in_advance` undamped.
    """

    _sum_bids: FloatArray | None = field(default=None, init=False, repr=False)
    _sum_offers: FloatArray | None = field(default=None, init=False, repr=False)
    _n: int = field(default=0, init=False, repr=False)
    _seen: int = field(default=-1, init=False, repr=False)

    def decide(self, obs: Observation) -> Order | None:
        if not informative(obs):
            return opening_order(obs)
        assert obs.bids is not None and obs.offers is not None
        if obs.round != self._seen:
            if self._sum_bids is None or self._sum_offers is None:
                self._sum_bids = np.zeros_like(obs.bids)
                self._sum_offers = np.zeros_like(obs.offers)
            self._sum_bids = self._sum_bids + obs.bids
            self._sum_offers = self._sum_offers + obs.offers
            self._n += 1
            self._seen = obs.round
        assert self._sum_bids is not None and self._sum_offers is not None
        try:
            b, q, priced_out = _best_response(obs, self._sum_bids / self._n,
                                              self._sum_offers / self._n)
        except SolverError as exc:  # no best response: the stated rule
            return hold(obs, None, 1.0, exc)
        if priced_out:
            return None
        return cash_in_advance(obs.spec, b, q, obs.balance, obs.stock, None, 1.0)


# ----------------------------------------------------------------------------- the registry

@dataclass
class StrategyContext:
    """What every agent's strategy of one run is built from, besides the agent's own spec.

    One context is shared by all the agents of a run.

    Attributes
    ----------
    economy : Economy
        The economy being simulated.
    settings : SimulationSettings
        The run's ``[simulation]`` settings, after command-line overrides
        (``damping`` is read by the strategies that declare it, see
        :data:`STRATEGIES`).
    rng : numpy.random.Generator
        The simulation's generator (the same object as ``Observation.rng``).
    """

    economy: Economy
    settings: SimulationSettings
    rng: np.random.Generator
    _equilibrium: Equilibrium | None = field(default=None, init=False, repr=False)

    def equilibrium(self) -> Equilibrium:
        """``solve_nash(economy)`` with the scenario's gas estimates, solved once on first use."""
        if self._equilibrium is None:

            self._equilibrium = solve_nash(self.economy)
        return self._equilibrium


#: ``(spec, ctx) -> strategy``: how a registered strategy is built for one agent.
#: A user's strategy class named as ``"package.module:ClassName"`` is called the same way.
StrategyBuilder = Callable[[AgentSpec, StrategyContext], Strategy]

#: The ``[simulation]`` settings that are options of a strategy: a strategy reads
#: them from ``ctx.settings`` and declares the ones it uses when it is registered.
STRATEGY_OPTIONS: tuple[str, ...] = ("damping",)


@dataclass(frozen=True)
class StrategyEntry:
    """A strategy selectable by name.

    Attributes
    ----------
    name : str
        Its name in ``[simulation] strategy`` and ``--strategy``.
    build : StrategyBuilder
        ``(spec, ctx) -> strategy``, called once per agent.
    summary : str
        One line for ``--help`` and ``docs/strategies.md``.
    options : frozenset of str
        The :data:`STRATEGY_OPTIONS` it reads; giving it any other one is an error.
    """

    name: str
    build: StrategyBuilder
    summary: str
    options: frozenset[str]


#: Every strategy selectable by name, in registration order (the first is the default).
STRATEGIES: dict[str, StrategyEntry] = {}


def register(name: str, summary: str,
             options: tuple[str, ...] = ()) -> Callable[[StrategyBuilder], StrategyBuilder]:
    """Decorator: make a builder ``(spec, ctx) -> strategy`` selectable as ``name``.

    Adding a strategy is a class with ``decide`` and, in this module::

        @register("my-rule", "what it does in one line", options=("damping",))
        def _my_rule(spec: AgentSpec, ctx: StrategyContext) -> Strategy:
            return MyRule(ctx.settings.damping)
    """
    def add(build: StrategyBuilder) -> StrategyBuilder:
        if not name or ":" in name or name in STRATEGIES:
            raise ValueError(f"strategy name {name!r} is empty, has a ':' or is taken")
        unknown = set(options) - set(STRATEGY_OPTIONS)
        if unknown:
            raise ValueError(f"strategy {name!r}: unknown options {sorted(unknown)}")
        STRATEGIES[name] = StrategyEntry(name, build, summary, frozenset(options))
        return build
    return add


@register("best-response", "damped best response to last round's orders (η = damping)",
          options=("damping",))
def _damped_best_response(spec: AgentSpec, ctx: StrategyContext) -> Strategy:
    return DampedBestResponse(damping=ctx.settings.damping)


@register("equilibrium", "plays emg solve's Nash profile as far as balance and stock allow")
def _play_equilibrium(spec: AgentSpec, ctx: StrategyContext) -> Strategy:
    eq = ctx.equilibrium()
    return PlayEquilibrium(eq.bids[spec.index].copy(), eq.offers[spec.index].copy())


@register("fictitious-play", "best response to the average of all past orders, undamped")
def _fictitious_play(spec: AgentSpec, ctx: StrategyContext) -> Strategy:
    return FictitiousPlay()


def _known() -> str:
    return (f"known: {', '.join(STRATEGIES)}; or a class of yours as "
            f"\"package.module:ClassName\"")


def resolve_strategy(name: str, field_name: str = "simulation.strategy") -> StrategyEntry:
    """The registry entry for ``name``, or an entry for a user's class ``"package.module:ClassName"``.

    A user's class is imported (its module must be importable: installed, or
    on ``PYTHONPATH``), must have a ``decide`` method, and is built as
    ``ClassName(spec, ctx)`` (:class:`StrategyContext`); it may read every
    option from ``ctx.settings``, so none is rejected for it.

    Raises
    ------
    ScenarioError
        Naming ``field_name`` (``simulation.strategy`` or ``--strategy``) and
        listing the registered names.
    """
    entry = STRATEGIES.get(name)
    if entry is not None:
        return entry
    module_name, colon, class_name = name.partition(":")
    if not colon:
        raise ScenarioError(f"{field_name}: unknown strategy {name!r} ({_known()})")
    if not module_name or not class_name.isidentifier():
        raise ScenarioError(f"{field_name}: expected \"package.module:ClassName\", got {name!r}")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ScenarioError(f"{field_name}: cannot import {module_name!r} for strategy {name!r} "
                            f"({exc})") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not callable(getattr(cls, "decide", None)):
        raise ScenarioError(f"{field_name}: {name!r} is not a class with a decide(obs) method")
    try:
        inspect.signature(cls).bind(None, None)
    except TypeError:
        raise ScenarioError(f"{field_name}: {name!r} must be built as {class_name}(spec, ctx)") from None
    except ValueError:  # no signature to inspect (e.g. a C class): let the call decide
        pass
    doc = (cls.__doc__ or "").strip().splitlines()
    return StrategyEntry(name, cast(StrategyBuilder, cls), doc[0] if doc else "",
                         frozenset(STRATEGY_OPTIONS))


def option_unused(entry: StrategyEntry, option: str, field_name: str) -> ScenarioError:
    """The error for giving ``option`` (named ``field_name``) to a strategy that does not read it."""
    users = [e.name for e in STRATEGIES.values() if option in e.options]
    return ScenarioError(f"{field_name}: strategy {entry.name!r} does not use {option} "
                         f"(strategies that do: {', '.join(users) or 'none'})")


def check_settings(settings: SimulationSettings,
                   field_name: str = "simulation.strategy") -> StrategyEntry:
    """Resolve ``settings.strategy`` and reject the options it would ignore.

    An option of :data:`STRATEGY_OPTIONS` that the strategy does not use must
    keep its default value (``simulation.damping = 0.5``): a value that
    differs would be silently dropped, so it is an error naming
    ``simulation.<option>``. (``emg simulate`` names ``--damping`` when the
    value came from the command line.)
    """
    entry = resolve_strategy(settings.strategy, field_name)
    default = SimulationSettings()
    for option in STRATEGY_OPTIONS:
        if option not in entry.options and getattr(settings, option) != getattr(default, option):
            raise option_unused(entry, option, f"simulation.{option}")
    return entry


def make_strategy(name: str, spec: AgentSpec, ctx: StrategyContext,
                  field_name: str = "simulation.strategy") -> Strategy:
    """One agent's strategy by name (registered, or ``"package.module:ClassName"``)."""
    return resolve_strategy(name, field_name).build(spec, ctx)


def build_strategies(economy: Economy, settings: SimulationSettings,
                     rng: np.random.Generator) -> list[Strategy]:
    """Every agent's strategy, in the order of ``economy.agents()``, as ``settings`` name it.

    Raises :class:`ScenarioError` (see :func:`check_settings`) before
    building anything if the name or the options do not fit.
    """
    entry = check_settings(settings)
    ctx = StrategyContext(economy, settings, rng)
    return [entry.build(spec, ctx) for spec in economy.agents()]


def relative_distance(p: FloatArray, ref: FloatArray) -> float:
    """``max_t |p^t / p_ref^t - 1|`` over posts where the reference is positive (``inf`` if none)."""
    mask = np.asarray(ref) > 0
    if not mask.any():
        return math.inf
    return float(np.max(np.abs(np.asarray(p)[mask] / np.asarray(ref)[mask] - 1.0)))
