"""Checks of a profile: outcomes, first-order residuals, and the independent Nash test.

* :func:`evaluate_profile` turns bids and offers into an
  :class:`~market.results.Equilibrium` (prices, allocations, consumption,
  utility) and recomputes every agent's first-order conditions (10)–(17)
  from the profile alone.
* :func:`is_nash` asks, for every agent, what it could gain by deviating
  alone, solving its problem by a *different* method from the solver's
  (SLSQP over its own bids and offers in logs, from several starts).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from market.model import AgentArrays, BoolArray, Economy, FloatArray
from market.posts import (
    capacity,
    consumption,
    input_requirement,
    settle,
    utility_index,
    utility_values,
)
from market.results import Equilibrium, NashCheck


def _marginal_utility(cons: FloatArray, alpha: FloatArray, r: FloatArray) -> FloatArray:
    """``∂Ũ/∂E`` of the transformed utility ``Σ α ln E`` (log) or ``Σ α E^r / r`` (CES)."""
    # over/divide: the α = 0 branch np.where discards, or a trial point's tiny E
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(alpha > 0, alpha * np.maximum(cons, 1e-300) ** (r[:, None] - 1.0), 0.0)


def nash_residuals(economy: Economy, bids: FloatArray, offers: FloatArray, v: FloatArray,
                   participants: BoolArray) -> FloatArray:
    """Each participant's largest relative residual of its Nash first-order conditions.

    Standard agent ``h``: the multipliers implied by every post it values,
    ``λ^t = u_t Q^t B_{-h}^t/(B^t)^2`` (10) and
    ``λ^0 = u_0 Ω B_{-h}^0/(B^0)^2 · Ω/Ω_{-h}`` (11), must agree; posts it does not
    value must give exactly its verification (``E^t = 0``); budget (1) binds.
    Producer ``j``: ``λ^t = u_t Q^t B_{-j}^t/(B^t)^2 · Q^t/Q_{-j}^t`` (12) agree,
    (13) or (with ``α^0 = 0``) the input bought equals ``Σφ + ρK``; (15) with
    ``μ^t ≥ 0`` only where ``q^t = K`` (16); in the long run ``Σ_t μ^t = ν ρ``;
    budget (3) binds. Residuals are relative to the size of the terms.

    Returns
    -------
    ndarray (N,)
        0 for agents outside ``participants``.
    """
    arr = economy.arrays
    out = settle(bids, offers)
    B, Q = out.B, out.Q
    cons = consumption(out.allocations, offers, arr, economy.schedule, v, participants)
    mu = _marginal_utility(cons, arr.alpha, arr.r)
    R = B[None, :] - bids
    S = Q[None, :] - offers
    res = np.zeros(economy.N)
    with np.errstate(divide="ignore", invalid="ignore"):
        price_effect = Q[None, :] * R / (B[None, :] ** 2)  # ∂x^t/∂b^t
    for i in (int(k) for k in np.nonzero(participants)[0]):
        al = arr.alpha[i]
        valued = al > 0
        terms: list[float] = []
        if not arr.producer[i]:
            lam_t = mu[i] * price_effect[i]
            lam_t[0] = lam_t[0] * Q[0] / S[i, 0] if valued[0] else 0.0
            lams = lam_t[valued]
            lam = float(lams.mean())
            terms.extend(np.abs(lams / lam - 1.0))
            x = out.allocations[i, 1:]
            zero_post = ~valued[1:] & (x > 0)
            terms.extend(np.abs(cons[i, 1:][zero_post]) / x[zero_post])
            income = B[0] * arr.omega[i] / Q[0]
            terms.append(abs(bids[i].sum() - income) / income)
        else:
            wedge = S[i, 1:] / Q[1:]
            lam_t = mu[i, 1:] * price_effect[i, 1:] / wedge
            v1 = valued[1:]
            lam0 = mu[i, 0] * price_effect[i, 0] if valued[0] else np.nan
            lams = np.concatenate((lam_t[v1], [lam0] if valued[0] else []))
            lam = float(lams.mean())
            terms.extend(np.abs(lams / lam - 1.0))
            need = input_requirement(offers[i:i + 1], _row(arr, i))[0]
            if not valued[0]:
                terms.append(abs(out.allocations[i, 0] - need) / max(need, 1e-300))
                nu = lam * B[0] ** 2 / (Q[0] * R[i, 0])
            else:
                nu = float(mu[i, 0])
            q = offers[i, 1:]
            th, c = arr.theta[i], arr.c[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                mu_eff = lam * wedge * B[1:] ** 2 / (Q[1:] * R[i, 1:])
                lhs = mu_eff * bids[i, 1:] / B[1:] + lam * B[1:] * S[i, 1:] / Q[1:] ** 2
                mc = nu * (1.0 / (c * th)) * (q / th) ** ((1.0 - c) / c)
            rent = lhs - mc
            K = capacity(offers[i:i + 1], _row(arr, i))[0]
            at_cap = q >= K * (1.0 - 1e-9)
            interior = (q > 0) & ~at_cap
            terms.extend(np.abs(rent[interior]) / lhs[interior])
            terms.extend(np.maximum(-rent[at_cap & (q > 0)], 0.0) / lhs[at_cap & (q > 0)])
            terms.extend(np.maximum(rent[q <= 0], 0.0) / lhs[q <= 0])
            if arr.long_run[i] and K > 0:
                total = float(rent[at_cap].sum())
                terms.append(abs(total - nu * arr.rho[i]) / (nu * arr.rho[i]))
            revenue = float((q * out.prices[1:]).sum())
            terms.append(abs(bids[i].sum() - revenue) / revenue)
        res[i] = max(terms) if terms else 0.0
    return res


def _row(arr: AgentArrays, i: int) -> AgentArrays:
    """The :class:`AgentArrays` restricted to row ``i`` (keeps 1-row shapes)."""
    from dataclasses import fields, replace

    return replace(arr, **{f.name: getattr(arr, f.name)[i:i + 1] for f in fields(arr)})


def evaluate_profile(economy: Economy, bids: FloatArray, offers: FloatArray, *, v: FloatArray,
                     participants: BoolArray, kind: str, iterations: int, converged: bool,
                     message: str = "", residuals: FloatArray | None = None) -> Equilibrium:
    """Outcome of a profile as an :class:`Equilibrium` (residuals: Nash FOCs unless given)."""
    arr = economy.arrays
    out = settle(bids, offers)
    cons = consumption(out.allocations, offers, arr, economy.schedule, v, participants)
    util = np.where(participants, utility_values(cons, arr), -np.inf)
    if residuals is None:
        residuals = nash_residuals(economy, bids, offers, v, participants)
    return Equilibrium(
        kind=kind, prices=out.prices, relative_prices=out.prices / out.prices[0],
        bids=bids, offers=offers, allocations=out.allocations,
        inputs=np.where(participants, input_requirement(offers, arr), 0.0),
        capacity=np.where(participants, capacity(offers, arr), 0.0),
        verification=np.asarray(v, dtype=float), consumption=cons, utility=util,
        priced_out=~participants, residuals=residuals, iterations=iterations,
        converged=bool(converged and np.all(residuals[participants] <= 1e-9)), message=message)


# ------------------------------------------------------------------------ is_nash
def is_nash(economy: Economy, bids: FloatArray, offers: FloatArray, *,
            v: FloatArray | None = None, participants: BoolArray | None = None,
            starts: int = 4, seed: int = 0) -> NashCheck:
    """Largest relative utility gain any agent gets by deviating alone.

    For every participant the deviation problem — maximise utility over its
    own bids (and a producer's offers, and its long-run capacity) subject to
    its budget (1)/(3), non-negative consumption and, for a producer, the
    input it buys covering ``Σφ + ρK`` — is solved with SLSQP over the logs of
    its choice variables, from the profile itself and ``starts − 1`` random
    perturbations of it. The gain is reported in consumption-equivalent terms
    (ratio of :func:`market.posts.utility_index` minus 1), so ``1e-9`` means the
    deviation is worth a 1e-9 share more of everything.

    Agents outside ``participants`` are checked for entry: a standard agent
    priced out must not be able to buy its verification electricity.

    An agent for which the search finds no feasible point at all (not even
    its own action) gets a gain of NaN, and ``max_gain`` is NaN: the check
    could not be made, so no comparison ``max_gain <= tol`` passes.

    Returns
    -------
    NashCheck
    """
    from market.bestresponse import action_utility, standard_entry_possible

    arr = economy.arrays
    N = economy.N
    v = economy.verification_energy() if v is None else np.asarray(v, dtype=float)
    part = np.ones(N, dtype=bool) if participants is None else np.asarray(participants, bool)
    bids = np.asarray(bids, dtype=float)
    offers = np.asarray(offers, dtype=float)
    B = bids[part].sum(axis=0)
    Q = offers[part].sum(axis=0)
    rng = np.random.default_rng(seed)
    gains = np.zeros(N)
    for i in range(N):
        if not part[i]:
            gains[i] = 1.0 if (not arr.producer[i] and standard_entry_possible(
                economy, i, B, Q, float(v[i]))) else 0.0
            continue
        R = B - bids[i]
        S = Q - offers[i]
        u0 = action_utility(economy, i, bids[i], offers[i], R, S, float(v[i]))
        best = _deviate(economy, i, bids[i], offers[i], R, S, float(v[i]), rng, starts)
        row = _row(arr, i)
        if best == -np.inf:
            # the search found no feasible point, not even the profile's own
            # action: nothing was checked, which must not read as "no gain"
            gains[i] = np.nan
            continue
        idx0 = utility_index(np.array([u0]), row)[0]
        idx1 = utility_index(np.array([max(best, u0)]), row)[0]
        gains[i] = idx1 / idx0 - 1.0
    worst = int(np.nanargmax(gains)) if not np.all(np.isnan(gains)) else 0
    if np.any(np.isnan(gains)):
        worst = int(np.flatnonzero(np.isnan(gains))[0])
    return NashCheck(gains=gains, max_gain=float(gains[worst]), worst_agent=worst)


def _deviate(economy: Economy, i: int, b: FloatArray, o: FloatArray, R: FloatArray, S: FloatArray,
             v: float, rng: np.random.Generator, starts: int) -> float:
    """Best utility agent ``i`` finds by SLSQP over its own (log) choices."""
    arr = economy.arrays
    T = economy.T
    producer = bool(arr.producer[i])
    long_run = producer and bool(arr.long_run[i])
    row = _row(arr, i)
    s = economy.schedule
    if producer:
        # variables: log b^0..b^T, log q^1..q^T, and in the long run log K with
        # q^t <= K as constraints (the epigraph of max_t q^t: a kink at tied
        # peaks, which defeats SLSQP's finite-difference gradients)
        parts = [np.maximum(b, 1e-12 * b.sum()), np.maximum(o[1:], 1e-12)]
        if long_run:
            parts.append(np.array([max(float(o[1:].max()), 1e-12)]))
        scale = np.concatenate(parts)
    else:
        valued0 = arr.alpha[i, 0] > 0
        scale = np.maximum(b, 1e-12 * b.sum())
        if not valued0:
            scale = scale[1:]

    def unpack(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        vals = scale * np.exp(np.minimum(z, 700.0))
        if producer:
            return vals[:T + 1], np.concatenate(([0.0], vals[T + 1:2 * T + 1]))
        bb = vals if arr.alpha[i, 0] > 0 else np.concatenate(([0.0], vals))
        return bb, o

    def need_of(z: FloatArray, oo: FloatArray) -> float:
        """Input ``Σ_t φ^t + ρK`` with the long-run ``K`` the variable itself."""
        if not long_run:
            return float(input_requirement(oo[None, :], row)[0])
        K = float(scale[-1] * np.exp(min(float(z[-1]), 700.0)))
        phi = (oo[1:] / arr.theta[i]) ** (1.0 / arr.c[i])
        return float(phi.sum()) + float(arr.rho[i]) * K

    def outcome(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        bb, oo = unpack(z)
        Bt = R + bb
        Qt = S + oo
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(Bt > 0, bb * Qt / np.where(Bt > 0, Bt, 1.0), 0.0)
        return bb, oo, x

    def objective(z: FloatArray) -> float:
        bb, oo, x = outcome(z)
        cons = x.copy()
        cons[1:] -= s * v
        cons[0] -= need_of(z, oo)
        u = float(utility_values(np.maximum(cons, 1e-300)[None, :], row)[0])
        return -u

    def constraints(z: FloatArray) -> FloatArray:
        bb, oo, x = outcome(z)
        Bt = R + bb
        Qt = S + oo
        if producer:
            income = float((oo[1:] * Bt[1:] / Qt[1:]).sum())
        else:
            income = float(Bt[0] * oo[0] / Qt[0])
        need = need_of(z, oo)
        rel = max(abs(income), 1e-300)
        cons = [(income - bb.sum()) / rel]
        e = (x[1:] - s * v) / np.maximum(x[1:], 1e-300)
        cons.extend(e)
        if producer:
            cons.append((x[0] - need) / max(need, 1e-300))
            if long_run:
                K = scale[-1] * np.exp(min(float(z[-1]), 700.0))
                cons.extend((K - oo[1:]) / K)
            elif np.isfinite(arr.K[i]):
                cons.extend((arr.K[i] - oo[1:]) / arr.K[i])
        return np.asarray(cons)

    best = -np.inf
    z0 = np.zeros(scale.size)
    for k in range(starts):
        start = z0 if k == 0 else z0 + rng.normal(0.0, 0.05 * k, size=z0.size)
        try:
            with np.errstate(all="ignore"):
                sol = optimize.minimize(objective, start, method="SLSQP",
                                        constraints=[{"type": "ineq", "fun": constraints}],
                                        options={"ftol": 1e-15, "maxiter": 500})
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            continue
        with np.errstate(all="ignore"):
            feasible = bool(np.all(constraints(sol.x) >= -1e-10))
        if feasible:
            best = max(best, -float(sol.fun))
    return best
