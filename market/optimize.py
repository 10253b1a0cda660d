"""A box-constrained maximiser for the producer's best response: projected BFGS.

Kept apart from the economics: it knows nothing of markets, only of a
function that returns ``(value, gradient)`` or ``None`` where a point is infeasible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from market.model import FloatArray


#: Where the predicted rise ``g·s`` of a step is below this many units of
#: rounding in the value, value comparisons are noise: a step is accepted on
#: its slope alone if the value has not fallen by more than that either.
_FLAT = 64.0

#: The line search shrinks a step that overshot the top by at least this factor
#: (a 10%-of-the-point first step from an optimal start needs ~1e-9).
_SHRINK_MIN = 1e-8

#: Trial steps of one line search (halvings from 1 reach 2**-60 ≈ 1e-18): when
#: none is accepted the search stops and reports its stationarity (``kkt``).
_LINE_SEARCH_MAXITER = 60


def maximise_box(fun: Callable[[FloatArray], tuple[float, FloatArray] | None], x0: FloatArray,
                 lo: FloatArray, hi: FloatArray, maxiter: int = 500,
                 stop: Callable[[FloatArray, float], bool] | None = None,
                 ) -> tuple[FloatArray, float, float] | None:
    """Maximise ``fun`` over the box ``[lo, hi]``: projected BFGS with a backtracking line search.

    ``fun(x)`` returns ``(value, gradient)``, or ``None`` where the point is
    infeasible (the producer cannot pay for its input and verification).
    An infeasible trial step is halved, so the search never leaves the
    feasible set. (scipy's L-BFGS-B takes a fixed first step; when that step
    landed outside, it stopped at its start and agents kept a non-best
    response.) A trial step that fails because it overshot the top (the
    slope along it turned negative, ``g_new·s < 0 < g·s``) is cut to where
    the slope, interpolated linearly, vanishes: ``t ← t g·s/(g·s − g_new·s)``,
    at most ``t/2`` and at least ``t·1e-8`` (from a start at the optimum the
    10% first step needs ~1e-9, which halving took ~30 evaluations to find).
    The BFGS update uses the change of the gradient on the free variables
    only.

    A step ``s`` is accepted when the value rises by ``1e-4 g·s`` (less
    rounding) and the slope along it has not turned strongly negative
    (``g_new·s ≥ −0.9 g·s``, Wolfe's curvature condition): near the top the
    value is flat to rounding, and the slope is what locates the maximum
    (to ~1e-12 relative rather than ~√ε). Where even the predicted rise
    ``g·s`` is below ``_FLAT`` units of rounding, the value cannot tell a
    better point from a worse one: the step is then accepted on the slope
    condition alone, provided the value has not fallen by more than that
    (without this a search whose current value was a rounding high stopped
    short, ~1e-7 off in the slope). Stops when the projected gradient,
    scaled by ``x``, is at rounding level, or steps vanish, or
    ``stop(x, value)`` says so (asked at every iterate).

    Returns ``(x, value, kkt)`` with ``kkt = max |projected gradient · x|``
    at ``x`` (how far from stationary it stopped), or ``None`` if ``x0``
    itself is infeasible.
    """
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    ev = fun(x)
    if ev is None:
        return None
    u, g = ev
    n = x.size
    H: FloatArray | None = None
    for _ in range(maxiter):
        free = ~(((x <= lo) & (g < 0)) | ((x >= hi) & (g > 0)))
        pg = np.where(free, g, 0.0)
        noise = 4e-16 * max(abs(u), 1.0)
        if float(np.abs(pg * np.maximum(np.abs(x), 1e-300)).max()) <= 0.1 * noise or (
                stop is not None and stop(x, u)):
            break
        if H is None:
            # first step: at most 10% of the current point's size
            size = max(float(np.abs(x).max()), 1e-12)
            d = pg * (0.1 * size / float(np.abs(pg).max()))
        else:
            d = np.where(free, H @ pg, 0.0)
            if float(d @ pg) <= 0.0:
                H = None
                continue
        accepted: tuple[FloatArray, float, FloatArray] | None = None
        t = 1.0
        for _ls in range(_LINE_SEARCH_MAXITER):
            xn = np.clip(x + t * d, lo, hi)
            step = xn - x
            rise = float(g @ step)
            evn = fun(xn)
            if evn is None:
                t *= 0.5
                continue
            slope = float(evn[1] @ step)
            if slope >= -0.9 * rise and (
                    evn[0] >= u + 1e-4 * rise - noise
                    or (rise <= _FLAT * noise and evn[0] >= u - _FLAT * noise)):
                accepted = (xn, evn[0], evn[1])
                break
            if slope < 0.0 < rise:
                # overshot the top along the step: where the slope, linear in
                # between, would vanish (exact for a quadratic), kept in [t/1e8, t/2]
                t *= min(max(rise / (rise - slope), _SHRINK_MIN), 0.5)
            else:
                t *= 0.5
        if accepted is None:
            break
        xn, un, gn = accepted
        s_ = xn - x
        # minus the change of the gradient (curvature of -u), on the free
        # variables only: the gradient across an active bound also changes,
        # and fed to the update it spoils the free block (steps then
        # oscillate about the top, converging only linearly)
        y = np.where(free, g - gn, 0.0)
        x, g, u = xn, gn, un
        sy = float(s_ @ y)
        if sy > 1e-16 * float(np.sqrt((s_ @ s_) * (y @ y))):
            if H is None:
                H = np.eye(n) * (sy / float(y @ y))
            r = 1.0 / sy
            Hy = H @ y
            H = H + (r * r * float(y @ Hy) + r) * np.outer(s_, s_) - r * (
                np.outer(Hy, s_) + np.outer(s_, Hy))
        if float(np.abs(s_).max()) <= 1e-15 * max(float(np.abs(x).max()), 1e-300):
            break
    free = ~(((x <= lo) & (g < 0)) | ((x >= hi) & (g > 0)))
    kkt = float(np.abs(np.where(free, g, 0.0) * np.maximum(np.abs(x), 1e-300)).max())
    return x, u, kkt
