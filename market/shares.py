"""Closed forms shared by the Nash solver, the best response and the checks.

Two building blocks, both derived in ``docs/economics.md`` §2:

* :func:`post_share` — an agent's share ``y = b/B`` of a post's total bid
  that satisfies its first-order condition (10)/(12) *given the post's totals*
  ``(B, Q)`` and its budget multiplier ``λ``:
  ``α (yQ − r)^{ρ−1} (1 − y) = λ w p`` with ``p = B/Q``, ``r`` the quantity it
  must receive before it consumes (verification ``s^t v``, or a producer's
  input ``Φ`` on post 0), ``w`` the wedge of its own offer on the post
  (``Q_{-i}/Q``). For log utility (``ρ = 0``)
  ``y = (α + λ w p r) / (α + λ w B)``.
* :func:`best_bid` — the bid ``b`` that satisfies the same condition *given
  the others' total* ``R = B_{-i}`` (a true best response): for log utility the
  positive root of ``a b² + R(a − r) b − R(rR + αQ/λ) = 0``, ``a = Q − r``.
"""

from __future__ import annotations

import numpy as np

from market.model import FloatArray

_BISECT = 90


def post_share(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray, Q: FloatArray,
               lam: FloatArray, rho: FloatArray) -> FloatArray:
    """Share ``y`` of post ``t`` that meets the aggregative FOC (see module docstring).

    Parameters are broadcast together; ``lam = inf`` gives the least share
    that covers ``req`` (``y = r/Q``); ``α = 0`` gives ``y = r/Q`` too.
    ``rho`` is the CES exponent (0 = log).
    """
    alpha, req, w, B, Q, lam, rho = np.broadcast_arrays(alpha, req, w, B, Q, lam, rho)
    base = req / Q
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c = lam * w * B
        a = alpha * (1.0 - base)
        y_log = base + np.where(a > 0, a / (alpha + c), 0.0)
        y_log = np.where(np.isinf(lam) & (alpha > 0), base, y_log)
    if not np.any(rho != 0.0):
        return y_log
    ces = (rho != 0.0) & (alpha > 0) & np.isfinite(lam)
    y = y_log.copy()
    if np.any(ces):
        y[ces] = _ces_share(*(x[ces] for x in (alpha, req, w, B, Q, lam, rho, y_log)))[0]
    return y


def _ces_share(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray, Q: FloatArray,
               lam: FloatArray, rho: FloatArray, start: FloatArray) -> tuple[FloatArray, FloatArray]:
    """CES share by Newton's method in ``u = ln E``; also returns ``dy/d ln λ``.

    ``f(u) = ln α + (ρ−1) u + ln(1 − y) − ln(λ w p)``, ``y = (r + e^u)/Q``, is
    concave and decreasing in ``u``, so Newton's iterates converge
    monotonically after the first step (steps past ``y = 1`` are halved back).
    """
    umax = np.log(Q - req)
    u = np.log(np.clip(start * Q - req, 1e-300, None))
    u = np.minimum(u, umax - 1e-12)
    target = np.log(lam * w * B / Q) - np.log(alpha)
    fu = np.ones_like(u)
    for _ in range(100):
        E = np.exp(u)
        one_minus_y = (Q - req - E) / Q
        f = (rho - 1.0) * u + np.log(one_minus_y) - target
        fu = (rho - 1.0) - E / (Q * one_minus_y)
        new = u - f / fu
        new = np.where(new >= umax, 0.5 * (u + umax), new)
        done = np.abs(new - u) <= 1e-14 * np.maximum(1.0, np.abs(u))
        u = new
        if done.all():
            break
    E = np.exp(u)
    return (req + E) / Q, (E / Q) / fu


def best_bid(alpha: FloatArray, req: FloatArray, Q: FloatArray, R: FloatArray, lam: FloatArray,
             rho: FloatArray) -> FloatArray:
    """Bid ``b`` meeting ``α u'(E) Q R / (R + b)² = λ`` with ``E = bQ/(R+b) − r`` (eq. 10).

    For log utility the positive root of
    ``(Q − r) b² + R(Q − 2r) b − R(rR + αQ/λ) = 0``; for CES a bisection
    (the left side decreases in ``b``). ``λ = inf`` or ``α = 0`` give the
    least bid that buys ``r``: ``b = rR/(Q − r)``. Requires ``Q > r``, ``R > 0``.
    """
    alpha, req, Q, R, lam, rho = np.broadcast_arrays(alpha, req, Q, R, lam, rho)
    a = Q - req
    bmin = req * R / a
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        k = np.where(alpha > 0, alpha * Q / lam, 0.0)
        lin = R * (a - req)
        const = R * (req * R + k)
        disc = lin * lin + 4.0 * a * const
        # numerically stable positive root: 2 const / (sqrt(disc) + lin) when lin > 0
        root = np.where(lin > 0, 2.0 * const / (np.sqrt(disc) + lin),
                        (np.sqrt(disc) - lin) / (2.0 * a))
    b = np.where((alpha > 0) & np.isfinite(lam), root, bmin)
    ces = (rho != 0.0) & (alpha > 0) & np.isfinite(lam)
    if np.any(ces):
        al, rq, QQ, RR, la, ro, bm = (x[ces] for x in (alpha, req, Q, R, lam, rho, bmin))
        lo = bm.copy()
        hi = np.maximum(bm * 2.0 + RR, RR)

        def f(bb: FloatArray) -> FloatArray:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                E = np.maximum(bb * QQ / (RR + bb) - rq, 1e-300)
                return al * E ** (ro - 1.0) * QQ * RR / (RR + bb) ** 2 - la

        for _ in range(200):
            grow = f(hi) > 0
            if not grow.any():
                break
            hi = np.where(grow, hi * 2.0, hi)
        for _ in range(_BISECT + 40):
            mid = 0.5 * (lo + hi)
            pos = f(mid) > 0
            lo = np.where(pos, mid, lo)
            hi = np.where(pos, hi, mid)
        b = b.copy()
        b[ces] = 0.5 * (lo + hi)
    return b
