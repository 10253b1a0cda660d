"""Exact static best responses of one agent to the others' totals (paper §2.0.5 with §3).

:func:`best_response` is the on-chain agents' strategy; :func:`action_utility`
also serves the independent check (:mod:`market.verify`). The others enter only through
their totals ``R^t = B_{-i}^t`` (bids) and ``S^t = Q_{-i}^t`` (offers; ``S^0``
is the others' offer of the good).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

from market.errors import SolverError
from market.model import BoolArray, Economy, FloatArray
from market.optimize import maximise_box
from market.posts import dphi, expected_utility, input_requirement, phi, utility_values
from market.results import Action
from market.shares import BidCurve, ExpectedBidCurve, best_bid

class NoBestResponse(SolverError):
    """The best response does not exist (the supremum is not attained), e.g. a lone seller
    on a post it values; the message says why. Callers fall back to a stated rule."""


#: A post where nobody else bids gives its whole supply to any positive bid:
#: the best response does not exist (bid → 0+). We bid this share of income.
EPS_BID = 1e-9


def action_utility(economy: Economy, i: int, bids_i: FloatArray, offers_i: FloatArray,
                   R: FloatArray, S: FloatArray, v: float) -> float:
    """Utility of agent ``i`` playing ``(bids_i, offers_i)`` against the others' totals.

    With uncertain ``κ`` (:attr:`Economy.kappa_states`) the expected utility
    over the verification states (:func:`market.posts.expected_utility`),
    ``v`` being the agent's verification at the mean ``κ``.
    """
    row = economy.arrays.row(i)
    B = R + bids_i
    Q = S + offers_i
    ok = (B > 0) & (Q > 0)
    x = np.where(ok, bids_i * Q / np.where(ok, B, 1.0), 0.0)
    cons = x.copy()
    cons[0] -= input_requirement(offers_i[None, :], row)[0]
    states = economy.kappa_states
    if states is not None:
        f, probs = states.factors()
        cs = np.repeat(cons[None, None, :], f.size, axis=0)
        cs[:, 0, 1:] -= economy.schedule[None, :] * (v * f)[:, None]
        return float(expected_utility(cs, probs, row)[0])
    cons[1:] -= economy.schedule * v
    return float(utility_values(cons[None, :], row)[0])


def verification_states(economy: Economy, v: float) -> tuple[FloatArray, FloatArray] | None:
    """``(req, π)``: each post's verification in each state, ``req[t, k] = s^t v f_k``
    (shape ``(T, K)``), and the probabilities; None when ``κ`` is certain."""
    states = economy.kappa_states
    if states is None:
        return None
    f, probs = states.factors()
    return economy.schedule[:, None] * (v * f)[None, :], probs


def _priced_out(T: int) -> Action:
    return Action(bids=np.zeros(T + 1), offers=np.zeros(T + 1), utility=-math.inf, priced_out=True)


def _solve_log_lambda(spend: Callable[[float], float], guess: float) -> float:
    """Root of the decreasing ``spend(λ) = 0`` by Brent's method on ``log λ``."""
    lo = hi = math.log(max(guess, 1e-300))
    f_lo = spend(math.exp(lo))
    step = 2.0
    while f_lo < 0:
        lo -= step
        step *= 2.0
        f_lo = spend(math.exp(lo))
        if step > 1e4:
            raise SolverError("budget multiplier: no bracket (spending does not rise as λ falls)")
    step = 2.0
    f_hi = spend(math.exp(hi))
    while f_hi > 0:
        hi += step
        step *= 2.0
        f_hi = spend(math.exp(hi))
        if step > 1e4:
            raise SolverError("budget multiplier: no bracket (required purchases exceed income)")
    if lo == hi:
        return math.exp(lo)

    def f(t: float) -> float:
        y = spend(math.exp(t))
        if math.isnan(y):  # scipy would raise a bare ValueError; say what failed
            raise SolverError(f"budget multiplier: spending is not a number at λ = {math.exp(t):.3g}")
        return y

    if math.isnan(f_lo) or math.isnan(f_hi):
        f(lo if math.isnan(f_lo) else hi)
    return math.exp(optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500))


#: Newton on ``ln λ`` stops once its step is below this (λ relative); the
#: bids then take that last step to first order (error ~ step²).
_LAMBDA_STEP_TOL = 1e-9

#: Newton steps on ``ln λ`` before :func:`_newton_log_lambda` gives up (returns
#: None, and the caller brackets instead).
_LAMBDA_NEWTON_MAXITER = 100


def _newton_log_lambda(curve: BidCurve | ExpectedBidCurve, w: FloatArray, target: float, scale: float,
                       t: float) -> tuple[float, FloatArray] | None:
    """``(λ, bids)`` with ``f(ln λ) = (Σ_k w_k b_k(λ w_k) − target)/scale = 0``, or None.

    ``b = curve.at(λ w)``; ``f`` decreases in ``λ``. Safeguarded Newton on
    ``ln λ`` from ``t`` with the analytic slope ``f' = Σ_k w_k ∂b_k/∂ln λ / scale``.
    A Newton step that leaves the bracket ``(lo, hi)`` (``f(lo) > 0 > f(hi)``,
    updated with every value) bisects it, or moves 8 (a factor ``e^8``)
    while one side is unknown. Once a Newton step is below
    ``_LAMBDA_STEP_TOL`` in ``ln λ`` (quadratic convergence: the error
    after it is ~its square) the bids take it to first order,
    ``b + Δ ∂b/∂ln λ``, and the search stops. None (a non-finite value, no
    convergence) means: fall back to the bracketing of :func:`_solve_log_lambda`.
    Post 0 is summed last (``Σ_{k≥1} w_k b_k + w_0 b_0``: a producer's input bid).
    """
    w1 = w[1:]
    w0 = float(w[0])
    lo, hi = -math.inf, math.inf
    for _ in range(_LAMBDA_NEWTON_MAXITER):
        if not -700.0 < t < 700.0:
            return None
        lam = math.exp(t)
        b, db = curve.at(lam * w)
        f = (float((w1 * b[1:]).sum()) + w0 * b[0] - target) / scale
        fp = (float((w1 * db[1:]).sum()) + w0 * db[0]) / scale
        if not (math.isfinite(f) and math.isfinite(fp)):
            return None
        if f == 0.0:
            return lam, b
        if f > 0.0:
            lo = t
        else:
            hi = t
        step = -f / fp if fp < 0.0 else math.nan
        if abs(step) <= _LAMBDA_STEP_TOL:
            # (may be below the spacing of floats at t: no bracket test)
            return math.exp(t + step), b + step * db
        tn = t + step
        if lo < tn < hi and abs(step) <= 8.0:
            pass
        elif math.isfinite(lo) and math.isfinite(hi):
            tn = 0.5 * (lo + hi)
            if hi - lo <= 1e-15 * max(1.0, abs(t)):
                return lam, b
        else:
            tn = t + (8.0 if f > 0.0 else -8.0)
        t = tn
    return None


def standard_best_response(economy: Economy, i: int, R: FloatArray, S: FloatArray, v: float) -> Action:
    """Best response of standard agent ``i`` (budget (2), FOCs (10)–(11), ``E = x − s v``).

    For a multiplier ``λ`` the bid on each post is the positive root of the
    quadratic of :func:`market.shares.best_bid`; the good's bid ``ξ`` solves
    (11), i.e. the same form with multiplier ``λ Ω_{-h}/Ω``; ``λ`` makes
    ``Σ_t b^t + (Ω_{-h}/Ω) ξ = B^0_{-h} ω_h/Ω`` hold. A post nobody else
    bids on gets ``EPS_BID`` of income; a post nobody offers on, nothing.

    ``λ`` is found by :func:`_newton_log_lambda` on the posts' :class:`BidCurve`
    (the good's bid first, weight ``Ω_{-h}/Ω``; bids identical to
    :func:`best_bid` for log utility), from ``λ = Σα/income``; if that fails,
    by the bracketing of :func:`_solve_log_lambda` with :func:`best_bid`.
    """
    arr = economy.arrays
    T = economy.T
    alpha = arr.alpha[i]
    rho = float(arr.r[i])
    omega = float(arr.omega[i])
    Omega = float(S[0]) + omega
    income = float(R[0]) * omega / Omega
    req = economy.schedule * v
    eu = verification_states(economy, v)
    if eu is not None:
        req = eu[0].max(axis=1)  # feasible in every state: x^t >= s^t max_k v_k
    Qt = S[1:].astype(float)
    Rt = R[1:].astype(float)
    if np.any((req > 0) & (Qt <= req)) or income <= 0:
        return _priced_out(T)
    inactive = Qt <= 0
    free = (Rt <= 0) & ~inactive
    normal = ~inactive & ~free
    min_cost = float(np.where(normal & (req > 0), req * Rt / np.where(normal, Qt - req, 1.0), 0.0).sum())
    eps_total = EPS_BID * income * free.sum()
    if min_cost + eps_total >= income:
        return _priced_out(T)
    a1 = alpha[1:]
    wedge0 = (Omega - omega) / Omega

    eu_curve: ExpectedBidCurve | None = None
    if eu is not None:
        # the electricity posts in every state, and the good (no verification) first
        eu_req = np.vstack((np.zeros((1, eu[1].size)), eu[0][normal]))
        eu_curve = ExpectedBidCurve(np.concatenate(([alpha[0] if R[0] > 0 else 0.0], a1[normal])),
                                    eu_req, eu[1], np.concatenate(([Omega], Qt[normal])),
                                    np.concatenate(([max(float(R[0]), 1e-300)], Rt[normal])), rho)

    def bids_for(lam: float) -> tuple[FloatArray, float]:
        b = np.zeros(T)
        if eu_curve is not None:
            lam_v = np.full(1 + int(normal.sum()), lam)
            lam_v[0] = lam * wedge0
            bc = eu_curve.at(lam_v)[0] if np.isfinite(lam) else eu_curve.bmin
            b[normal] = bc[1:]
            b[free] = EPS_BID * income
            return b, (float(bc[0]) if alpha[0] > 0 and R[0] > 0 else 0.0)
        if normal.any():
            b[normal] = best_bid(a1[normal], req[normal], Qt[normal], Rt[normal],
                                 np.full(normal.sum(), lam), np.full(normal.sum(), rho))
        b[free] = EPS_BID * income
        xi = 0.0
        if alpha[0] > 0 and R[0] > 0:
            xi = float(best_bid(np.array([alpha[0]]), np.zeros(1), np.array([Omega]),
                                np.array([float(R[0])]), np.array([lam * wedge0]),
                                np.array([rho]))[0])
        return b, xi

    def spend(lam: float) -> float:
        b, xi = bids_for(lam)
        return (float(b.sum()) + wedge0 * xi - income) / income

    guess = float(alpha.sum()) / income
    if not (a1[normal].sum() > 0 or alpha[0] > 0):
        lam = math.inf
        b, xi = bids_for(lam)
    else:
        # post 0 of the curve is the good (multiplier and weight λ wedge0 / wedge0);
        # without a good bid a stand-in with α = 0, bid 0 and slope 0
        good = bool(alpha[0] > 0 and R[0] > 0)
        if good:
            head = (float(alpha[0]), 0.0, Omega, float(R[0]), wedge0)
        else:
            head = (0.0, 0.0, 1.0, 1.0, 1.0)
        curve: BidCurve | ExpectedBidCurve
        if eu_curve is not None:
            curve = eu_curve
        else:
            curve = BidCurve(np.concatenate(([head[0]], a1[normal])),
                             np.concatenate(([head[1]], req[normal])),
                             np.concatenate(([head[2]], Qt[normal])),
                             np.concatenate(([head[3]], Rt[normal])), rho)
        w = np.ones(curve.bmin.size)
        w[0] = head[4]
        solved = None
        if 0.0 < wedge0 and 0.0 < guess < math.inf:
            solved = _newton_log_lambda(curve, w, income - eps_total, income, math.log(guess))
        if solved is None:
            lam = _solve_log_lambda(spend, guess)
            b, xi = bids_for(lam)
        else:
            lam, bc = solved
            b = np.zeros(T)
            b[normal] = bc[1:]
            b[free] = EPS_BID * income
            xi = float(bc[0]) if good else 0.0
    bids = np.concatenate(([xi], b))
    offers = np.zeros(T + 1)
    offers[0] = omega
    u = action_utility(economy, i, bids, offers, R, S, v)
    return Action(bids=bids, offers=offers, utility=u, priced_out=False)


_Evaluation = tuple[float, FloatArray, FloatArray, float]


class _ProducerProblem:
    """Producer ``j``'s utility as a function of its offers, bids optimised inside.

    For offers ``q`` (and capacity ``K``): ``Q^t = S^t + q^t``; the input bid
    buys ``Φ = Σ_t φ^t + ρK`` of the good (``b^0 = Φ R^0/(Ω − Φ)`` when
    ``α^0 = 0``; else (13)); electricity bids solve (12), i.e.
    :func:`market.shares.best_bid` with multiplier ``λ S^t/Q^t``; ``λ`` makes
    budget (4) bind. The envelope theorem gives the gradient
    ``∂Ũ/∂q^t = λ (S^t (B^t)^2/((Q^t)^2 R^t) − (B^0)^2/(Ω R^0) φ'(q^t))`` (eq. 15)
    and ``∂Ũ/∂K = −λ (B^0)^2/(Ω R^0) ρ``.

    The budget multiplier solves ``f(ln λ) = 0`` with
    ``f = (Σ_t w^t b^t(λ w^t) + b^0(λ) − I)/I``, ``w^t = S^t/Q^t`` and income
    ``I = Σ_t R^t q^t/Q^t``; ``f`` decreases in ``λ``. It is found by
    safeguarded Newton steps on ``ln λ`` with the analytic slope
    ``f' = (Σ_t w^t ∂b^t/∂ln λ + ∂b^0/∂ln λ)/I`` of
    :class:`market.shares.BidCurve`, starting from the previous evaluation's
    ``λ`` (successive evaluations of one search are close), with a bracket
    kept so that a step leaving it bisects instead. If that fails (a
    non-finite value, no convergence), the bracketing of
    :func:`_solve_log_lambda` decides, as it always did.
    Evaluations are memoised by ``(q, K)``.
    """

    def __init__(self, economy: Economy, j: int, R: FloatArray, S: FloatArray, v: float) -> None:
        arr = economy.arrays
        self.economy, self.j, self.v = economy, j, v
        self.T = economy.T
        self.alpha = arr.alpha[j]
        self.rho = float(arr.r[j])
        self.theta = arr.theta[j]
        self.c = float(arr.c[j])
        self.K = float(arr.K[j])
        self.rho_cap = float(arr.rho[j])
        self.long_run = bool(arr.long_run[j])
        self.req = economy.schedule * v
        self.eu = verification_states(economy, v)
        if self.eu is not None:
            self.req = self.eu[0].max(axis=1)  # feasible in every state
        self.Omega = float(S[0])
        self.R0 = float(R[0])
        self._R = np.asarray(R, dtype=float)
        self._S = np.asarray(S, dtype=float)
        self._St = self._S[1:]
        self._Rt = self._R[1:]
        self._dead = self.R0 <= 0 or bool(np.any(self._Rt <= 0))
        # posts it values where nobody else offers: its own bid there comes back whole as
        # revenue, so it costs nothing and the best response does not exist (b -> inf)
        self.lone_posts = [t + 1 for t in range(self.T)
                           if self._St[t] <= 0 and self.alpha[t + 1] > 0]
        self._counts = self.alpha > 0
        self._all_count = bool(self._counts.all())
        self._guess = max(float(self.alpha.sum()), 1e-3)
        self._t: float | None = None  # ln λ of the last evaluation (warm start)
        self._u: FloatArray | None = None  # CES: ln E of the last evaluation
        self._memo: dict[tuple[bytes, float], _Evaluation | None] = {}

    def evaluate(self, q: FloatArray, K: float) -> _Evaluation | None:
        """``(Ũ, bids, gradient over q, ∂Ũ/∂K)``, or None if the offers are infeasible."""
        key = (np.ascontiguousarray(q, dtype=float).tobytes(), float(K))
        if key in self._memo:
            return self._memo[key]
        out = self._evaluate(np.asarray(q, dtype=float), float(K))
        if len(self._memo) >= 1024:
            self._memo.clear()
        self._memo[key] = out
        return out

    def _evaluate(self, q: FloatArray, K: float) -> _Evaluation | None:
        Rt, St = self._Rt, self._St
        Qt = St + q
        phi_sum = float(phi(np.maximum(q, 0.0), self.theta, self.c).sum())
        Phi = phi_sum
        if self.long_run:
            Phi += self.rho_cap * K
        if Phi >= self.Omega or self._dead or np.any(Qt <= self.req):
            return None
        income = float((Rt * q / Qt).sum())
        wedge = St / Qt
        scale = max(income, 1e-300)
        curve: BidCurve | ExpectedBidCurve
        if self.eu is not None:
            eu_req = np.vstack((np.full((1, self.eu[1].size), Phi), self.eu[0]))
            curve = ExpectedBidCurve(self.alpha, eu_req, self.eu[1],
                                     np.concatenate(([self.Omega], Qt)), self._R, self.rho)
        else:
            curve = BidCurve(self.alpha, np.concatenate(([Phi], self.req)),
                             np.concatenate(([self.Omega], Qt)), self._R, self.rho, u0=self._u)
        bmin = curve.bmin
        if (float((wedge * bmin[1:]).sum()) + bmin[0] - income) / scale >= 0:
            return None  # cannot pay for its input and verification at λ = ∞
        solved = None
        if np.all(wedge > 0):
            solved = self._newton_lambda(curve, wedge, income, scale)
        if solved is None and isinstance(curve, ExpectedBidCurve):
            w1 = np.concatenate(([1.0], wedge))

            def spend_eu(lam: float) -> float:
                bb = curve.at(lam * w1)[0]
                return (float((wedge * bb[1:]).sum()) + bb[0] - income) / scale

            lam = _solve_log_lambda(spend_eu, self._guess / scale)
            b = curve.at(lam * w1)[0]
        elif solved is None:
            lam, b = self._bracket_lambda(Phi, Qt, wedge, income, scale)
        else:
            lam, b = solved
            self._u = curve.log_consumption
        self._t = math.log(lam)
        B = Rt + b[1:]
        B0 = self.R0 + b[0]
        nu_l = B0 ** 2 / (self.Omega * self.R0)
        mi = dphi(np.maximum(q, 1e-300), self.theta, self.c)  # marginal input φ'(q)
        # Ũ = Σ α ln E (log) or Σ α E^r / r (CES, the same maximiser); λ is its multiplier
        grad = lam * (St * B ** 2 / (Qt ** 2 * Rt) - nu_l * mi)
        dK = -lam * nu_l * self.rho_cap if self.long_run else 0.0
        cons = self._consumption(b, q, Qt, phi_sum)
        if self.eu is not None:
            cs = np.repeat(cons[None, None, :], self.eu[1].size, axis=0)
            cs[:, 0, 1:] += (self.req[:, None] - self.eu[0]).T  # the state's own verification
            util = float(expected_utility(cs, self.eu[1], self.economy.arrays.row(self.j))[0])
        elif self.rho == 0.0:
            util = self._log_utility(cons)
        else:
            util = float((self.alpha * np.maximum(np.where(self._counts, cons, 1.0), 1e-300)
                          ** self.rho).sum() / self.rho)
        return util, b, grad, dK

    def _consumption(self, b: FloatArray, q: FloatArray, Qt: FloatArray, phi_sum: float) -> FloatArray:
        """``E = x − s v`` on posts ``1..T`` and the good left after the input on post 0.

        Inside :meth:`_evaluate` every post is active (``R > 0``, ``Q^t > s^t v``,
        ``Ω > Φ``), so ``x = b Q/B`` everywhere; the input is ``Σ φ^t`` plus
        ``ρ max_t q^t`` in the long run (the arithmetic of :func:`action_utility`).
        """
        Q = np.concatenate(([self.Omega], Qt))
        cons = b * Q / (self._R + b)
        cons[1:] -= self.req
        cons[0] -= phi_sum + (self.rho_cap * float(q.max()) if self.long_run else 0.0)
        return cons

    def _log_utility(self, cons: FloatArray) -> float:
        """``Σ α^t ln E^t`` over the posts the agent values (log utility)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if self._all_count:
                logs = np.log(np.maximum(cons, 0.0))
            else:
                logs = np.where(self._counts, np.log(np.where(self._counts, np.maximum(cons, 0.0), 1.0)),
                                0.0)
        return float((self.alpha * logs).sum())

    def _newton_lambda(self, curve: BidCurve | ExpectedBidCurve, wedge: FloatArray, income: float,
                       scale: float) -> tuple[float, FloatArray] | None:
        """``(λ, bids)`` by :func:`_newton_log_lambda` from the last ``λ``, or None (bracket)."""
        t = self._t if self._t is not None else math.log(self._guess / scale)
        return _newton_log_lambda(curve, np.concatenate(([1.0], wedge)), income, scale, t)

    def _bracket_lambda(self, Phi: float, Qt: FloatArray, wedge: FloatArray, income: float,
                        scale: float) -> tuple[float, FloatArray]:
        """``(λ, bids)`` by :func:`_solve_log_lambda` with :func:`best_bid` (the fallback)."""
        T = self.T
        a1 = self.alpha[1:]
        rho = np.full(T, self.rho)
        if self.alpha[0] > 0:
            def b0_of(lam: float) -> float:
                return float(best_bid(np.array([self.alpha[0]]), np.array([Phi]),
                                      np.array([self.Omega]), np.array([self.R0]),
                                      np.array([lam]), np.array([self.rho]))[0])
        else:
            b0_fixed = Phi * self.R0 / (self.Omega - Phi)

            def b0_of(lam: float) -> float:
                return b0_fixed

        def bids_for(lam: float) -> FloatArray:
            b = best_bid(a1, self.req, Qt, self._Rt, lam * wedge, rho)
            return np.concatenate(([b0_of(lam)], b))

        def spend(lam: float) -> float:
            b = bids_for(lam)
            return (float((wedge * b[1:]).sum()) + b[0] - income) / scale

        lam = _solve_log_lambda(spend, self._guess / scale)
        return lam, bids_for(lam)


#: A search whose iterate comes within this distance (relative, max norm, in
#: the search's scaled variables) of a local maximum an earlier search
#: converged to, with no higher value, is converging to that maximum: it stops
#: there (the earlier result stands).
_MERGE = 1e-4

#: A search counts as converged when its projected gradient (scaled by
#: ``x``) is below this, relative to the value.
_CONVERGED = 1e-10


def producer_best_response(economy: Economy, j: int, R: FloatArray, S: FloatArray, v: float,
                           start: FloatArray | None = None) -> Action:
    """Best response of producer ``j`` (budget (4), FOCs (12)–(17)); see :class:`_ProducerProblem`.

    The offers are found by :func:`market.optimize.maximise_box` (projected BFGS that backs off
    infeasible steps) from several starts (the previous offers, fractions of
    capacity or of the others' supply); for ``c > 1`` (increasing returns,
    non-concave) the starts include capacity, and the best local optimum is
    kept. A search stops as soon as it comes within ``_MERGE`` (relative) of
    a local maximum that an earlier search converged to, without a higher
    value: it is converging to that maximum, which is already a candidate.
    (Searches toward other maxima are unaffected, so every start still
    counts; this saves the last, superlinear part of the repeated searches.)
    """
    T = economy.T
    prob = _ProducerProblem(economy, j, R, S, v)
    if prob.lone_posts and not prob._dead:
        raise NoBestResponse(
            f"{economy.agents()[j].id} is the only seller on post(s) {', '.join(map(str, prob.lone_posts))}, "
            "which it values: its own bid there comes back as revenue, so no best response "
            "exists")
    St = np.maximum(S[1:], 0.0)
    base = np.where(St > 0, St, prob.theta * max(prob.Omega, 1.0) ** prob.c)
    cap = prob.K if np.isfinite(prob.K) else np.inf
    starts: list[FloatArray] = []
    if start is not None and np.all(start[1:] > 0):
        starts.append(np.minimum(start[1:].astype(float), cap))
    for f in (0.5, 0.1, 1.0, 0.02):
        starts.append(np.minimum(base * f, 0.9 * cap if np.isfinite(cap) else np.inf))
    if np.isfinite(cap):
        starts.append(np.full(T, cap))
    if prob.c > 1.0 and T > 1:
        # increasing returns: q = 0 is a local maximum in every period (the marginal
        # input is infinite there), so a best response may shut some periods down
        # and run others flat out; searches from the uniform starts do not find
        # such corners (econ_check found a producer with c = 1.98 gaining 58% by
        # producing in one period of three). Each period alone on, and each off.
        full = np.minimum(base, cap)
        tiny = 1e-9 * full
        for t in range(T):
            alone = tiny.copy()
            alone[t] = full[t]
            starts.append(alone)
            if T > 2:
                off = full.copy()
                off[t] = tiny[t]
                starts.append(off)
    qscale = np.maximum(base, 1e-12)
    best: tuple[float, FloatArray, FloatArray] | None = None
    # local maxima found so far (x, value), from searches that converged
    optima: list[tuple[FloatArray, float]] = []
    merged = False

    def joins_an_optimum(x: FloatArray, u: float) -> bool:
        nonlocal merged
        for xs, us in optima:
            if u <= us and float(np.abs(x - xs).max()) <= _MERGE * max(float(np.abs(xs).max()),
                                                                      1e-300):
                merged = True
                return True
        return False

    for q0 in starts:
        if prob.long_run:
            K0 = float(q0.max())
            x0 = np.concatenate((q0 / K0, [K0 / qscale.max()]))
            bounds = [(0.0, 1.0)] * T + [(0.0, None)]

            def fun(x: FloatArray) -> tuple[float, FloatArray] | None:
                K = x[-1] * qscale.max()
                q = x[:-1] * K
                ev = prob.evaluate(q, K)
                if ev is None:
                    return None
                u, _, g, dK = ev
                gu = g * K
                gK = (float((g * x[:-1]).sum()) + dK) * qscale.max()
                return u, np.concatenate((gu, [gK]))

            def to_q(x: FloatArray) -> tuple[FloatArray, float]:
                K = x[-1] * qscale.max()
                return x[:-1] * K, K
        else:
            x0 = q0 / qscale
            bounds = [(0.0, cap / qs if np.isfinite(cap) else None) for qs in qscale]

            def fun(x: FloatArray) -> tuple[float, FloatArray] | None:
                ev = prob.evaluate(x * qscale, prob.K)
                if ev is None:
                    return None
                u, _, g, _ = ev
                return u, g * qscale

            def to_q(x: FloatArray) -> tuple[FloatArray, float]:
                return x * qscale, prob.K
        lo = np.array([b[0] for b in bounds], dtype=float)
        hi = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
        merged = False
        found = maximise_box(fun, x0, lo, hi, stop=joins_an_optimum if optima else None)
        if found is None or merged:
            continue
        if found[2] <= _CONVERGED * max(abs(found[1]), 1.0):
            optima.append((found[0], found[1]))
        q, K = to_q(found[0])
        ev = prob.evaluate(q, K)
        if ev is None:
            continue
        if best is None or ev[0] > best[0]:
            best = (ev[0], ev[1], q)
    if best is None:
        return _priced_out(T)
    _, bids, q = best
    offers = np.concatenate(([0.0], q))
    return Action(bids=bids, offers=offers, utility=action_utility(economy, j, bids, offers, R, S, v),
                  priced_out=False)


# ------------------------------------------------------------------ best response
def best_response(economy: Economy, i: int, others_bids: FloatArray, others_offers: FloatArray, *,
                  v: float, participants: BoolArray | None = None) -> Action:
    """Agent ``i``'s exact static best response to the others' bids and offers.

    Standard agent (eqs 2, 10, 11 with ``E = x − s v``): for a multiplier
    ``λ`` each post's bid is the positive root of a quadratic
    (:func:`market.shares.best_bid`); ``λ`` makes the budget (2) bind
    (monotone; Newton on ``log λ``, Brent as the fallback). Producer (eqs 4, 12–17): for
    given offers ``q`` its bids follow the same way with the effective
    multiplier ``λ Q_{-j}/Q`` (eq. 12) and the input bid buying
    ``Σφ + ρK`` (eq. 8); the offers maximise the resulting utility
    (projected BFGS with the envelope gradient, several starts).

    Parameters
    ----------
    economy : Economy
    i : int
        The agent (flattened index).
    others_bids, others_offers : ndarray (N, T+1)
        Everyone's bids and offers; row ``i`` is ignored for the aggregates.
    v : float
        Agent ``i``'s verification electricity per order (kWh).
    participants : ndarray of bool (N,), optional
        Rows outside it are ignored as well.

    Returns
    -------
    Action
        Priced out (all zero, ``utility = -inf``) when the agent cannot buy its
        verification electricity (``s^t v``) with what its offers earn.

    Raises
    ------
    NoBestResponse
        A producer is the only seller on a post it values (the others' offers
        there are 0, e.g. the other producers missed a round) while someone
        else buys the good: its own bid on that post comes back as revenue, so
        bidding more always pays and no best response exists.
    SolverError
        The budget multiplier could not be solved (never a bare ``ValueError``).
    """
    N = economy.N
    if not 0 <= i < N:
        raise SolverError(f"agent index {i} out of range 0..{N - 1}")
    mask = np.ones(N, dtype=bool) if participants is None else np.asarray(participants, bool).copy()
    mask[i] = False
    ob = np.asarray(others_bids, dtype=float)
    oo = np.asarray(others_offers, dtype=float)
    R = ob[mask].sum(axis=0)
    S = oo[mask].sum(axis=0)
    if economy.arrays.producer[i]:
        return producer_best_response(economy, i, R, S, float(v), start=oo[i])
    return standard_best_response(economy, i, R, S, float(v))
