"""Who takes part: agents priced out by verification electricity, and their return.

An agent that cannot buy its verification electricity ``s^t v`` out of its
income abstains (paper eq. 2 with SPEC §3). Both solvers iterate on the set
of participants: who cannot pay leaves (when several cannot, only the
worse-off half this round, to avoid overshooting), who could pay again
returns, and a set seen twice is an entry and exit cycle. The pieces of that
loop are here; each solver decides what "cannot pay" and "surplus" mean in
its model (strategic in :mod:`market.nash`, price-taking in
:mod:`market.competitive`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from market.errors import SolverError
from market.model import BoolArray, FloatArray

IntArray = npt.NDArray[np.intp]


def entry_possible(omega: FloatArray, req: FloatArray, B: FloatArray, Q: FloatArray) -> BoolArray:
    """Whether standard agents outside the market could buy their verification (eq. 2).

    Entering with ``ω_h`` an agent earns ``B^0 ω_h/(Q^0 + ω_h)``; buying
    ``s^t v`` on post ``t`` against the others' bids ``B^t`` costs
    ``s^t v B^t/(Q^t − s^t v)``, impossible where ``Q^t ≤ s^t v`` (and
    ``s^t v > 0``). Entry is possible when the cost is below the income.

    Parameters
    ----------
    omega : ndarray (n,) or float
        Endowments ``ω_h``.
    req : ndarray (n, T) or (T,)
        Verification electricity per post, ``s^t v_h``.
    B, Q : ndarray (T+1,)
        The others' totals (``Q^0 = Ω``).

    Returns
    -------
    ndarray of bool (n,) (a 0-d array for a single agent)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        blocked = np.any((req > 0) & (Q[1:] <= req), axis=-1)
        cost = np.where(req > 0, req * B[1:] / np.where(req > 0, Q[1:] - req, 1.0), 0.0).sum(axis=-1)
    income = B[0] * omega / (Q[0] + omega)
    return np.asarray(~blocked & (cost < income))


def price_taking_entry_possible(omega: FloatArray, req: FloatArray, prices: FloatArray) -> BoolArray:
    """Whether price-taking standard agents outside could pay for their verification.

    Income ``p^0 ω_h`` against the cost ``Σ_t p^t s^t v_h`` at the given prices
    (the competitive benchmark's counterpart of :func:`entry_possible`).

    Parameters
    ----------
    omega : ndarray (n,)
    req : ndarray (n, T)
    prices : ndarray (T+1,)
    """
    return np.asarray(prices[0] * omega > (req * prices[None, 1:]).sum(axis=1))


def worse_off_half(ranking: FloatArray, count: int) -> IntArray:
    """Positions of the ``max(1, ⌈count/2⌉)`` lowest entries of ``ranking``.

    When ``count`` agents cannot pay, only this half (the worst off by
    ``ranking``, usually their surplus) leaves this round: the others' prices
    fall as they go, and some of the rest may then afford to stay.
    """
    k = max(1, (count + 1) // 2)
    return np.argsort(ranking)[:k]


class ParticipantHistory:
    """The participant sets a solver has tried; one seen twice is an entry and exit cycle."""

    def __init__(self, message: str) -> None:
        self._seen: set[bytes] = set()
        self._message = message

    def record(self, participants: BoolArray) -> None:
        """Remember ``participants``; raise :class:`SolverError` if it was seen before."""
        key = participants.tobytes()
        if key in self._seen:
            raise SolverError(self._message)
        self._seen.add(key)
