"""Outcome of a profile and its first-order residuals.

* :func:`evaluate_profile` turns bids and offers into an
  :class:`~market.results.Equilibrium` (prices, allocations, consumption,
  utility); every solver builds its result with it.
* :func:`nash_residuals` recomputes every agent's Nash first-order conditions
  (10)–(17) from the profile alone.
* :func:`marginal_utility` is the ``∂Ũ/∂E`` both residual checks use.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from market.model import BoolArray, Economy, FloatArray
from market.posts import (
    capacity,
    consumption,
    expected_utility,
    input_requirement,
    marginal_cost,
    settle,
    utility_values,
)
from market.results import Equilibrium


def marginal_utility(cons: FloatArray, alpha: FloatArray, r: FloatArray) -> FloatArray:
    """``∂Ũ/∂E`` of the transformed utility ``Σ α ln E`` (log) or ``Σ α E^r / r`` (CES)."""
    # over/divide: the α = 0 branch np.where discards, or a trial point's tiny E
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(alpha > 0, alpha * np.maximum(cons, 1e-300) ** (r[:, None] - 1.0), 0.0)


def state_consumption(economy: Economy, cons: FloatArray, v: FloatArray,
                      participants: BoolArray) -> tuple[FloatArray, FloatArray] | None:
    """Consumption in each verification state when ``κ`` is uncertain, else None.

    ``cons`` is :func:`market.posts.consumption` at the mean verification ``v``
    (the expected consumption: ``Σ_k π_k f_k = 1``); state ``k`` takes
    ``s^t v (f_k − 1)`` more off every electricity post. Returns
    ``(cons_k, π)``, shapes ``(K, N, T+1)`` and ``(K,)``.
    """
    states = economy.kappa_states
    if states is None:
        return None
    f, probs = states.factors()
    extra = economy.schedule[None, None, :] * (np.asarray(v, float)[None, :, None]
                                               * (f - 1.0)[:, None, None])
    cs = np.repeat(cons[None], f.size, axis=0)
    cs[:, :, 1:] -= np.where(participants[None, :, None], extra, 0.0)
    return cs, probs


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
    eu = state_consumption(economy, cons, v, participants)
    if eu is None:
        mu = marginal_utility(cons, arr.alpha, arr.r)
        cons_hat = cons
    else:  # expected marginal utility; a post not valued leaves nothing in the dearest state
        mu = np.tensordot(eu[1], np.stack([marginal_utility(c, arr.alpha, arr.r) for c in eu[0]]),
                          axes=1)
        cons_hat = eu[0].min(axis=0)
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
            terms.extend(np.abs(cons_hat[i, 1:][zero_post]) / x[zero_post])
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
            need = input_requirement(offers[i:i + 1], arr.row(i))[0]
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
                mc = marginal_cost(nu, q, th, c)
            rent = lhs - mc
            K = capacity(offers[i:i + 1], arr.row(i))[0]
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


def _how_off(r: float) -> str:
    """A relative residual in words (an infinite one divides by an income of zero)."""
    if np.isnan(r):
        return "its conditions cannot be evaluated there"
    if np.isinf(r):
        return "it earns nothing there, yet bids or its conditions need an income"
    return f"off by {r:.3g}"


def _failing_conditions(economy: Economy, residuals: FloatArray, failing: npt.NDArray[np.intp],
                        kind: str) -> str:
    """Which participants' optimality conditions fail at a profile, worst first, in words
    (the Nash first-order conditions, or price-taking optimality for the benchmark)."""
    agents = economy.agents()
    order = failing[np.argsort(-np.nan_to_num(residuals[failing], nan=np.inf))]
    named = [f"{agents[i].id} ({_how_off(float(residuals[i]))})" for i in order[:5]]
    conditions = ("price-taking conditions (demand, supply and budgets at the prices)"
                  if kind == "competitive" else "first-order conditions (10)-(17)")
    return (f"not an equilibrium to 1e-9: the {conditions} fail for "
            f"{failing.size} agent(s) at the profile found: {', '.join(named)}"
            f"{', ...' if failing.size > 5 else ''}")


def evaluate_profile(economy: Economy, bids: FloatArray, offers: FloatArray, *, v: FloatArray,
                     participants: BoolArray, kind: str, iterations: int, converged: bool,
                     message: str = "", residuals: FloatArray | None = None,
                     method: str = "aggregate") -> Equilibrium:
    """Outcome of a profile as an :class:`Equilibrium` (residuals: Nash FOCs unless given)."""
    arr = economy.arrays
    out = settle(bids, offers)
    cons = consumption(out.allocations, offers, arr, economy.schedule, v, participants)
    eu = state_consumption(economy, cons, v, participants)
    util = np.where(participants, utility_values(cons, arr) if eu is None
                    else expected_utility(eu[0], eu[1], arr), -np.inf)
    if residuals is None:
        with np.errstate(divide="ignore", invalid="ignore"):  # an income of 0: an infinite residual
            residuals = nash_residuals(economy, bids, offers, v, participants)
    failing = np.nonzero(participants & ~(residuals <= 1e-9))[0]
    if converged and failing.size:
        # the solver's own stopping rule was met but the profile's conditions are not:
        # say which agents' conditions fail, not the solver's message ("converged")
        message = _failing_conditions(economy, residuals, failing, kind) + f" (the solver stopped with: {message})"
    return Equilibrium(
        kind=kind, prices=out.prices, relative_prices=out.prices / out.prices[0],
        bids=bids, offers=offers, allocations=out.allocations,
        inputs=np.where(participants, input_requirement(offers, arr), 0.0),
        capacity=np.where(participants, capacity(offers, arr), 0.0),
        verification=np.asarray(v, dtype=float), consumption=cons, utility=util,
        priced_out=~participants, residuals=residuals, iterations=iterations,
        converged=bool(converged and np.all(residuals[participants] <= 1e-9)), message=message,
        method=method)
