"""Result dataclasses of the solvers (Nash, competitive, best response, Nash check)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from market.model import BoolArray, FloatArray


@dataclass(frozen=True)
class Action:
    """One agent's static best response in the market game.

    Attributes
    ----------
    bids : ndarray, shape (T+1,)
        ``[b^0, b^1, ..., b^T]`` in bytecoins.
    offers : ndarray, shape (T+1,)
        ``[ω, 0, ..., 0]`` for a standard agent, ``[0, q^1, ..., q^T]`` for a producer
        (all zero when priced out).
    utility : float
        Utility reached (``-inf`` when priced out).
    priced_out : bool
        The agent cannot buy its verification electricity: it abstains.
    """

    bids: FloatArray
    offers: FloatArray
    utility: float
    priced_out: bool


@dataclass(frozen=True)
class Equilibrium:
    """A Nash or competitive equilibrium of an economy (arrays indexed by agent, then post).

    Attributes
    ----------
    kind : str
        ``"nash"`` or ``"competitive"``.
    prices : ndarray, shape (T+1,)
        ``[p^0, ..., p^T]`` in bytecoins per unit, on the normalisation
        ``Σ_t B^t = Σ_i m_i`` (participants' bytecoin supply, SPEC §4).
    relative_prices : ndarray, shape (T+1,)
        ``p^t / p^0``: prices in units of the good (the paper's renormalisation).
    bids, offers, allocations : ndarray, shape (N, T+1)
    inputs : ndarray, shape (N,)
        Good used as input, ``Σ_t φ_j^t + ρ K_j`` (0 for standard agents).
    capacity : ndarray, shape (N,)
        ``K_j`` in use (given, or chosen in the long run; 0 for standard agents).
    verification : ndarray, shape (N,)
        ``v_i`` (kWh per order; the verification electricity of a participant).
    consumption : ndarray, shape (N, T+1)
        ``E^t = x^t − s^t v`` for ``t ≥ 1``; good consumed at 0.
    utility : ndarray, shape (N,)
    priced_out : ndarray of bool, shape (N,)
    residuals : ndarray, shape (N,)
        Each agent's largest relative residual of its first-order conditions
        (10)–(17) and budget (Nash), or of price-taking optimality (competitive).
    iterations : int
        Outer iterations (function evaluations of the aggregate system).
    converged : bool
    message : str
    method : str
        How it was found: ``"aggregate"`` (the first-order system, every
        agent's conditions solved together) or ``"best-response"`` (increasing
        returns: a best-response iteration whose producers' best responses are
        the best of several local searches, so not guaranteed global).
    """

    kind: str
    prices: FloatArray
    relative_prices: FloatArray
    bids: FloatArray
    offers: FloatArray
    allocations: FloatArray
    inputs: FloatArray
    capacity: FloatArray
    verification: FloatArray
    consumption: FloatArray
    utility: FloatArray
    priced_out: BoolArray
    residuals: FloatArray
    iterations: int
    converged: bool
    message: str = ""
    method: str = "aggregate"

    @property
    def max_residual(self) -> float:
        """Largest first-order residual over participants (0 if none)."""
        r = self.residuals[~self.priced_out]
        return float(r.max()) if r.size else 0.0

    @property
    def verification_share(self) -> FloatArray:
        """Share of each period's electricity used for verification, ``Σ_i V_i^t / Q^t`` (shape (T,))."""
        Q = self.offers[:, 1:].sum(axis=0)
        V = self.allocations[:, 1:] - self.consumption[:, 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(Q > 0, V.sum(axis=0) / np.where(Q > 0, Q, 1.0), 0.0)


@dataclass(frozen=True)
class NashCheck:
    """Result of :func:`market.verify.is_nash`.

    Attributes
    ----------
    gains : ndarray, shape (N,)
        Each agent's relative gain from its best unilateral deviation, in
        consumption-equivalent terms (see :func:`market.posts.utility_index`);
        ``<= 0`` means no profitable deviation was found; NaN means the
        search found no feasible point for that agent (nothing was checked).
    max_gain : float
        The largest gain, or NaN if any agent could not be checked.
    worst_agent : int
        The agent with ``max_gain`` (the first unchecked one if any).
    """

    gains: FloatArray
    max_gain: float
    worst_agent: int
