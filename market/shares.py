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

#: Bisection steps of the CES best bid: each halves the bracket, so 90 (+40 for a
#: bracket grown by doubling) reach the float resolution of any bid.
_BISECT = 90

#: Doublings of the CES best bid's upper bracket: 200 multiply it by 2**200,
#: far beyond any bid a finite budget allows.
_GROW_MAXITER = 200

#: Newton on ``u = ln E`` for a CES share (:func:`ces_share`): the limit and the
#: relative step at which it stops (monotone after the first step, so it
#: stops long before the limit; running out is reported).
_CES_NEWTON_MAXITER = 100
_CES_NEWTON_TOL = 1e-14

#: Newton on ``u = ln E`` in :meth:`BidCurve._at_ces`: limit and relative step.
_CES_BID_MAXITER = 100
_CES_BID_TOL = 1e-12


def post_share(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray, Q: FloatArray,
               lam: FloatArray, rho: FloatArray) -> FloatArray:
    """Share ``y`` of post ``t`` that meets the aggregative FOC (see module docstring).

    Parameters are broadcast together; ``lam = inf`` gives the least share
    that covers ``req`` (``y = r/Q``); ``α = 0`` gives ``y = r/Q`` too.
    ``rho`` is the CES exponent (0 = log). :func:`post_share_checked` also
    says whether the CES Newton iteration converged.
    """
    return post_share_checked(alpha, req, w, B, Q, lam, rho)[0]


def post_share_checked(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray,
                       Q: FloatArray, lam: FloatArray, rho: FloatArray) -> tuple[FloatArray, bool]:
    """:func:`post_share` and whether every CES share's Newton iteration converged
    (always True for log utility, which is closed form)."""
    alpha, req, w, B, Q, lam, rho = np.broadcast_arrays(alpha, req, w, B, Q, lam, rho)
    base = req / Q
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c = lam * w * B
        a = alpha * (1.0 - base)
        y_log = base + np.where(a > 0, a / (alpha + c), 0.0)
        y_log = np.where(np.isinf(lam) & (alpha > 0), base, y_log)
    if not np.any(rho != 0.0):
        return y_log, True
    ces = (rho != 0.0) & (alpha > 0) & np.isfinite(lam)
    y = y_log.copy()
    converged = True
    if np.any(ces):
        y[ces], _, converged = ces_share(*(x[ces] for x in (alpha, req, w, B, Q, lam, rho, y_log)))
    return y, converged


def ces_share(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray, Q: FloatArray,
              lam: FloatArray, rho: FloatArray, start: FloatArray) -> tuple[FloatArray, FloatArray, bool]:
    """CES share by Newton's method in ``u = ln E``, with ``dy/d ln λ``.

    ``f(u) = ln α + (ρ−1) u + ln(1 − y) − ln(λ w p)``, ``y = (r + e^u)/Q``, is
    concave and decreasing in ``u``, so Newton's iterates converge
    monotonically after the first step (steps past ``y = 1`` are halved back).

    Returns
    -------
    y, dy : ndarray
        Shares and their slopes ``∂y/∂ ln λ``.
    converged : bool
        Every step fell below ``_CES_NEWTON_TOL`` within ``_CES_NEWTON_MAXITER``
        iterations (else ``y`` is the last iterate).
    """
    umax = np.log(Q - req)
    u = np.log(np.clip(start * Q - req, 1e-300, None))
    u = np.minimum(u, umax - 1e-12)
    target = np.log(lam * w * B / Q) - np.log(alpha)
    fu = np.ones_like(u)
    converged = False
    for _ in range(_CES_NEWTON_MAXITER):
        E = np.exp(u)
        one_minus_y = (Q - req - E) / Q
        f = (rho - 1.0) * u + np.log(one_minus_y) - target
        fu = (rho - 1.0) - E / (Q * one_minus_y)
        new = u - f / fu
        new = np.where(new >= umax, 0.5 * (u + umax), new)
        done = np.abs(new - u) <= _CES_NEWTON_TOL * np.maximum(1.0, np.abs(u))
        u = new
        if done.all():
            converged = True
            break
    E = np.exp(u)
    return (req + E) / Q, (E / Q) / fu, converged


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

        for _ in range(_GROW_MAXITER):
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


class BidCurve:
    """Best bids on several posts as functions of their multipliers, with slopes.

    The posts' data ``(α, r, Q, R)`` are fixed (one agent's producer problem
    for given offers); :meth:`at` returns, for multipliers ``λ_t``, the bids
    ``b_t`` of :func:`best_bid` and their slopes ``∂b_t/∂ ln λ_t``, so that a
    budget multiplier can be found by Newton's method rather than by
    bracketing. Everything that does not depend on ``λ`` is computed once.

    Log utility (``ρ = 0``): ``b`` is the positive root of
    ``a b² + ℓ b − R(rR + k) = 0`` with ``a = Q − r``, ``ℓ = R(a − r)``,
    ``k = αQ/λ``; the same floating-point operations as :func:`best_bid`
    (identical results). Differentiating the quadratic,
    ``(2ab + ℓ) db = R dk`` and ``2ab + ℓ = √disc``, so
    ``∂b/∂ ln λ = −R k / √disc``.

    CES (``ρ ≠ 0``): with ``E = bQ/(R+b) − r = e^u`` (so ``R + b = RQ/(a − E)``)
    the condition ``α E^{ρ−1} QR/(R+b)² = λ`` reads

    ``G(u) = ln α − ln(QR) + (ρ−1) u + 2 ln(a − e^u) − ln λ = 0``,

    ``G'(u) = (ρ−1) − 2E/(a − E) < 0`` and ``G'' < 0``: Newton's iterates
    converge monotonically after the first step (a step past ``u = ln a`` is
    halved back). Then ``b = R(r + E)/(a − E)``, which loses digits when
    ``E`` is close to ``a``; two Newton steps on the same condition written
    in ``b``,

    ``g(b) = ln α + (ρ−1) ln E(b) + ln(QR) − 2 ln(R + b) − ln λ``,
    ``g'(b) = (ρ−1) QR/((R+b)² E) − 2/(R + b)``,

    with ``E(b)`` computed as :func:`best_bid` does, restore them, and
    ``∂b/∂ ln λ = 1/g'(b)``. Successive calls start from the previous ``u``
    moved along ``du/d ln λ = 1/G'``. :func:`best_bid` bisects ``g`` in
    ``b``; the two agree to rounding.

    Posts with ``α = 0`` get the least bid ``rR/(Q − r)`` (slope 0).
    Requires ``Q > r``, ``R > 0`` and finite ``λ > 0``.

    Parameters
    ----------
    alpha, req, Q, R : ndarray, shape (n,)
        Weights, required quantities, total offers and the others' bids per post.
    rho : float
        CES exponent (0 = log) of every post.
    u0 : ndarray, shape (n,), optional
        A first guess of ``ln E`` for the CES Newton iteration (e.g. from a
        nearby curve); ignored for log utility.
    """

    def __init__(self, alpha: FloatArray, req: FloatArray, Q: FloatArray, R: FloatArray,
                 rho: float, u0: FloatArray | None = None) -> None:
        a = Q - req
        self.R = R
        self.a = a
        self.bmin = req * R / a
        self.pos = alpha > 0
        self.all_pos = bool(self.pos.all())
        self.rho = float(rho)
        self.ces = self.rho != 0.0 and bool(self.pos.any())
        #: CES evaluations whose Newton iteration ran out of steps (the bids are
        #: then its last iterate, polished in ``b``); 0 for log utility
        self.exhausted = 0
        if self.ces:
            p = self.pos
            self._p_R = R[p]
            self._p_req = req[p]
            self._p_a = a[p]
            self._p_Q = Q[p]
            self._p_aQ = alpha[p] * Q[p]
            self._p_RQ = R[p] * Q[p]
            self._umax = np.log(a[p])
            self._c1 = np.log(alpha[p]) - np.log(self._p_RQ)
            self._u: FloatArray | None = None
            self._loglam: FloatArray | None = None
            self._gp: FloatArray | None = None
            if u0 is not None and u0.shape == alpha.shape and np.all(np.isfinite(u0[p])):
                self._u = u0[p]
        else:
            self._aQ = alpha * Q
            lin = R * (a - req)
            self._lin = lin
            self._rR = req * R
            self._lin2 = lin * lin
            self._a4 = 4.0 * a
            self._lin_pos = lin > 0
            self._all_lin_pos = bool(self._lin_pos.all())

    @property
    def log_consumption(self) -> FloatArray | None:
        """``u = ln E`` of the last CES solve (``nan`` where ``α = 0``), or None."""
        if not self.ces or self._u is None:
            return None
        u = np.full(self.pos.shape, np.nan)
        u[self.pos] = self._u
        return u

    def at(self, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bids ``b`` and slopes ``∂b/∂ ln λ`` at multipliers ``lam`` (finite, > 0)."""
        if self.ces:
            return self._at_ces(lam)
        k = self._aQ / lam
        if not self.all_pos:
            k = np.where(self.pos, k, 0.0)
        const = self.R * (self._rR + k)
        sq = np.sqrt(self._lin2 + self._a4 * const)
        if self._all_lin_pos:
            root = 2.0 * const / (sq + self._lin)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                root = np.where(self._lin_pos, 2.0 * const / (sq + self._lin),
                                (sq - self._lin) / (2.0 * self.a))
        b = root if self.all_pos else np.where(self.pos, root, self.bmin)
        return b, -(self.R * k) / sq

    def _at_ces(self, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        p = self.pos
        loglam = np.log(lam[p])
        umax = self._umax
        a = self._p_a
        rm1 = self.rho - 1.0
        if self._u is None:
            # start from the log-utility bid's consumption (the root of the quadratic)
            R, r, Q = self._p_R, self._p_req, self._p_Q
            lin = R * (a - r)
            const = R * (r * R + self._p_aQ / lam[p])
            b = (np.sqrt(lin * lin + 4.0 * a * const) - lin) / (2.0 * a)
            u = np.log(np.clip(b * Q / (R + b) - r, 1e-300, None))
        elif self._loglam is None or self._gp is None:
            u = self._u  # the caller's guess
        else:
            u = self._u + (loglam - self._loglam) / self._gp
        u = np.where(u >= umax, umax - 1e-12 * np.maximum(1.0, np.abs(umax)), u)
        for _ in range(_CES_BID_MAXITER):
            E = np.exp(u)
            d = a - E
            G = self._c1 + rm1 * u + 2.0 * np.log(d) - loglam
            new = u - G / (rm1 - 2.0 * E / d)
            new = np.where(new >= umax, 0.5 * (u + umax), new)
            step = np.abs(new - u)
            u = new
            if bool((step <= _CES_BID_TOL * np.maximum(1.0, np.abs(u))).all()):
                break
        else:
            self.exhausted += 1
        E = np.exp(u)
        d = a - E
        gp = rm1 - 2.0 * E / d
        self._u, self._loglam, self._gp = u, loglam, gp
        # polish in b (see the class docstring): g(b) = c1 + (ρ−1) ln E + 2 ln(RQ/(R+b)) − ln λ
        R, r, RQ = self._p_R, self._p_req, self._p_RQ
        bp = R * (r + E) / d
        dbp = RQ * E / (d * d * gp)
        for _ in range(2):
            RB = R + bp
            Eb = bp * self._p_Q / RB - r
            if not bool((Eb > 0).all()):
                break
            g = self._c1 + rm1 * np.log(Eb) + 2.0 * np.log(RQ / RB) - loglam
            dg = rm1 * RQ / (RB * RB * Eb) - 2.0 / RB
            bp = bp - g / dg
            dbp = 1.0 / dg
        b = self.bmin.copy()
        db = np.zeros_like(b)
        b[p] = bp
        db[p] = dbp
        return b, db


#: Safeguarded Newton steps of :class:`ExpectedBidCurve` (each at least halves the
#: bracket when it bisects) and its relative stopping step.
_EU_BID_MAXITER = 200
_EU_BID_TOL = 1e-15
#: A Newton step of :class:`ExpectedBidCurve` below this (relative) is its last.
_EU_BID_STEP = 1e-8


class ExpectedBidCurve:
    """Best bids under uncertain verification: expected utility over states ``k``.

    On each post the agent must receive ``r_k`` in state ``k`` (probability
    ``π_k``) before it consumes, ``E_k = bQ/(R+b) − r_k``, and maximises
    ``α Σ_k π_k u(E_k) − λ b`` with ``u = ln`` (log) or ``u(E) = E^ρ/ρ`` (CES),
    so the bid meets

    ``F(b) = α M(b) QR/(R+b)² = λ``,  ``M(b) = Σ_k π_k E_k^{ρ−1}``,

    with ``b`` above ``b_min = r̂R/(Q − r̂)``, ``r̂ = max_k r_k`` (consumption
    non-negative in every state). ``F`` falls from ``+∞`` at ``b_min`` to 0,
    so the root is unique. ``E^{ρ−1}`` is convex and decreasing in ``E``, so by
    Jensen ``F`` lies between the certain ``F`` at the mean requirement
    ``r̄ = Σ π_k r_k`` and at ``r̂``: the root lies between the certain best
    bids (:func:`best_bid`) at ``r̄`` and at ``r̂``. It is found there by
    Newton's method on ``g(b) = ln F(b) − ln λ`` (decreasing), bisecting when
    a step leaves the bracket; ``∂b/∂ ln λ = 1/g'(b)``,
    ``g' = M'/M − 2/(R+b)``, ``M' = (ρ−1) Σ_k π_k E_k^{ρ−2} QR/(R+b)²``.
    With one state the bracket is a point and the bid is :func:`best_bid`'s.

    The interface is :class:`BidCurve`'s (``at``, ``bmin``, ``exhausted``,
    ``log_consumption``), so the best responses use either.

    Parameters
    ----------
    alpha, Q, R : ndarray, shape (n,)
    req : ndarray, shape (n, K)
        Requirement of each post in each state.
    probs : ndarray, shape (K,)
    rho : float
        CES exponent (0 = log).
    """

    def __init__(self, alpha: FloatArray, req: FloatArray, probs: FloatArray, Q: FloatArray,
                 R: FloatArray, rho: float) -> None:
        self.alpha, self.req, self.probs, self.Q, self.R = alpha, req, probs, Q, R
        self.rho = float(rho)
        self.rmax = req.max(axis=1)
        self.rmean = req @ probs
        self.bmin = self.rmax * R / (Q - self.rmax)
        self.pos = alpha > 0
        self.exhausted = 0
        self.log_consumption: FloatArray | None = None
        #: the last solve's bids, slopes and ln λ (a warm start for the next)
        self._last: tuple[FloatArray, FloatArray, FloatArray] | None = None

    def at(self, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bids ``b`` and slopes ``∂b/∂ ln λ`` at multipliers ``lam`` (finite, > 0)."""
        p = self.pos
        b = self.bmin.copy()
        db = np.zeros_like(b)
        if not p.any():
            return b, db
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bb, dg = self._solve(np.broadcast_to(lam, self.alpha.shape)[p])
            db[p] = np.where((dg < 0) & np.isfinite(dg), 1.0 / dg, 0.0)
        b[p] = bb
        return b, db

    def _solve(self, la: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The bids of the valued posts at their multipliers ``la``, and ``g'`` there."""
        p = self.pos
        al, Q, R, req = self.alpha[p], self.Q[p], self.R[p], self.req[p]
        bmin = self.bmin[p]
        rm1 = self.rho - 1.0
        pr = self.probs[None, :]
        loglam = np.log(la)
        c0 = np.log(al) + np.log(Q * R)

        def g_and_dg(x: FloatArray) -> tuple[FloatArray, FloatArray]:
            RB = R + x
            E = np.maximum((x * Q / RB)[:, None] - req, 0.0)
            Ep = E ** rm1
            M = (pr * Ep).sum(axis=1)
            Mp = rm1 * (pr * Ep / E).sum(axis=1) * (Q * R / (RB * RB))
            return c0 + np.log(M) - 2.0 * np.log(RB) - loglam, Mp / M - 2.0 / RB

        warm = self._last
        if warm is not None:
            # the previous solve moved along its slope: Newton then needs a step or two
            bb = warm[0] + warm[1] * (loglam - warm[2])
            lo, hi = bmin.copy(), np.full(bb.shape, np.inf)
            bb = np.where(bb > bmin, bb, warm[0])
        else:
            # the bracket of the certain bids at the mean and the largest requirement (Jensen)
            rho = np.full(al.shape, self.rho)
            lo = np.maximum(best_bid(al, self.rmean[p], Q, R, la, rho), bmin)
            hi = np.maximum(best_bid(al, self.rmax[p], Q, R, la, rho), lo)
            bb = hi.copy()
        done = hi <= lo
        g, dg = g_and_dg(bb)
        for _ in range(_EU_BID_MAXITER):
            # keep the bracket: g(lo) >= 0 >= g(hi)
            lo = np.where(g > 0, bb, lo)
            hi = np.where(g > 0, hi, bb)
            step = -g / dg
            new = bb + step
            bad = ~np.isfinite(new) | (new <= lo) | (new >= hi)
            new = np.where(bad, np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * bb), new)
            new = np.where(done, bb, new)
            # a Newton step below _EU_BID_STEP (relative) is the last: the error after it is ~its square
            fin = done | (~bad & (np.abs(step) <= _EU_BID_STEP * bb)) | (hi - lo <= _EU_BID_TOL * hi)
            bb = new
            g, dg = g_and_dg(bb)
            done = fin
            if bool(done.all()):
                break
        else:
            self.exhausted += 1
        self._last = (bb, np.where((dg < 0) & np.isfinite(dg), 1.0 / dg, 0.0), loglam)
        return bb, dg
