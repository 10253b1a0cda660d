"""Trading-post arithmetic in floats (paper §2.0.3–2.0.4): the one place for it.

A profile is a pair of ``(N, T+1)`` arrays: ``bids[i, t] = b_i^t`` (bytecoins)
and ``offers[i, t]`` (``ω_h`` at post 0 for a standard agent, ``q_j^t`` at
post ``t ≥ 1`` for a producer). Totals ``B^t = Σ_i b_i^t`` and ``Q^t = Σ_i offers_i^t``
(``Q^0 = Ω``); prices ``p^t = B^t/Q^t``; allocations (5)–(8)
``x_i^t = b_i^t Q^t / B^t = b_i^t / p^t``. A post with no bids or no offers is
inactive: no trade there (allocation 0, price ``nan``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from market.model import AgentArrays, BoolArray, FloatArray


@dataclass(frozen=True)
class PostOutcome:
    """What the posts do with a profile.

    Attributes
    ----------
    B, Q : ndarray, shape (T+1,)
        Total bids and total offers per post (``Q[0] = Ω``).
    prices : ndarray, shape (T+1,)
        ``p^t = B^t/Q^t`` (``nan`` on inactive posts).
    active : ndarray of bool, shape (T+1,)
    allocations : ndarray, shape (N, T+1)
        ``x_i^t`` (eqs 5–8 before the producer's input is taken out).
    revenue : ndarray, shape (N,)
        ``Σ_t p^t · offers_i^t`` (bytecoins received for the offers).
    """

    B: FloatArray
    Q: FloatArray
    prices: FloatArray
    active: BoolArray
    allocations: FloatArray
    revenue: FloatArray


def settle(bids: FloatArray, offers: FloatArray) -> PostOutcome:
    """Clear every post: prices ``p = B/Q`` and allocations (5)–(8).

    Parameters
    ----------
    bids, offers : ndarray, shape (N, T+1)

    Returns
    -------
    PostOutcome
    """
    B = bids.sum(axis=0)
    Q = offers.sum(axis=0)
    active = (B > 0) & (Q > 0)
    safe_B = np.where(active, B, 1.0)
    prices = np.where(active, B / np.where(active, Q, 1.0), np.nan)
    alloc = np.where(active, bids * (np.where(active, Q, 0.0) / safe_B), 0.0)
    revenue = (offers * np.where(active, prices, 0.0)).sum(axis=1)
    return PostOutcome(B, Q, prices, active, alloc, revenue)


def producer_inputs(offers: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Input of the good each period, ``φ_j^t = (q_j^t/θ_j^t)^{1/c_j}`` (eq. 17; 0 for standard agents).

    Returns
    -------
    ndarray, shape (N, T)
    """
    q = offers[:, 1:]
    theta = np.where(arrays.producer[:, None], arrays.theta, 1.0)
    phi = (np.maximum(q, 0.0) / theta) ** (1.0 / arrays.c[:, None])
    return np.where(arrays.producer[:, None], phi, 0.0)


def capacity(offers: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Capacity in use: the given ``K`` (short run) or ``K = max_t q^t`` (long run); 0 for standard agents."""
    kmax = offers[:, 1:].max(axis=1) if offers.shape[1] > 1 else np.zeros(offers.shape[0])
    return np.where(arrays.producer, np.where(arrays.long_run, kmax, arrays.K), 0.0)


def input_requirement(offers: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Good a producer needs for its offers: ``Σ_t φ^t + ρ K`` (long run); 0 for standard agents."""
    return producer_inputs(offers, arrays).sum(axis=1) + np.where(
        arrays.long_run, arrays.rho * capacity(offers, arrays), 0.0)


def consumption(allocations: FloatArray, offers: FloatArray, arrays: AgentArrays,
                schedule: FloatArray, v: FloatArray, participants: BoolArray) -> FloatArray:
    """Consumption: ``E^t = x^t − s^t v`` (t ≥ 1, §3) and the good consumed at post 0.

    The good consumed is ``x_h^0`` for a standard agent and
    ``x_j^0 − Σ_t φ_j^t − ρK`` for a producer (eq. 8). Agents outside
    ``participants`` consume nothing and pay no verification.

    Returns
    -------
    ndarray, shape (N, T+1)
    """
    cons = allocations.copy()
    cons[:, 1:] -= schedule[None, :] * v[:, None]
    cons[:, 0] -= input_requirement(offers, arrays)
    return np.where(participants[:, None], cons, 0.0)


def utility_values(consumption: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Utility of each agent: ``Σ α^t ln E^t`` (log) or ``(Σ α^t E_t^r)^{1/r}`` (CES).

    Posts with ``α^t = 0`` do not count. A non-positive consumption on a post
    that counts gives ``-inf`` (log) or the CES limit.

    Returns
    -------
    ndarray, shape (N,)
    """
    alpha = arrays.alpha
    counts = alpha > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(counts, np.log(np.where(counts, np.maximum(consumption, 0.0), 1.0)), 0.0)
        log_u = (alpha * logs).sum(axis=1)
        r = np.where(arrays.r == 0.0, 1.0, arrays.r)
        powers = np.where(counts, np.maximum(consumption, 0.0) ** r[:, None], 0.0)
        ces_u = (alpha * powers).sum(axis=1) ** (1.0 / r)
    return np.where(arrays.r == 0.0, log_u, ces_u)


def utility_index(u: FloatArray, arrays: AgentArrays) -> FloatArray:
    """A utility index homogeneous of degree one in consumption.

    ``exp(u / Σα)`` for log utility, ``u`` itself for CES. Ratios of this
    index are consumption equivalents: an index 1% higher is worth the same as
    1% more of everything; :func:`market.check.is_nash` reports gains in it.
    """
    total = arrays.alpha.sum(axis=1)
    with np.errstate(over="ignore"):
        return np.where(arrays.r == 0.0, np.exp(u / total), u)
