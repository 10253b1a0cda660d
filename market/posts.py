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
from typing import overload

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


#: A scalar or an array: the technology functions broadcast. (Their overloads
#: say float in, float out; numpy's float64 array is no float, but mypy cannot
#: tell the two apart in an overload, hence the ``overload-overlap`` ignores.)
_Real = float | FloatArray


# ------------------------------------------------------------------ technology
# The producer's technology q = θ φ^c (SPEC §1) and what follows from it, written
# once. Every function takes scalars or numpy arrays (broadcast together) and
# evaluates its formula in one fixed order: callers rely on bit-identical values.
# They are defined for q ≥ 0; a caller whose q may be negative (a trial point)
# clips it explicitly (``phi(np.maximum(q, 0.0), θ, c)``).

@overload
def phi(q: float, theta: float, c: float) -> float: ...  # type: ignore[overload-overlap]


@overload
def phi(q: _Real, theta: _Real, c: _Real) -> FloatArray: ...


def phi(q: _Real, theta: _Real, c: _Real) -> _Real:
    """Input requirement ``φ(q) = (q/θ)^{1/c}``: good needed to produce ``q`` (eq. 17).

    Parameters
    ----------
    q : float or ndarray
        Output (kWh), ``q ≥ 0``.
    theta : float or ndarray
        Productivity ``θ > 0``.
    c : float or ndarray
        Returns-to-scale exponent ``c > 0``.

    Returns
    -------
    float or ndarray
        ``(q/θ) ** (1/c)``, broadcast over the arguments.
    """
    return (q / theta) ** (1.0 / c)


@overload
def dphi(q: float, theta: float, c: float) -> float: ...  # type: ignore[overload-overlap]


@overload
def dphi(q: _Real, theta: _Real, c: _Real) -> FloatArray: ...


def dphi(q: _Real, theta: _Real, c: _Real) -> _Real:
    """Marginal input ``φ'(q) = (1/(cθ)) (q/θ)^{(1−c)/c}`` (eq. 15).

    ``q = 0`` gives 0 for ``c < 1`` and ``inf`` for ``c > 1`` (no warning).

    Returns
    -------
    float or ndarray
        ``(1/(c θ)) * (q/θ) ** ((1 − c)/c)``, broadcast over the arguments.
    """
    with np.errstate(divide="ignore"):
        return (1.0 / (c * theta)) * (q / theta) ** ((1.0 - c) / c)


@overload
def marginal_cost(price: float, q: float, theta: float, c: float) -> float: ...  # type: ignore[overload-overlap]


@overload
def marginal_cost(price: _Real, q: _Real, theta: _Real, c: _Real) -> FloatArray: ...


def marginal_cost(price: _Real, q: _Real, theta: _Real, c: _Real) -> _Real:
    """Marginal cost of output in money, ``price · φ'(q)`` (the right side of eq. 15).

    Evaluated as ``price * (1/(cθ)) * (q/θ)^{(1−c)/c}`` (left to right, not
    ``price * dphi(q)``: the rounding of every residual stays as it was).
    """
    with np.errstate(divide="ignore"):
        return price * (1.0 / (c * theta)) * (q / theta) ** ((1.0 - c) / c)


@overload
def production(inp: float, theta: float, c: float) -> float: ...  # type: ignore[overload-overlap]


@overload
def production(inp: _Real, theta: _Real, c: _Real) -> FloatArray: ...


def production(inp: _Real, theta: _Real, c: _Real) -> _Real:
    """Output from an input of the good, ``q = θ φ^c`` (the inverse of :func:`phi`)."""
    return theta * inp ** c


def producer_inputs(offers: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Input of the good each period, ``φ_j^t = (q_j^t/θ_j^t)^{1/c_j}`` (eq. 17; 0 for standard agents).

    Negative offers count as 0.

    Returns
    -------
    ndarray, shape (N, T)
    """
    q = offers[:, 1:]
    theta = np.where(arrays.producer[:, None], arrays.theta, 1.0)
    inputs = phi(np.maximum(q, 0.0), theta, arrays.c[:, None])
    return np.where(arrays.producer[:, None], inputs, 0.0)


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
    1% more of everything; :func:`market.verify.is_nash` reports gains in it.
    """
    total = arrays.alpha.sum(axis=1)
    with np.errstate(over="ignore"):
        return np.where(arrays.r == 0.0, np.exp(u / total), u)


def expected_utility(consumption: FloatArray, probs: FloatArray, arrays: AgentArrays) -> FloatArray:
    """Expected utility over verification states (uncertain ``κ``, :mod:`market.kappa`).

    ``Σ_k π_k Σ_t α^t ln E_k^t`` (log) or ``Σ_k π_k Σ_t α^t (E_k^t)^r / r``
    (CES: the expectation of the additive form whose certain maximiser is the
    CES utility's, and which tends to the log form as ``r → 0``, since
    ``(E^r − 1)/r → ln E``). :func:`expected_utility_index` turns it into
    consumption-equivalent units.

    Parameters
    ----------
    consumption : ndarray, shape (K, N, T+1)
        Consumption in each state.
    probs : ndarray, shape (K,)
    arrays : AgentArrays

    Returns
    -------
    ndarray, shape (N,)
    """
    alpha = arrays.alpha
    counts = alpha > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = np.where(counts[None], np.maximum(consumption, 0.0), 1.0)
        log_u = (alpha[None] * np.where(counts[None], np.log(c), 0.0)).sum(axis=2)
        r = np.where(arrays.r == 0.0, 1.0, arrays.r)
        ces_u = (alpha[None] * np.where(counts[None], c ** r[None, :, None], 0.0)).sum(axis=2) / r[None, :]
        u = np.where(arrays.r[None, :] == 0.0, log_u, ces_u)
    return np.asarray(probs, dtype=float) @ u


def expected_utility_index(u: FloatArray, arrays: AgentArrays) -> FloatArray:
    """:func:`expected_utility` as an index homogeneous of degree one in consumption.

    ``exp(u / Σα)`` (log, as :func:`utility_index`) or ``(r u)^{1/r}`` (CES:
    with one state, the CES utility ``(Σ α E^r)^{1/r}`` itself).
    """
    total = arrays.alpha.sum(axis=1)
    r = np.where(arrays.r == 0.0, 1.0, arrays.r)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.where(arrays.r == 0.0, np.exp(u / total), (r * u) ** (1.0 / r))
