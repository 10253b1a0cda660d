"""The competitive (price-taking) benchmark with the same verification electricity.

Every agent takes the prices ``p^0..p^T`` as given (SPEC §2): a standard
agent spends its income ``p^0 ω_h``; a producer maximises its profit
``Σ_t p^t q^t − p^0 (Σ_t φ^t + ρK)`` under its capacity and spends the
profit; everyone first buys its verification electricity ``s^t v`` (a
Stone–Geary shift), so with log utility

``x_i^t = s^t v_i + (α_i^t / Σ_s α_i^s) (I_i − Σ_s p^s s^s v_i) / p^t``

(CES: the surplus is split as ``(α^t/p^t)^σ``). Agents whose income does
not cover their verification are priced out, as in :mod:`market.nash`.

Supply is a correspondence when ``c ≥ 1`` (flat or falling marginal cost):
each post's supply curve is parametrised by ``σ^t = p^t/\\bar p^t + Q^t/\\bar Q^t``,
strictly increasing along the curve, so a flat step (a producer at its
marginal cost, anywhere between 0 and capacity) is as good an unknown as
a rising one. Long-run capacities ``K_g`` are unknowns with the rent
condition ``Σ_t max(0, p^t − p^0 φ'(K_g)) = ρ p^0``. For ``c > 1`` the
benchmark is the convexified economy (a producer's output between 0 and
capacity at the price equal to its average cost at capacity), documented in
``docs/economics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from market.errors import SolverError
from market.model import BoolArray, Economy, FloatArray
from market.participants import ParticipantHistory, price_taking_entry_possible, worse_off_half
from market.posts import (
    consumption,
    dphi,
    input_requirement,
    marginal_cost,
    phi,
    production,
    settle,
)
from market.profile import evaluate_profile, marginal_utility, state_consumption
from market.results import Equilibrium

__all__ = ["solve_competitive", "consumer_demand", "expected_consumer_demand"]


def _dearest(economy: Economy) -> float:
    """``max_k f_k``: the dearest verification state relative to the mean (1 when ``κ`` is certain)."""
    states = economy.kappa_states
    return 1.0 if states is None else float(states.factors()[0].max())


def consumer_demand(alpha: FloatArray, req: FloatArray, income: FloatArray, prices: FloatArray,
                    sigma: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Price-taking demand ``x_i^t`` over posts ``0..T`` (Stone–Geary log or CES).

    Parameters
    ----------
    alpha, req : ndarray (n, T+1)
        Weights and required quantities (verification; 0 on post 0).
    income : ndarray (n,)
    prices : ndarray (T+1,)
    sigma : ndarray (n,)
        Elasticity of substitution (1 = log utility).

    Returns
    -------
    x : ndarray (n, T+1)
    ok : ndarray of bool (n,)
        The income covers the required purchases. Where it does not, the
        income is spread over the requirements pro rata (continuous at the
        boundary; such agents are then priced out by the caller).
    """
    cost = (req * prices[None, :]).sum(axis=1)
    surplus = income - cost
    # an agent with nothing to verify is never priced out (it may just have no income)
    ok = (surplus > 0) | ((cost <= 0) & (income >= 0))
    sig = sigma[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        weights = np.where(alpha > 0, alpha ** sig * prices[None, :] ** (1.0 - sig), 0.0)
        spend_share = weights / weights.sum(axis=1, keepdims=True)
        x_ok = req + np.where(np.maximum(surplus, 0.0)[:, None] > 0,
                              spend_share * np.maximum(surplus, 0.0)[:, None] / prices[None, :], 0.0)
        x_bad = req * np.where(cost > 0, income / cost, 0.0)[:, None]
    return np.where(ok[:, None], x_ok, x_bad), ok


#: Safeguarded Newton steps of :func:`expected_consumer_demand` (inner: a post's
#: quantity; outer: the budget multiplier) and the relative step they stop at.
_EU_DEMAND_MAXITER = 200
_EU_DEMAND_TOL = 1e-14


def _eu_quantity(alpha: FloatArray, req: FloatArray, probs: FloatArray, target: FloatArray,
                 rho: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``x`` with ``α Σ_k π_k (x − r_k)^{ρ−1} = target`` and ``∂x/∂ ln target`` (α > 0).

    The left side falls from ``+∞`` at ``x = max_k r_k`` to 0; by Jensen the
    root lies between the certain roots at the mean and at the largest
    requirement, ``r + (α/target)^{1/(1−ρ)}``. Safeguarded Newton on
    ``ln F(x) − ln target`` there. Shapes: ``(m,)`` except ``req (m, K)``.
    """
    rmax = req.max(axis=1)
    d = (alpha / target) ** (1.0 / (1.0 - rho))
    lo = req @ probs + d
    hi = rmax + d
    lo = np.minimum(np.maximum(lo, rmax), hi)
    x = 0.5 * (lo + hi)
    rm1 = (rho - 1.0)[:, None]
    pr = probs[None, :]

    def h(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            E = np.maximum(x[:, None] - req, 0.0)
            Ep = E ** rm1
            M = (pr * Ep).sum(axis=1)
            dM = (pr * rm1 * Ep / E).sum(axis=1)
            return np.log(alpha * M) - np.log(target), dM / M, M

    done = hi - lo <= _EU_DEMAND_TOL * hi
    g, dg, _ = h(x)
    for _ in range(_EU_DEMAND_MAXITER):
        lo = np.where(g > 0, x, lo)
        hi = np.where(g > 0, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = x - g / dg
        new = np.where(~np.isfinite(new) | (new <= lo) | (new >= hi), 0.5 * (lo + hi), new)
        new = np.where(done, x, new)
        step = np.abs(new - x)
        x = new
        done = done | (step <= _EU_DEMAND_TOL * x) | (hi - lo <= _EU_DEMAND_TOL * hi)
        g, dg, _ = h(x)
        if bool(done.all()):
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(np.isfinite(dg) & (dg < 0), -1.0 / dg, 0.0)  # ∂x/∂ ln target = 1/(∂h/∂x)·(−1)·(−1)
    return x, -dx


def expected_consumer_demand(alpha: FloatArray, req: FloatArray, probs: FloatArray,
                             income: FloatArray, prices: FloatArray,
                             sigma: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Price-taking demand under uncertain verification (expected utility over states ``k``).

    Agent ``i`` maximises ``Σ_t α^t Σ_k π_k u(x^t − r^t_k)`` (``u = ln``, or
    ``E^ρ/ρ`` for CES, ``ρ = (σ−1)/σ``) subject to ``Σ_t p^t x^t = I`` and
    ``x^t ≥ max_k r^t_k``: on each valued post
    ``α^t Σ_k π_k (x^t − r^t_k)^{ρ−1} = λ p^t`` (:func:`_eu_quantity`), a post
    not valued gets ``max_k r^t_k``; ``λ`` makes the budget bind
    (safeguarded Newton on ``ln λ``, slope ``Σ_t p^t ∂x^t/∂ ln λ``). With one
    state this is :func:`consumer_demand` (to rounding).

    Parameters
    ----------
    alpha : ndarray (n, T+1)
    req : ndarray (n, T+1, K)
        Required quantities in each state (0 on post 0).
    probs : ndarray (K,)
    income : ndarray (n,)
    prices : ndarray (T+1,)
    sigma : ndarray (n,)

    Returns
    -------
    x : ndarray (n, T+1)
    ok : ndarray of bool (n,)
        The income covers the requirements of the dearest state (else, as in
        :func:`consumer_demand`, the income is spread over them pro rata).
    """
    n, T1, _ = req.shape
    rmax = req.max(axis=2)
    cost = (rmax * prices[None, :]).sum(axis=1)
    surplus = income - cost
    ok = (surplus > 0) | ((cost <= 0) & (income >= 0))
    rho = np.where(sigma == 1.0, 0.0, (sigma - 1.0) / sigma)
    valued = alpha > 0
    x = np.array(rmax, dtype=float)
    live = ok & valued.any(axis=1) & (surplus > 0)
    if live.any():
        rows = np.nonzero(live)[0]
        cells = valued[rows]
        ri, ti = np.nonzero(cells)
        al = alpha[rows][cells]
        rq = req[rows][cells]
        pr_t = prices[ti]
        rho_c = rho[rows][ri]
        inc = income[rows]
        base = (rmax[rows] * prices[None, :] * ~cells).sum(axis=1)  # unvalued posts' requirement
        # start: log utility's multiplier at the mean requirement
        lam = np.log(np.maximum(alpha[rows].sum(axis=1), 1e-300)
                     / np.maximum(surplus[rows], 1e-300))
        lo = np.full(rows.size, -np.inf)
        hi = np.full(rows.size, np.inf)
        done = np.zeros(rows.size, dtype=bool)
        xc = np.zeros(ri.size)
        for _ in range(_EU_DEMAND_MAXITER):
            xc, dxc = _eu_quantity(al, rq, probs, np.exp(lam[ri]) * pr_t, rho_c)
            spend = np.bincount(ri, pr_t * xc, rows.size) + base
            dspend = np.bincount(ri, pr_t * dxc, rows.size)
            f = spend / inc - 1.0
            lo = np.where(f > 0, lam, lo)
            hi = np.where(f > 0, hi, lam)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = -f * inc / dspend
            new = lam + step
            both = np.isfinite(lo) & np.isfinite(hi)
            bad = ~np.isfinite(new) | (new <= lo) | (new >= hi) | (np.abs(step) > 8.0)
            new = np.where(bad & both, 0.5 * (lo + hi),
                           np.where(bad, lam + np.where(f > 0, 8.0, -8.0), new))
            done = done | (np.abs(f) <= _EU_DEMAND_TOL) | (np.abs(new - lam) <= 1e-15 * np.maximum(1.0, np.abs(lam)))
            lam = np.where(done, lam, new)
            if bool(done.all()):
                break
        xc, _ = _eu_quantity(al, rq, probs, np.exp(lam[ri]) * pr_t, rho_c)
        block = x[rows]
        block[cells] = xc
        x[rows] = block
    with np.errstate(divide="ignore", invalid="ignore"):
        x_bad = rmax * np.where(cost > 0, income / cost, 0.0)[:, None]
    return np.where(ok[:, None], x, x_bad), ok


@dataclass
class _Group:
    """A producer group (identical members) for the supply side."""

    first: int          # flattened index of its first member
    count: int
    theta: FloatArray   # (T,)
    c: float
    K: float            # inf when long run
    rho: float
    long_run: bool


def _groups(economy: Economy, participants: BoolArray) -> list[_Group]:
    out = []
    idx = economy.M
    for g in economy.producers:
        members = participants[idx:idx + g.count]
        if members.all():
            out.append(_Group(idx, g.count, np.asarray(g.theta, float), g.c,
                              g.K if g.K is not None else np.inf, g.rho or 0.0, g.rho is not None))
        elif members.any():  # pragma: no cover - producers leave as whole groups
            raise SolverError(f"producer group {g.name!r} partly priced out")
        idx += g.count
    return out


def _threshold(g: _Group, K: float) -> FloatArray:
    """Price (p^0 = 1) at which a jump-type group (c ≥ 1) switches from 0 to capacity ``K``.

    ``c = 1``: marginal cost ``1/θ``; ``c > 1``: average cost at capacity ``φ(K)/K``.
    """
    if g.c == 1.0:
        return 1.0 / g.theta
    return phi(K, g.theta, g.c) / K


def _smooth_supply(g: _Group, price: FloatArray, K: float) -> FloatArray:
    """Supply of one member of a ``c < 1`` group: ``φ'(q) = p`` capped at ``K``."""
    with np.errstate(over="ignore"):  # a trial price far too high: q = inf, capped at K
        q = g.theta * (g.c * g.theta * np.maximum(price, 0.0)) ** (g.c / (1.0 - g.c))
    return np.minimum(q, K)


#: Bisection steps for the price on a supply curve (:meth:`_Supply.at`): a fixed
#: count, each halving the bracket; 200 is far past float resolution, so the
#: jump thresholds the result snaps to are met exactly.
_BISECT_SUPPLY = 200

#: Root-finding methods of :func:`_solve_fixed`, each from the best point so far
#: (Levenberg-Marquardt between two hybr runs, for a near-singular Jacobian at a
#: flat supply step), the residual that ends the search, and the one below which
#: the best point still counts as converged.
_FIXED_METHODS = ("hybr", "lm", "hybr")
_FIXED_TOL = 1e-12
_FIXED_ACCEPT = 1e-9


class _Supply:
    """Posts' supply curves, parametrised by ``σ^t`` (see module docstring)."""

    def __init__(self, groups: list[_Group], pscale: FloatArray, qscale: FloatArray) -> None:
        self.groups = groups
        self.pscale = pscale
        self.qscale = qscale

    def quantities(self, price: FloatArray, caps: list[float], strict: bool) -> FloatArray:
        """Per-member supply of each group at ``price`` (jumps at their upper value if not strict)."""
        rows = []
        for g, K in zip(self.groups, caps, strict=True):
            if g.c < 1.0:
                rows.append(_smooth_supply(g, price, K))
            else:
                thr = _threshold(g, K)
                on = price > thr if strict else price >= thr
                rows.append(np.where(on, K, 0.0))
        return np.array(rows)

    def at(self, sigma: FloatArray, caps: list[float]) -> tuple[FloatArray, FloatArray]:
        """Prices ``p^t`` and per-member outputs ``q_g^t`` on the curve point ``σ^t``."""
        counts = np.array([g.count for g in self.groups], dtype=float)[:, None]

        def F(p: FloatArray) -> FloatArray:
            return p / self.pscale + (counts * self.quantities(p, caps, True)).sum(axis=0) / self.qscale

        lo = np.zeros_like(sigma)
        hi = sigma * self.pscale
        for _ in range(_BISECT_SUPPLY):
            mid = 0.5 * (lo + hi)
            below = F(mid) <= sigma
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        p = 0.5 * (lo + hi)
        # snap to a jump threshold the bisection converged onto
        for g, K in zip(self.groups, caps, strict=True):
            if g.c >= 1.0:
                thr = _threshold(g, K)
                p = np.where(np.abs(p - thr) <= 1e-11 * thr, thr, p)
        Q = self.qscale * (sigma - p / self.pscale)
        strict = self.quantities(p, caps, True)
        loose = self.quantities(p, caps, False)
        base = (counts * strict).sum(axis=0)
        room = (counts * (loose - strict)).sum(axis=0)
        frac = np.where(room > 0, np.clip((Q - base) / np.where(room > 0, room, 1.0), 0.0, 1.0), 0.0)
        q = strict + (loose - strict) * frac[None, :]
        return p, q


def solve_competitive(economy: Economy, v: FloatArray | None = None, *,
                      start_prices: FloatArray | None = None, max_rounds: int = 30) -> Equilibrium:
    """The competitive equilibrium with verification electricity (price-taking benchmark).

    Parameters
    ----------
    economy : Economy
    v : ndarray (N,), optional
        Per-agent verification electricity (default ``κ`` × gas per order).
    start_prices : ndarray (T+1,), optional
        A starting guess for the prices (e.g. the Nash equilibrium's).

    Returns
    -------
    Equilibrium
        ``kind = "competitive"``; bids are spending ``p^t x_i^t`` (so the
        trading posts reproduce the competitive allocation), normalised to the
        participants' bytecoin supply; residuals are those of price-taking
        optimality (:func:`competitive_residuals`).
    """
    v = economy.verification_energy() if v is None else np.asarray(v, dtype=float)
    arr = economy.arrays
    participants = np.ones(economy.N, dtype=bool)
    history = ParticipantHistory("competitive: the priced-out set does not settle")
    evals = 0
    left_producers = np.zeros(economy.N, dtype=bool)
    for _ in range(max_rounds):
        sol = _solve_fixed(economy, v, participants, start_prices)
        evals += sol.evals
        leave = participants & ~sol.ok
        prices = sol.prices
        # entry: a priced-out agent whose income would now cover its verification
        req = economy.schedule[None, :] * (v * _dearest(economy))[:, None]
        enter = ~participants & ~arr.producer & price_taking_entry_possible(arr.omega, req,
                                                                           prices)
        # the same test for producers outside: could one of them, taking these prices,
        # earn more than its verification costs? Then it enters (no silent drop)
        enter |= ~participants & _producer_entry(economy, req, prices)
        back = enter & left_producers
        if back.any():
            ids = sorted({a.group for a in economy.agents() if back[a.index]})
            raise SolverError(
                f"competitive: no price-taking equilibrium with verification exists: producer "
                f"group(s) {', '.join(ids)} cannot pay their verification out of their profit when "
                f"they take part (their price-taking profit falls to zero or below), but would earn "
                f"more than it at the prices without them (constant or increasing returns with "
                f"slack capacity have zero competitive profit)")
        if not leave.any() and not enter.any():
            bids, offers = sol.bids, sol.offers
            scale = arr.bytecoins[participants].sum() / bids.sum()
            bids = bids * scale
            res = competitive_residuals(economy, bids, offers, v, participants)
            return evaluate_profile(economy, bids, offers, v=v, participants=participants,
                                    kind="competitive", iterations=evals,
                                    converged=sol.converged, message=sol.message,
                                    residuals=res)
        if leave.sum() > 1:
            worst = worse_off_half(np.where(leave, sol.surplus, np.inf), int(leave.sum()))
            leave = np.zeros_like(leave)
            leave[worst] = True
        if (leave & arr.producer).any():
            # producers leave by whole groups (identical members)
            for g_first, g in _group_spans(economy):
                if leave[g_first:g_first + g].any():
                    leave[g_first:g_first + g] = True
        left_producers |= leave & arr.producer
        participants = (participants & ~leave) | enter
        history.record(participants)
        start_prices = prices
    raise SolverError(f"competitive: participant set not settled after {max_rounds} rounds")


def producer_entry_profit(economy: Economy, prices: FloatArray) -> FloatArray:
    """Each producer's largest price-taking profit at ``prices``, before verification (``nan`` for standard agents).

    ``max_q Σ_t p^t q^t − p^0 (Σ_t φ(q^t) + ρ K)`` over ``0 ≤ q^t ≤ K``, per
    period for a short-run producer: ``c < 1`` at ``p^t = p^0 φ'(q)`` capped at
    ``K``; ``c = 1`` full capacity where ``p^t > p^0/θ^t``; ``c > 1`` (the
    convexified economy the benchmark uses) full capacity where ``p^t`` beats the
    average cost at capacity. Long run with ``c < 1``: the best ``K`` by a
    scan of the candidate outputs; with ``c = 1`` the profit per unit of
    capacity ``Σ_t (p^t − p^0/θ^t)^+ − ρ p^0``, infinite if positive.
    """
    arr = economy.arrays
    out = np.full(economy.N, np.nan)
    p0, p = float(prices[0]), np.asarray(prices[1:], dtype=float)
    idx = economy.M
    for g in economy.producers:
        th = np.asarray(g.theta, dtype=float)
        if g.rho is None:
            K = float(g.K) if g.K is not None else np.inf
            if g.c < 1.0:
                with np.errstate(over="ignore"):
                    q = np.minimum(th * (g.c * th * np.maximum(p / p0, 0.0)) ** (g.c / (1.0 - g.c)), K)
                profit = float((p * q).sum() - p0 * phi(q, th, g.c).sum())
            else:
                avg = p0 * phi(K, th, g.c) / K
                profit = float((np.maximum(p - avg, 0.0) * K).sum())
        elif g.c >= 1.0:
            unit = float(np.maximum(p - p0 / th, 0.0).sum() - g.rho * p0)
            profit = np.inf if unit > 1e-12 * p0 else 0.0
        else:
            # long run, decreasing returns: the best capacity is one of the periods'
            # unconstrained outputs or below; scan capacities on a fine log grid
            with np.errstate(over="ignore"):
                qfree = th * (g.c * th * np.maximum(p / p0, 0.0)) ** (g.c / (1.0 - g.c))
            best = 0.0
            top = float(qfree.max())
            if top > 0:
                for K in top * np.logspace(-6, 0, 241):
                    q = np.minimum(qfree, K)
                    best = max(best, float((p * q).sum() - p0 * (phi(q, th, g.c).sum() + g.rho * K)))
            profit = best
        out[idx:idx + g.count] = profit
        idx += g.count
    del arr
    return out


def _producer_entry(economy: Economy, req: FloatArray, prices: FloatArray) -> BoolArray:
    """Producers that would earn more than their verification costs at ``prices`` (price taking)."""
    profit = producer_entry_profit(economy, prices)
    cost = (req * prices[None, 1:]).sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.asarray(economy.arrays.producer & (profit > cost * (1.0 + 1e-9)))


def _group_spans(economy: Economy) -> list[tuple[int, int]]:
    out, idx = [], economy.M
    for g in economy.producers:
        out.append((idx, g.count))
        idx += g.count
    return out


@dataclass(frozen=True)
class _State:
    """The economy at one point of the price-taking system (see :func:`_solve_fixed`)."""

    p: FloatArray        # (T,) electricity prices, p^0 = 1
    q: FloatArray        # (groups, T) output per member
    Q: FloatArray        # (T,) total output
    caps: list[float]    # capacity per group
    Phi: FloatArray      # (groups,) input per member
    x: FloatArray        # (n, T+1) demand of the participants
    ok: BoolArray        # (n,) income covers verification
    prices: FloatArray   # (T+1,) [1, p]
    income: FloatArray   # (n,)


@dataclass(frozen=True)
class _FixedSolution:
    """The competitive equilibrium for a fixed participant set (before normalisation).

    Attributes
    ----------
    prices : ndarray (T+1,)
        ``p^0 = 1``.
    bids, offers : ndarray (N, T+1)
        Spending ``p^t x_i^t`` (plus a producer's input) and supplies.
    ok : ndarray of bool (N,)
        Income covers verification (True outside the participants).
    surplus : ndarray (N,)
        Income left after verification, relative (``inf`` outside).
    converged : bool
        The aggregate residual is at most ``1e-9``.
    evals : int
        Residual evaluations.
    message : str
    """

    prices: FloatArray
    bids: FloatArray
    offers: FloatArray
    ok: BoolArray
    surplus: FloatArray
    converged: bool
    evals: int
    message: str


def _solve_fixed(economy: Economy, v: FloatArray, participants: BoolArray,
                 start_prices: FloatArray | None) -> _FixedSolution:
    arr = economy.arrays
    T = economy.T
    s = economy.schedule
    groups = _groups(economy, participants)
    if not groups:
        raise SolverError("competitive: no producer can pay its verification electricity out of "
                          "its price-taking profit (that profit is zero with constant or increasing "
                          "returns and slack capacity, and small when verification is dear), so the "
                          "benchmark does not exist for this economy")
    std = participants & ~arr.producer
    if not std.any():
        raise SolverError("competitive: no standard agent participates")
    Omega = float(arr.omega[std].sum())
    idx = np.nonzero(participants)[0]
    alpha = arr.alpha[idx]
    req = np.zeros((idx.size, T + 1))
    req[:, 1:] = s[None, :] * v[idx][:, None]
    states = economy.kappa_states
    if states is not None:
        # uncertain κ: each state's requirement; feasibility and surplus in the dearest
        f, probs = states.factors()
        req_k = req[:, :, None] * f[None, None, :]
        req = req * float(f.max())
    sigma = np.where(arr.r[idx] == 0.0, 1.0, 1.0 / (1.0 - arr.r[idx]))
    is_prod = arr.producer[idx]
    lr = [k for k, g in enumerate(groups) if g.long_run]

    # scales: nominal output and the marginal cost there
    phi_each = Omega / (sum(g.count for g in groups) * (T + 1.0))
    qs = np.zeros(T)
    ps = np.zeros(T)
    for g in groups:
        q_nom = np.minimum(production(phi_each, g.theta, g.c), 0.8 * g.K)
        qs += g.count * q_nom
        ps += dphi(q_nom, g.theta, g.c) if g.c != 1.0 else 1.0 / g.theta
    ps /= len(groups)
    if start_prices is not None:
        ps = np.asarray(start_prices[1:] / start_prices[0], dtype=float)
    supply = _Supply(groups, ps, qs)
    member_of = {}
    for k, g in enumerate(groups):
        for m in range(g.count):
            member_of[g.first + m] = k
    pos_of = {int(i): n for n, i in enumerate(idx)}
    prod_rows = np.array([pos_of[int(i)] for i in idx if arr.producer[i]])
    prod_group = np.array([member_of[int(i)] for i in idx if arr.producer[i]])

    def unpack(x: FloatArray) -> tuple[FloatArray, list[float]]:
        sig = np.exp(x[:T])
        caps = [g.K for g in groups]
        for n, k in enumerate(lr):
            with np.errstate(over="ignore"):  # a root finder's trial step: inf is rejected
                caps[k] = float(np.exp(x[T + n]))
        return sig, caps

    def state(x: FloatArray) -> _State:
        sig, caps = unpack(x)
        p, q = supply.at(sig, caps)
        prices = np.concatenate(([1.0], p))
        Phi = np.array([phi(q[k], g.theta, g.c).sum() + g.rho * caps[k] * g.long_run
                        for k, g in enumerate(groups)])
        sales = (q * p[None, :]).sum(axis=1)
        profit = sales - Phi
        # constant returns: the zero profit is a difference of rounded numbers; a
        # rounding-sized loss is zero (a price taker can always produce nothing)
        profit = np.where(np.abs(profit) <= 1e-12 * sales, 0.0, profit)
        income = np.zeros(idx.size)
        income[~is_prod] = arr.omega[idx][~is_prod]
        income[prod_rows] = profit[prod_group]
        if states is None:
            x_d, ok = consumer_demand(alpha, req, income, prices, sigma)
        else:
            x_d, ok = expected_consumer_demand(alpha, req_k, probs, income, prices, sigma)
        counts = np.array([g.count for g in groups], dtype=float)
        Q = (counts[:, None] * q).sum(axis=0)
        return _State(p=p, q=q, Q=Q, caps=caps, Phi=Phi, x=x_d, ok=ok, prices=prices,
                      income=income)

    nevals = [0]

    def residual(x: FloatArray) -> FloatArray:
        nevals[0] += 1
        # a root finder's trial point may overflow (inf - inf): non-finite residuals
        # are replaced by a large value below, so the warnings say nothing
        with np.errstate(all="ignore"):
            st = state(x)
            demand = st.x[:, 1:].sum(axis=0)
            out = [(demand - st.Q) / supply.qscale]
            for k in lr:
                g = groups[k]
                K = st.caps[k]
                rent = np.maximum(st.p - dphi(np.full(T, K), g.theta, g.c), 0.0).sum()
                out.append(np.array([rent / g.rho - 1.0]))
            r = np.concatenate(out)
        return np.where(np.isfinite(r), r, 1e6)

    x0 = np.concatenate((np.full(T, np.log(2.0)),
                         [np.log(float(np.max(qs)) / groups[k].count / len(groups)) for k in lr]))
    starts = [x0]
    if lr:
        # a second start for long-run capacity: every period's price above the flat
        # marginal cost by an even share of the capacity cost (the rent condition
        # Σ_t (p^t − p^0φ'(K))^+ = ρ p^0 then has a defined slope in every period;
        # at the first start all rents are 0, a kink where the Jacobian is singular
        # and the root finder's path depends on rounding, e.g. on the group count)
        rho_share = max(groups[k].rho for k in lr) / T
        Ktot = float(np.max(qs)) / len(groups)
        p_hi = ps + rho_share
        sig_hi = np.log(p_hi / ps + Ktot * len(groups) / qs)
        starts.append(np.concatenate((sig_hi, [np.log(Ktot / groups[k].count) for k in lr])))
    best_x, best = x0, np.inf
    for start in starts:
        x = start
        for method in _FIXED_METHODS:
            sol = optimize.root(residual, x, method=method,
                                options={"xtol": 1e-14} if method == "hybr" else
                                {"xtol": 1e-15, "ftol": 1e-15, "maxiter": 20000})
            r = float(np.max(np.abs(residual(sol.x))))
            if r < best:
                best_x, best = sol.x, r
            if r <= _FIXED_TOL:
                break
            x = best_x
        if best <= _FIXED_ACCEPT:
            break
    st = state(best_x)
    N = economy.N
    bids = np.zeros((N, T + 1))
    offers = np.zeros((N, T + 1))
    prices = st.prices
    xd = st.x
    spend = xd * prices[None, :]
    bids[idx] = spend
    # a producer's spending on the good includes its input
    bids[idx[prod_rows], 0] += st.Phi[prod_group] * prices[0]
    offers[std, 0] = arr.omega[std]
    for k, g in enumerate(groups):
        offers[g.first:g.first + g.count, 1:] = st.q[k][None, :]
    ok = np.zeros(N, dtype=bool)
    ok[idx] = st.ok
    surplus = np.full(N, np.inf)
    surplus[idx] = (st.income - (req * prices[None, :]).sum(axis=1)) / np.maximum(
        np.abs(st.income), 1e-300)
    message = f"aggregate residual {best:.3g}"
    if not best <= _FIXED_ACCEPT:
        message += ": " + _uncleared(residual(best_x), T, [economy.agents()[groups[k].first].group for k in lr])
    return _FixedSolution(prices=prices, bids=bids, offers=offers, ok=ok | ~participants,
                          surplus=surplus, converged=bool(best <= _FIXED_ACCEPT), evals=nevals[0],
                          message=message)


def _uncleared(r: FloatArray, T: int, long_run: list[str]) -> str:
    """The conditions a price-taking point fails, largest first, in words: electricity
    markets that do not clear (excess demand over the supply scale) and long-run groups
    whose capacity rent does not pay for capacity (``Σ_t rent^t/ρ − 1``)."""
    named = [(abs(float(r[t])), f"period {t + 1}'s electricity market does not clear (excess "
              f"{'demand' if r[t] > 0 else 'supply'} {abs(float(r[t])):.3g} of the supply scale)")
             for t in range(T)]
    named += [(abs(float(r[T + j])), f"the capacity rent of group {name} {'exceeds' if r[T + j] > 0 else 'falls short of'} "
               f"the capacity cost by {abs(float(r[T + j])):.3g} of it") for j, name in enumerate(long_run)]
    named = sorted((n for n in named if n[0] > _FIXED_ACCEPT), key=lambda n: -n[0])[:3]
    return "; ".join(text for _, text in named) or "no condition above the tolerance (rounding)"


def competitive_residuals(economy: Economy, bids: FloatArray, offers: FloatArray, v: FloatArray,
                          participants: BoolArray) -> FloatArray:
    """Relative residuals of price-taking optimality, recomputed from the profile.

    Consumers: ``u_t / p^t`` equal over valued posts, posts not valued give
    exactly the verification, budget binds (spending = ``p^0 ω`` or profit).
    Producers: ``p^t = p^0 φ'(q^t)`` where ``0 < q^t < K``, ``≥`` at capacity,
    ``≤`` at zero output (for ``c ≥ 1``: price = marginal cost when in between);
    long run ``Σ_t (p^t − p^0 φ'(K))^+ = ρ p^0``.
    """
    arr = economy.arrays
    out = settle(bids, offers)
    p = out.prices
    cons = consumption(out.allocations, offers, arr, economy.schedule, v, participants)
    eu = state_consumption(economy, cons, v, participants)
    if eu is None:
        mu = marginal_utility(cons, arr.alpha, arr.r)
    else:  # expected marginal utility; a post not valued leaves nothing in the dearest state
        mu = np.tensordot(eu[1], np.stack([marginal_utility(c, arr.alpha, arr.r) for c in eu[0]]),
                          axes=1)
        cons = eu[0].min(axis=0)
    need = input_requirement(offers, arr)
    res = np.zeros(economy.N)
    for i in np.nonzero(participants)[0]:
        valued = arr.alpha[i] > 0
        lam = mu[i][valued] / p[valued]
        spent = bids[i].sum() - (p[0] * need[i] if arr.producer[i] else 0.0)
        # a zero-profit producer spends nothing: rounding-sized spending is not a choice
        terms = list(np.abs(lam / lam.mean() - 1.0)) if spent > 1e-9 * bids[i].sum() else []
        x = out.allocations[i, 1:]
        zero_post = ~valued[1:] & (x > 0)
        terms.extend(np.abs(cons[i, 1:][zero_post]) / x[zero_post])
        if arr.producer[i]:
            q = offers[i, 1:]
            profit = float((q * p[1:]).sum() - p[0] * need[i])
            spend = float(bids[i].sum() - p[0] * need[i])
            # relative to the profit, but a zero-profit producer (constant returns) is
            # judged against its revenue: its profit is a difference of rounded numbers
            revenue = float((q * p[1:]).sum())
            terms.append(abs(spend - profit) / max(abs(profit), 1e-6 * revenue, 1e-300))
            th, c = arr.theta[i], arr.c[i]
            K = q.max() if arr.long_run[i] else arr.K[i]
            if c <= 1.0:
                mc = marginal_cost(p[0], q, th, c)
            else:  # convexified: the relevant cost is the average cost at capacity
                mc = p[0] * np.full_like(q, phi(K, th, c) / K)
            rent = p[1:] - mc
            at_cap = q >= K * (1.0 - 1e-9)
            inner = (q > 0) & ~at_cap
            terms.extend(np.abs(rent[inner]) / p[1:][inner])
            terms.extend(np.maximum(-rent[at_cap], 0.0) / p[1:][at_cap])
            terms.extend(np.maximum(rent[q <= 0], 0.0) / p[1:][q <= 0])
            if arr.long_run[i] and K > 0:
                terms.append(abs(np.maximum(rent, 0.0).sum() - p[0] * arr.rho[i]) /
                             (p[0] * arr.rho[i]))
        else:
            income = p[0] * arr.omega[i]
            terms.append(abs(bids[i].sum() - income) / income)
        res[i] = max(terms) if terms else 0.0
    return res

