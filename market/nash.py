"""The active Nash equilibrium of the market game with verification electricity.

:func:`solve_nash` finds the equilibrium (paper eqs 1–17 with ``E = x − s v``).
One agent's best response to the others is :func:`market.bestresponse.best_response`.

The solver exploits the aggregative structure of the game (``docs/economics.md``
§3): given the post totals ``(B^t, Q^t)`` an agent's first-order conditions
give its share of every post in closed form (:func:`market.shares.post_share`)
up to one budget multiplier ``λ_i`` per agent, found by a vectorised Newton
iteration on a concave transform of its budget. The fixed point
``Σ_i y_i^t = 1``, ``Σ_j z_j^t = 1`` (shares of bids and offers add up) plus
each producer's budget and input-price consistency is a system of
``2T + 2P`` equations solved by Powell's hybrid method, each evaluation
costing ``O((M + P) T)``. Agents priced out by verification are dropped
and the participant set iterated to a fixed point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from market.bestresponse import NoBestResponse, best_response
from market.errors import SolverError
from market.model import BoolArray, Economy, FloatArray
from market.participants import ParticipantHistory, entry_possible, worse_off_half
from market.posts import dphi, phi, production
from market.profile import evaluate_profile
from market.results import Equilibrium
from market.shares import ces_share, post_share, post_share_checked

__all__ = ["solve_nash", "NashSystem", "Responses", "no_equilibrium_reason"]

#: The aggregate system counts as solved when its largest residual is at most this.
_TOL = 1e-12

#: Newton on ``1/G(λ)`` for log-utility multipliers (:func:`_budget_lambda`): the
#: iteration limit and the relative tolerance on ``G/S − 1`` and on the step
#: (a few units of rounding: the iteration is monotone and quadratic, so it
#: gets there in a handful of steps or not at all).
_LAMBDA_MAXITER = 100
_LAMBDA_TOL = 4e-15

#: Safeguarded Newton on ``ln λ`` for CES multipliers (:func:`_ces_lambda`):
#: limit and relative tolerance on the budget and on the step.
_CES_LAMBDA_MAXITER = 200
_CES_LAMBDA_TOL = 1e-14

#: Newton in ``ln z`` for a producer's output share (:func:`_newton_root`): limit,
#: relative step and bracket width at which it stops.
_ROOT_MAXITER = 200
_ROOT_STEP_TOL = 1e-13
_ROOT_BRACKET_TOL = 4e-16

#: Bisection steps on ``z`` or ``K`` (each halves the bracket: 64 reach float resolution).
_BISECT_Z = 64

#: Golden-section steps for the peak of a concave ``h`` (``c > 1``): 0.618**80 ≈ 2e-17.
_GOLDEN_STEPS = 80

#: Midpoints of the rule that integrates ``h`` to decide whether an increasing-returns
#: producer beats shutting down (only the sign of the area matters).
_AREA_POINTS = 64


# --------------------------------------------------------------------------- helpers
def _budget_lambda(alpha: FloatArray, req: FloatArray, w: FloatArray, income: FloatArray,
                   B: FloatArray, Q: FloatArray, lam0: FloatArray | None
                   ) -> tuple[FloatArray, BoolArray, bool]:
    """Budget multipliers ``λ_i`` of log-utility agents given post totals (vectorised).

    With ``y^t B^t = p^t r^t + a^t / (α^t + λ c^t)``, ``a = α (B − p r)``, ``c = w B``
    the budget ``Σ_t y^t B^t = I`` reads ``G(λ) = Σ_t a^t/(α^t + λ c^t) = S``,
    ``S = I − Σ_t p^t r^t`` (income left after the required purchases).
    ``1/G`` is concave and increasing in ``λ`` (a harmonic mean of linear
    functions), so Newton's method on ``1/G = 1/S`` converges monotonically
    from any start (after at most one step back, clamped at 0).

    Returns
    -------
    lam : ndarray (n,)
        ``inf`` where the agent cannot pay for its requirements (``S <= 0``),
        0 where it is satiated (``G(0) <= S``).
    ok : ndarray of bool (n,)
        ``S > 0`` (the agent can afford its verification).
    converged : bool
        Every multiplier met ``_LAMBDA_TOL`` within ``_LAMBDA_MAXITER`` steps
        (else the unfinished ones are their last iterate).
    """
    p = B / Q
    pr = p * req
    a = B - pr
    a *= alpha
    c = w * B
    S = income - pr.sum(axis=1)
    ok = (S > 0) & np.all(req < Q, axis=1)
    counts = a > 0
    # a^t = 0 terms contribute nothing: zero them and give them a positive denominator
    a[~counts] = 0.0
    al = np.where(counts, alpha, 1.0)
    G0 = (a / al).sum(axis=1)
    lam = np.zeros(alpha.shape[0]) if lam0 is None else np.where(np.isfinite(lam0), lam0, 0.0)
    active = ok & (G0 > S)
    lam = np.where(active, lam, 0.0)
    S_safe = np.where(ok, S, 1.0)
    idx = np.nonzero(active)[0]
    aa, cc, aln, ll, Si = a, c, al, lam, S_safe
    if idx.size < alpha.shape[0]:
        aa, cc, aln, ll, Si = a[idx], c[idx], al[idx], lam[idx], S_safe[idx]
    for _ in range(_LAMBDA_MAXITER):
        if idx.size == 0:
            break
        inv = ll[:, None] * cc
        inv += aln
        np.reciprocal(inv, out=inv)
        term = aa * inv
        G = term.sum(axis=1)
        term *= inv
        term *= cc
        dG = term.sum(axis=1)  # −G'(λ)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (1.0 / Si - 1.0 / G) * (G * G) / dG
        new = np.maximum(ll + step, 0.0)
        done = np.abs(G / Si - 1.0) < _LAMBDA_TOL
        done |= np.abs(new - ll) <= _LAMBDA_TOL * np.maximum(new, 1e-300)
        lam[idx] = new
        if done.any():
            keep = ~done
            idx = idx[keep]
            aa, cc, aln, ll, Si = aa[keep], cc[keep], aln[keep], new[keep], Si[keep]
        else:
            ll = new
    lam = np.where(ok, lam, np.inf)
    return lam, ok, idx.size == 0


def _shares_from_lambda(alpha: FloatArray, req: FloatArray, w: FloatArray, B: FloatArray,
                        Q: FloatArray, lam: FloatArray, rho: FloatArray) -> tuple[FloatArray, bool]:
    """Shares ``y_i^t`` for given multipliers, and whether every CES share converged."""
    return post_share_checked(alpha, req, w, B[None, :], Q[None, :], lam[:, None], rho[:, None])


def _ces_lambda(alpha: FloatArray, req: FloatArray, w: FloatArray, income: FloatArray,
                B: FloatArray, Q: FloatArray, rho: FloatArray) -> tuple[FloatArray, BoolArray, bool]:
    """Budget multipliers of CES agents: safeguarded Newton on ``ln λ``.

    Spending ``Σ_t y^t B^t`` falls with ``λ``; its derivative comes from
    :func:`market.shares.ces_share`. Start: the log-utility multiplier;
    a bracket in ``ln λ`` is kept and bisected whenever Newton leaves it.
    Returns ``(λ, ok, converged)`` as :func:`_budget_lambda` does.
    """
    p = B / Q
    S = income - (p * req).sum(axis=1)
    ok = (S > 0) & np.all(req < Q, axis=1)
    lam_log, _, _ = _budget_lambda(alpha, req, w, income, B, Q, None)
    ell = np.log(np.where(np.isfinite(lam_log) & (lam_log > 0), lam_log, 1.0))
    lo = np.full_like(ell, -np.inf)
    hi = np.full_like(ell, np.inf)
    Bb = np.broadcast_to(B[None, :], alpha.shape)
    Qb = np.broadcast_to(Q[None, :], alpha.shape)
    valued = alpha > 0
    converged = False
    for _ in range(_CES_LAMBDA_MAXITER):
        lam = np.exp(ell)
        y = post_share(alpha, req, w, B[None, :], Q[None, :], lam[:, None], rho[:, None])
        dy = np.zeros_like(y)
        if valued.any():
            _, d, _ = ces_share(alpha[valued], req[valued], w[valued], Bb[valued], Qb[valued],
                                np.broadcast_to(lam[:, None], alpha.shape)[valued],
                                np.broadcast_to(rho[:, None], alpha.shape)[valued], y[valued])
            dy[valued] = d
        g = (y * B[None, :]).sum(axis=1) - income
        dg = (dy * B[None, :]).sum(axis=1)
        lo = np.where(g > 0, ell, lo)
        hi = np.where(g <= 0, ell, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ell - g / dg
        bad = ~np.isfinite(new) | (new <= lo) | (new >= hi)
        mid = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi),
                       np.where(np.isfinite(lo), lo + 2.0, hi - 2.0))
        new = np.where(bad, mid, new)
        done = ((np.abs(g) <= _CES_LAMBDA_TOL * income)
                | (np.abs(new - ell) <= _CES_LAMBDA_TOL * np.maximum(1.0, np.abs(ell))))
        ell = np.where(ok & ~done, new, ell)
        if (done | ~ok).all():
            converged = True
            break
    return np.where(ok, np.exp(ell), np.inf), ok, converged


def agent_shares(alpha: FloatArray, req: FloatArray, w: FloatArray, income: FloatArray,
                 B: FloatArray, Q: FloatArray, rho: FloatArray,
                 lam0: FloatArray | None = None) -> tuple[FloatArray, FloatArray, BoolArray, bool]:
    """Every agent's shares ``y_i^t`` of the posts given the totals and its income.

    Parameters
    ----------
    alpha, req, w : ndarray (n, T+1)
        Weights, required quantities, own-offer wedges.
    income : ndarray (n,)
    B, Q : ndarray (T+1,)
        Post totals (``Q[0] = Ω``).
    rho : ndarray (n,)
        CES exponents (0 = log).
    lam0 : ndarray (n,), optional
        Warm start for the multipliers.

    Returns
    -------
    y : ndarray (n, T+1)
    lam : ndarray (n,)
    ok : ndarray of bool (n,)
        The agent can pay for its required purchases.
    converged : bool
        Every inner iteration (multipliers, CES shares) converged.
    """
    log_rows = rho == 0.0
    lam = np.empty(alpha.shape[0])
    ok = np.empty(alpha.shape[0], dtype=bool)
    if log_rows.all():
        lam, ok, converged = _budget_lambda(alpha, req, w, income, B, Q, lam0)
    else:
        converged = True
        sel = np.nonzero(log_rows)[0]
        if sel.size:
            lam[sel], ok[sel], converged = _budget_lambda(alpha[sel], req[sel], w[sel], income[sel],
                                                          B, Q, None if lam0 is None else lam0[sel])
        sel = np.nonzero(~log_rows)[0]
        lam[sel], ok[sel], ces_converged = _ces_lambda(alpha[sel], req[sel], w[sel], income[sel], B,
                                                       Q, rho[sel])
        converged = converged and ces_converged
    y, shares_converged = _shares_from_lambda(alpha, req, w, B, Q, lam, rho)
    return y, lam, ok, converged and shares_converged


# ----------------------------------------------------------------- producer block
@dataclass
class _Producers:
    """Producer parameters of the participants, broadcast over posts ``1..T``."""

    alpha: FloatArray   # (P, T+1)
    req: FloatArray     # (P, T) verification s^t v_j
    theta: FloatArray   # (P, T)
    c: FloatArray       # (P, 1)
    K: FloatArray       # (P, 1) (inf when long run)
    rho_cap: FloatArray  # (P,) capacity cost ρ (0 if short run)
    long_run: BoolArray  # (P,)
    ces: FloatArray     # (P,) CES exponent


def _marginal_revenue(pr: _Producers, z: FloatArray, B: FloatArray, Q: FloatArray,
                      lam: FloatArray) -> FloatArray:
    """Marginal revenue of output in bytecoins per kWh, ``p (1−z)/(1−y)`` (eqs 12, 14).

    For log utility, with ``y`` from :func:`post_share`,
    ``MR = p (α/λ + (1−z) B) / (B − p r)``: linear and decreasing in ``z``.
    """
    p = B / Q
    al = pr.alpha[:, 1:]
    lam_ = lam[:, None]
    if not np.any(pr.ces != 0.0):
        return p * (al / lam_ + (1.0 - z) * B) / (B - p * pr.req)
    y = post_share(al, pr.req, 1.0 - z, B, Q, lam_, pr.ces[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        mr = p * (1.0 - z) / (1.0 - y)
    log_mr = p * (al / lam_ + (1.0 - z) * B) / (B - p * pr.req)
    return np.where(pr.ces[:, None] == 0.0, log_mr, mr)


def _producer_output(pr: _Producers, B: FloatArray, Q: FloatArray, lam: FloatArray,
                     psi: FloatArray, z0: FloatArray | None = None
                     ) -> tuple[FloatArray, FloatArray, bool]:
    """Producers' output shares ``z_j^t = q_j^t/Q^t`` and capacities, given totals and ``(λ_j, ψ_j)``.

    ``ψ_j = p^0/(1 − y_j^0)`` is the producer's marginal cost of the good in
    bytecoins (its own bid moves ``p^0``). Eq. (15) divided by ``λ`` reads
    ``h(z) = MR(z) − ψ φ'(zQ) = μ/λ ≥ 0`` with ``μ (K − q) = 0`` (16).
    ``c ≤ 1``: ``h`` decreases, so ``z`` is its root capped at ``K/Q`` (or 0 if
    ``h(0) ≤ 0``). ``c > 1`` (increasing returns): ``h`` is concave with
    ``h(0+) = −∞``; the candidate is capacity if ``h(K/Q) ≥ 0`` else the
    larger root, kept only if the area under ``h`` up to it is positive
    (otherwise the producer shuts the period down). Long run: ``K`` solves
    ``Σ_t max(0, h_t(K/Q^t)) = ρ ψ`` (bisection, ``h`` decreasing).

    For log utility and ``c ≤ 1`` the root is found by safeguarded Newton
    (:func:`_newton_root`; ``h`` is convex there, ``h' = −pB/(B − pr) −
    ψ φ'(zQ) (1−c)/(c z)``), warm-started at ``z0`` (e.g. the previous
    evaluation's outputs); otherwise by bisection. The third value says
    whether every Newton root converged (bisections take a fixed number of steps).
    """
    P, T = pr.req.shape
    converged = True
    zcap = np.minimum(1.0, pr.K / Q[None, :])
    psi_ = psi[:, None]

    def h(z: FloatArray) -> FloatArray:
        return _marginal_revenue(pr, z, B, Q, lam) - psi_ * dphi(np.maximum(z * Q, 0.0), pr.theta, pr.c)

    def bisect(lo: FloatArray, hi: FloatArray) -> FloatArray:
        for _ in range(_BISECT_Z):
            mid = 0.5 * (lo + hi)
            pos = h(mid) > 0
            lo = np.where(pos, mid, lo)
            hi = np.where(pos, hi, mid)
        return 0.5 * (lo + hi)

    zero = np.zeros((P, T))
    one = np.ones((P, T))
    tiny = np.full((P, T), 1e-300)
    concave = (pr.c <= 1.0) & np.ones((P, T), dtype=bool)
    newton = not np.any(pr.ces != 0.0)
    expo = (1.0 - pr.c) / pr.c
    slope_mr = -(B / Q) * B / (B - (B / Q) * pr.req)

    def dh(z: FloatArray) -> FloatArray:
        return slope_mr - psi_ * dphi(np.maximum(z * Q, 0.0), pr.theta, pr.c) * expo / z

    def root_of_h(lo: FloatArray, hi: FloatArray, active: BoolArray) -> FloatArray:
        nonlocal converged
        if newton:
            root, ok = _newton_root(h, dh, lo, hi, z0, active)
            converged = converged and ok
            return root
        return bisect(lo, hi)

    # decreasing h (c <= 1): root on (0, zcap]
    h0 = h(tiny)
    hc = h(zcap)
    z = np.where(h0 <= 0, 0.0, np.where(hc >= 0, zcap, root_of_h(zero, zcap, concave & (h0 > 0) & (hc < 0))))
    if not concave.all():
        # increasing returns: golden-section search for the peak of the concave h
        lo, hi = zero.copy(), zcap.copy()
        g = (np.sqrt(5.0) - 1.0) / 2.0
        for _ in range(_GOLDEN_STEPS):
            m1 = hi - g * (hi - lo)
            m2 = lo + g * (hi - lo)
            left = h(m1) > h(m2)
            hi = np.where(left, m2, hi)
            lo = np.where(left, lo, m1)
        peak = 0.5 * (lo + hi)
        root = np.where(hc >= 0, zcap, np.where(h(peak) <= 0, 0.0, bisect(peak, zcap)))
        # keep the output only if it beats shutting down (area under h from 0)
        n = _AREA_POINTS
        grid = root[None] * (np.arange(1, n + 1)[:, None, None] - 0.5) / n
        area = np.stack([h(gz) for gz in grid]).sum(axis=0) * root / n
        z_ir = np.where(area > 0, root, 0.0)
        z = np.where(concave, z, z_ir)
    if pr.long_run.any():
        lr = pr.long_run
        h1 = h(one)
        zu = np.where(h0 <= 0, 0.0, np.where(h1 >= 0, one, root_of_h(zero, one, (h0 > 0) & (h1 < 0))))
        Kmax = (zu * Q[None, :]).max(axis=1)
        target = pr.rho_cap * psi

        def rent(Kv: FloatArray) -> FloatArray:
            zk = np.minimum(Kv[:, None] / Q[None, :], 1.0)
            return np.maximum(h(np.maximum(zk, 1e-300)), 0.0).sum(axis=1)

        klo = np.zeros(P)
        khi = Kmax.copy()
        for _ in range(_BISECT_Z):
            kmid = 0.5 * (klo + khi)
            kpos = rent(kmid) > target
            klo = np.where(kpos, kmid, klo)
            khi = np.where(kpos, khi, kmid)
        Kstar = np.where(rent(np.full(P, 1e-300)) <= target, 0.0, 0.5 * (klo + khi))
        z_lr = np.minimum(zu, Kstar[:, None] / Q[None, :])
        z = np.where(lr[:, None], z_lr, z)
        K = np.where(lr, Kstar, pr.K[:, 0])
    else:
        K = pr.K[:, 0].copy()
    return z, K, converged


def _newton_root(h: Callable[[FloatArray], FloatArray], dh: Callable[[FloatArray], FloatArray],
                 lo: FloatArray, hi: FloatArray, z0: FloatArray | None,
                 active: BoolArray) -> tuple[FloatArray, bool]:
    """Root of a decreasing ``h`` on ``(lo, hi)`` by Newton's method in ``ln z`` kept inside a bracket.

    With ``h(z) = MR(z) − ψφ'(zQ)`` (``MR`` linear, ``φ' ∝ z^{(1−c)/c}``),
    ``H(u) = h(e^u)`` is concave and decreasing for ``c ≤ 1``, so Newton's
    iterates in ``u`` fall monotonically to the root after at most one step
    past it (from ``z = hi`` they do so from the start). Every iterate
    shrinks the bracket (``h > 0`` moves ``lo`` up, else ``hi`` down); a
    Newton step leaving it is replaced by the midpoint, so the
    iteration cannot do worse than bisection. Stops when the step or the
    bracket is at float resolution. Entries whose bracket does not hold a
    sign change (``~active``) are not iterated on and are discarded by the caller.
    Returns the roots and whether all of them stopped within ``_ROOT_MAXITER`` steps.
    """
    lo = lo.copy()
    hi = hi.copy()
    mid = 0.5 * (lo + hi)
    if z0 is None or z0.shape != lo.shape:
        z = hi.copy()
    else:
        z = np.where((z0 > lo) & (z0 < hi), z0, mid)
    converged = False
    for _ in range(_ROOT_MAXITER):
        f = h(z)
        pos = f > 0
        np.copyto(lo, z, where=pos)
        np.copyto(hi, z, where=~pos)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = z * np.exp(-f / (z * dh(z)))
        done = ((np.abs(new - z) <= _ROOT_STEP_TOL * z) | (hi - lo <= _ROOT_BRACKET_TOL * hi)
                | (f == 0) | ~active)
        bad = ~((new >= lo) & (new <= hi)) & ~done
        if bad.any():
            new = np.where(bad, 0.5 * (lo + hi), new)
        z = np.where(done, np.clip(new, lo, hi), new)
        if done.all():
            converged = True
            break
    return z, converged


# ------------------------------------------------------------------- the system
@dataclass(frozen=True)
class Responses:
    """Every participant's response to the aggregates of one point ``x`` of :class:`NashSystem`.

    Attributes
    ----------
    B, Q : ndarray (T+1,)
        Post totals (``B^0 = 1``, ``Q^0 = Ω``).
    y_s : ndarray (m, T+1)
        Standard agents' bid shares ``y_h^t = b_h^t/B^t``.
    lam_s : ndarray (m,)
        Their budget multipliers (``inf`` where priced out).
    ok_s : ndarray of bool (m,)
        The standard agent can pay for its verification.
    z : ndarray (P, T)
        Producers' output shares ``z_j^t = q_j^t/Q^t``.
    K : ndarray (P,)
        Producers' capacities (chosen in the long run).
    Phi : ndarray (P,)
        Producers' input ``Σ_t φ_j^t + ρ K_j``.
    y_p : ndarray (P, T+1)
        Producers' bid shares.
    lam_p, psi : ndarray (P,)
        The producers' unknowns ``λ_j`` and ``ψ_j`` at ``x``.
    converged : bool
        Every inner iteration (multipliers, CES shares, output roots) met its
        tolerance within its limit; if not, some response is a last iterate.
    """

    B: FloatArray
    Q: FloatArray
    y_s: FloatArray
    lam_s: FloatArray
    ok_s: BoolArray
    z: FloatArray
    K: FloatArray
    Phi: FloatArray
    y_p: FloatArray
    lam_p: FloatArray
    psi: FloatArray
    converged: bool


#: The standard agents' block of :meth:`NashSystem.responses`: shares, multipliers,
#: who can pay, and whether its inner iterations converged.
_StdBlock = tuple[FloatArray, FloatArray, BoolArray, bool]


class NashSystem:
    """The aggregate equations of the Nash equilibrium for a fixed participant set.

    Unknowns (logs): ``B^1..B^T``, ``Q^1..Q^T``, ``λ_j``, ``ψ_j`` with ``B^0 = 1``
    (bids are homogeneous of degree one; the level is fixed afterwards).
    Equations: ``Σ_i y_i^t = 1``, ``Σ_j z_j^t = 1`` (t = 1..T), each producer's
    budget (3), and ``ψ_j (1 − y_j^0) = p^0`` (eq. 13). The good's post
    clears by Walras' law.
    """

    def __init__(self, economy: Economy, v: FloatArray, participants: BoolArray) -> None:
        arr = economy.arrays
        T = economy.T
        s = economy.schedule
        self.T = T
        self.economy = economy
        self.participants = participants
        std = participants & ~arr.producer
        prd = participants & arr.producer
        self.std_idx = np.nonzero(std)[0]
        self.prd_idx = np.nonzero(prd)[0]
        if self.prd_idx.size == 0:
            raise SolverError("no producer participates: nothing is produced")
        if self.std_idx.size == 0:
            raise SolverError("no standard agent participates: nobody sells the good")
        self.omega = arr.omega[self.std_idx]
        self.Omega = float(self.omega.sum())
        m = self.std_idx.size
        self.s_alpha = arr.alpha[self.std_idx]
        self.s_req = np.zeros((m, T + 1))
        self.s_req[:, 1:] = s[None, :] * v[self.std_idx][:, None]
        self.s_w = np.ones((m, T + 1))
        self.s_w[:, 0] = 1.0 - self.omega / self.Omega
        self.s_rho = arr.r[self.std_idx]
        j = self.prd_idx
        self.pr = _Producers(
            alpha=arr.alpha[j], req=s[None, :] * v[j][:, None], theta=arr.theta[j],
            c=arr.c[j][:, None], K=arr.K[j][:, None], rho_cap=arr.rho[j],
            long_run=arr.long_run[j], ces=arr.r[j])
        self.P = j.size
        self._lam_std: FloatArray | None = None
        self._last_std: _StdBlock | None = None
        self._z_last: FloatArray | None = None
        self._memo: tuple[FloatArray, Responses] | None = None
        self.evaluations = 0
        #: evaluations whose responses came from an inner iteration that ran out of
        #: steps (see :attr:`Responses.converged`)
        self.exhausted = 0

    # unknown vector <-> named parts
    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        T, P = self.T, self.P
        B = np.concatenate(([1.0], np.exp(x[:T])))
        Q = np.concatenate(([self.Omega], np.exp(x[T:2 * T])))
        return B, Q, np.exp(x[2 * T:2 * T + P]), np.exp(x[2 * T + P:])

    def responses(self, x: FloatArray,
                  std: _StdBlock | None = None) -> Responses:
        """Every participant's response to the totals in ``x`` (see class docstring).

        ``std`` freezes the standard agents' block (used for the producers'
        part of the Jacobian).
        """
        if std is None and self._memo is not None and np.array_equal(self._memo[0], x):
            return self._memo[1]
        B, Q, lam_p, psi = self.unpack(x)
        T = self.T
        pr = self.pr
        if std is None:
            income = B[0] * self.omega / self.Omega
            y_s, lam_s, ok_s, std_converged = agent_shares(self.s_alpha, self.s_req, self.s_w, income,
                                                           B, Q, self.s_rho, self._lam_std)
            self._lam_std = lam_s
            self._last_std = (y_s, lam_s, ok_s, std_converged)
        else:
            y_s, lam_s, ok_s, std_converged = std
        z, K, z_converged = _producer_output(pr, B[1:], Q[1:], lam_p, psi, self._z_last)
        if std is None:
            self._z_last = z
        q = z * Q[None, 1:]
        Phi = phi(np.maximum(q, 0.0), pr.theta, pr.c).sum(axis=1) + pr.rho_cap * np.where(pr.long_run, K, 0.0)
        w = np.ones((self.P, T + 1))
        w[:, 1:] = 1.0 - z
        req = np.empty((self.P, T + 1))
        req[:, 0] = Phi
        req[:, 1:] = pr.req
        y_p, p_converged = _shares_from_lambda(pr.alpha, req, w, B, Q, lam_p, pr.ces)
        converged = std_converged and z_converged and p_converged
        out = Responses(B=B, Q=Q, y_s=y_s, lam_s=lam_s, ok_s=ok_s, z=z, K=K, Phi=Phi, y_p=y_p,
                        lam_p=lam_p, psi=psi, converged=converged)
        if std is None:
            self._memo = (x.copy(), out)
            self.exhausted += not converged
        return out

    def residual(self, x: FloatArray,
                 std: _StdBlock | None = None) -> FloatArray:
        """The ``2T + 2P`` equations at ``x`` (see class docstring)."""
        self.evaluations += 1
        r = self.responses(x, std)
        B, Q = r.B, r.Q
        y_tot = r.y_s[:, 1:].sum(axis=0) + r.y_p[:, 1:].sum(axis=0)
        z_tot = r.z.sum(axis=0)
        revenue = (r.z * B[None, 1:]).sum(axis=1)
        spend = (r.y_p * B[None, :]).sum(axis=1)
        budget = (spend - revenue) / np.maximum(revenue, 1e-300 + 1e-12 * B.sum())
        y0 = r.y_p[:, 0]
        p0 = B[0] / Q[0]
        consistency = r.psi * (1.0 - y0) / p0 - 1.0
        out = np.concatenate((y_tot - 1.0, z_tot - 1.0, budget, consistency))
        # a trial point far off (a share of 0/0, a priced-out producer) gives a
        # non-finite residual; a large finite one tells the root finder to step back
        # instead of stopping on NaN
        return np.where(np.isfinite(out), out, 1e6)

    def jacobian(self, x: FloatArray) -> FloatArray:
        """Jacobian of :meth:`residual`: analytic for the standard agents, differences for producers.

        The standard agents' shares depend on ``(B^t, Q^t)`` directly and
        through their multipliers: with ``D = α + λ w B`` (log utility),
        ``∂y/∂λ = −α(1 − r/Q) w B/D²``, ``∂y/∂B = −α(1 − r/Q) λ w/D²``,
        ``∂y/∂Q = −(r/Q²) λ w B/D``, and ``dλ/dX = −(∂g/∂X)/(∂g/∂λ)`` from the
        budget ``g = Σ_t y^t B^t − I``. Summed over agents the indirect part is
        ``Aᵀ C`` (a ``T × 2T`` product), so the cost is ``O(M T²)`` work
        instead of ``2T`` evaluations. Producers' part (cheap, ``O(P T)``) is
        by forward differences with the standard block frozen. CES agents:
        all by differences.
        """
        n = x.size
        T = self.T
        if np.any(self.s_rho != 0.0):
            return np.asarray(optimize.approx_fprime(x, self.residual, 1.5e-8))
        B, Q, _, _ = self.unpack(x)
        # the standard agents' block at x, frozen for the differences below (counted as
        # one residual evaluation, as when it was obtained by evaluating the residual)
        self.evaluations += 1
        std = self._standard_block(x)
        base_std = self.residual(x, std)
        J = np.empty((n, n))
        for k in range(n):
            h = 1.5e-8 * max(1.0, abs(x[k]))
            xk = x.copy()
            xk[k] += h
            J[:, k] = (self.residual(xk, std) - base_std) / h
        # standard agents, analytic
        y_s, lam, ok, _ = std
        al, req, w = self.s_alpha, self.s_req, self.s_w
        good = ok & np.isfinite(lam)
        lam_ = np.where(good, lam, 0.0)[:, None]
        D = al + lam_ * w * B[None, :]
        one_m = 1.0 - req / Q[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            dy_dl = np.where(al > 0, -al * one_m * w * B[None, :] / D ** 2, 0.0)
            dy_dB = np.where(al > 0, -al * one_m * lam_ * w / D ** 2, 0.0)
            dy_dQ = np.where(al > 0, -(req / Q[None, :] ** 2) * lam_ * w * B[None, :] / D,
                             -req / Q[None, :] ** 2)
        dy_dQ = np.where(good[:, None], dy_dQ, -req / Q[None, :] ** 2)
        dy_dB = np.where(good[:, None], dy_dB, 0.0)
        dg_dl = (B[None, :] * dy_dl).sum(axis=1)
        dg_dB = y_s + B[None, :] * dy_dB
        dg_dQ = B[None, :] * dy_dQ
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(good & (dg_dl != 0), -1.0 / dg_dl, 0.0)
        C = np.hstack((dg_dB[:, 1:] * inv[:, None], dg_dQ[:, 1:] * inv[:, None]))
        # einsum, not BLAS: on a loaded 2-core machine OpenBLAS's threads made this
        # (M x T)ᵀ(M x 2T) product cost ~0.4 s at M = 10,000 (einsum: ~20 ms)
        Js = np.einsum("mi,mj->ij", dy_dl[:, 1:], C)
        Js[:, :T] += np.diag(dy_dB[:, 1:].sum(axis=0))
        Js[:, T:] += np.diag(dy_dQ[:, 1:].sum(axis=0))
        Js[:, :T] *= B[None, 1:]
        Js[:, T:] *= Q[None, 1:]
        J[:T, :2 * T] += Js
        return J

    def _standard_block(self, x: FloatArray) -> _StdBlock:
        """The standard agents' block at ``x``, as :meth:`responses` computes (or recalls) it."""
        self.responses(x)
        assert self._last_std is not None  # set by every unfrozen evaluation, memo included
        return self._last_std

    def initial_guess(self) -> FloatArray:
        """An interior start: equal input shares for producers, Cobb-Douglas spending.

        The constants are a start, not a model: they put every unknown inside
        the region where the responses are defined, and were tuned on the
        shipped scenarios (changing them changes which root a hard case finds
        first, hence the outputs).
        """
        T, P, pr = self.T, self.P, self.pr
        Omega = self.Omega
        # every producer uses an equal part of the good, spread over the T+1 posts
        phi_each = Omega / (P * (T + 1.0))
        q = production(phi_each, pr.theta, pr.c)
        # strictly below capacity: at K a producer's output share has a kink
        q = np.minimum(q, 0.8 * np.where(np.isfinite(pr.K), pr.K, np.inf))
        Q = q.sum(axis=0)
        al = self.s_alpha[:, 1:]
        shares = al / np.maximum(al.sum(axis=1, keepdims=True), 1e-300)
        # standard agents spend their income (B^0 = 1 split by ω) Cobb-Douglas
        B_std = (shares * (self.omega / Omega)[:, None]).sum(axis=0)
        # producers that value electricity add their own bids (about a quarter on top),
        # else only their verification (a couple of percent)
        prod_values = bool(np.any(pr.alpha[:, 1:] > 0))
        B = B_std * (1.25 if prod_values else 1.02)
        # no post starts without bids (its price would be 0 and its shares undefined)
        B = np.maximum(B, 1e-3 * B_std.sum() / T)
        # λ_j = Σα / (its spending): spending guessed as the same quarter / 2% of B^0
        S_p = np.full(P, 0.25 / P if prod_values else 0.02 / P)
        lam = np.maximum(pr.alpha.sum(axis=1), 1e-3) / S_p
        # ψ_j = p^0/(1 − y_j^0) with its bid share of the good about its output
        # share 1/P (kept below 0.9 so a lone producer's ψ stays finite)
        z0 = 1.0 / P
        psi = np.full(P, (1.0 / Omega) / (1.0 - min(z0, 0.9)))
        return np.log(np.concatenate((B, Q, lam, psi)))


# ------------------------------------------------------------------- the solver
#: Steps of one damped relaxation (:func:`_relax`); its last point is judged by
#: its residual like any other method's, so running out is not an error.
_RELAX_MAXITER = 3000


def _relax(sysm: NashSystem, x: FloatArray, iterations: int = _RELAX_MAXITER, eta: float = 0.5,
           tol: float = 1e-4) -> FloatArray:
    """Damped fixed-point iteration on the aggregates, to reach the basin of Newton's method.

    ``B^t ← B^t (Σ_i y_i^t)^η``, ``Q^t ← Q^t (Σ_j z_j^t)^η``, ``λ_j`` up when producer
    ``j`` overspends, ``ψ_j ← p^0/(1 − y_j^0)``; steps in logs clipped to ±0.5.
    Each unknown has its own damping ``η_k``, halved when its step changes
    sign (an oscillation, typical of flat marginal costs) and grown by 10%
    otherwise (up to ``eta``).
    """
    T, P = sysm.T, sysm.P
    x = x.copy()
    rate = np.full(x.size, eta)
    last = np.zeros(x.size)
    for _ in range(iterations):
        r = sysm.responses(x)
        B = r.B
        y_tot = r.y_s[:, 1:].sum(axis=0) + r.y_p[:, 1:].sum(axis=0)
        z_tot = r.z.sum(axis=0)
        revenue = (r.z * B[None, 1:]).sum(axis=1)
        spend = (r.y_p * B[None, :]).sum(axis=1)
        y0 = np.minimum(r.y_p[:, 0], 0.99)
        p0 = B[0] / sysm.Omega
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.concatenate((
                np.log(np.maximum(y_tot, 1e-3)),
                np.log(np.maximum(z_tot, 1e-3)),
                np.log(np.maximum(spend, 1e-300) / np.maximum(revenue, 1e-300)),
                np.log(p0 / (1.0 - y0)) - x[2 * T + P:]))
        step = np.clip(np.where(np.isfinite(step), step, 0.0), -0.5, 0.5)
        flip = step * last < 0
        rate = np.where(flip, rate * 0.5, np.minimum(rate * 1.1, eta))
        last = step
        x += rate * step
        res = sysm.residual(x)
        if np.max(np.abs(res)) < tol:
            break
    return x


#: The order in which :func:`_solve_system` tries its methods. A coarse damped
#: relaxation from the start brings the aggregates near the root, where Powell's
#: hybrid method (with the analytic Jacobian) converges fast; if it fails, a slow
#: relaxation from the start again (it tracks oscillating marginal costs that
#: defeat the first), then hybr, Levenberg-Marquardt (robust where the Jacobian
#: is near singular) and hybr once more, each from the best point so far.
_METHODS = ("relax", "hybr", "relax-slow", "hybr", "lm", "hybr")

#: ``(eta, tol)`` of the two relaxations: the fast one stops once the residual
#: is below 0.1 (it only has to reach Newton's basin), the slow one at 1e-4.
_RELAX = {"relax": (1.0, 0.1), "relax-slow": (0.5, 1e-4), "relax-short": (1.0, 0.1)}

#: Steps of the ``relax-short`` relaxation (increasing returns: an evaluation there
#: costs ~40 ms, and a relaxation that has not reached Newton's basin by then
#: does not: the best-response iteration takes over).
_RELAX_SHORT_MAXITER = 200

#: With increasing returns (``c > 1``) only the fast pair: when it fails the
#: best-response iteration (:func:`_best_response_equilibrium`) takes over,
#: instead of minutes of slower methods on a system with jumps.
_METHODS_INCREASING = ("relax-short", "hybr")

#: After every method failed to reach ``_TOL``, the best point still counts as
#: converged if its residual is at most this (the FOC residuals of the final
#: profile are checked independently, :func:`market.profile.evaluate_profile`).
_ACCEPT = 1e-9


def _solve_system(sysm: NashSystem, x0: FloatArray,
                  methods: tuple[str, ...] = _METHODS) -> tuple[FloatArray, bool, str]:
    """Root of the aggregate system by the methods of ``_METHODS`` in turn.

    Returns ``(x, converged, message)``: the first root with residual ``≤ _TOL``,
    else the best point found, converged if its residual is ``≤ _ACCEPT``.
    """
    best_x, best_norm = x0, np.inf
    x = x0
    for method in methods:
        if method in _RELAX:
            eta, tol = _RELAX[method]
            x = _relax(sysm, x0, eta=eta, tol=tol,
                       iterations=_RELAX_SHORT_MAXITER if method == "relax-short" else _RELAX_MAXITER)
            res = float(np.max(np.abs(sysm.residual(x))))
            if res < best_norm:
                best_x, best_norm = x, res
            x = x if np.isfinite(res) else best_x
            continue
        sol = optimize.root(sysm.residual, x, method=method, jac=sysm.jacobian,
                            options={"xtol": 1e-14} if method == "hybr" else
                            {"xtol": 1e-15, "ftol": 1e-15, "maxiter": 20000})
        res = float(np.max(np.abs(sysm.residual(sol.x))))
        if res < best_norm:
            best_x, best_norm = sol.x, res
        if res <= _TOL:
            return sol.x, True, str(sol.message)
        x = best_x
    return best_x, best_norm <= _ACCEPT, f"aggregate residual {best_norm:.3g}"


def _leavers(sysm: NashSystem, r: Responses, cannot_pay: BoolArray, n: int) -> BoolArray:
    """Standard agents who leave: those who cannot pay for verification, but when
    several cannot, only the worse-off half (:func:`market.participants.worse_off_half`,
    ranked by every standard participant's surplus); a mask over all ``n`` agents."""
    leave = np.zeros(n, dtype=bool)
    count = int(cannot_pay.sum())
    if count > 1:
        leave[sysm.std_idx[worse_off_half(_surplus(sysm, r), count)]] = True
    else:
        leave[sysm.std_idx[cannot_pay]] = True
    return leave


def solve_nash(economy: Economy, v: FloatArray | None = None, *, max_rounds: int = 30,
               methods: tuple[str, ...] | None = None) -> Equilibrium:
    """The active Nash equilibrium of the market game with verification electricity.

    Parameters
    ----------
    economy : Economy
    v : ndarray (N,), optional
        Per-agent verification electricity per order (kWh); default
        ``economy.verification_energy()`` (``κ`` × gas per order).
    max_rounds : int
        Bound on the iterations over the participant set.
    methods : tuple of str, optional
        The aggregate system's methods, in turn (default: all of ``_METHODS``,
        or the fast pair ``_METHODS_INCREASING`` with increasing returns).

    Returns
    -------
    Equilibrium
        Prices normalised so that ``Σ_t B^t`` equals the participants' bytecoin
        supply (SPEC §4); ``residuals`` are each agent's relative residuals of
        (10)–(17) recomputed from the final profile.

    Raises
    ------
    SolverError
        No participant set is stable, or nobody can trade.
    """
    v = economy.verification_energy() if v is None else np.asarray(v, dtype=float)
    if v.shape != (economy.N,):
        raise SolverError(f"v must have shape ({economy.N},), got {v.shape}")
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise SolverError("v must be finite and >= 0")
    if economy.kappa_states is not None:
        return _expected_utility_equilibrium(economy, v, max_rounds)
    arr = economy.arrays
    participants = np.ones(economy.N, dtype=bool)
    history = ParticipantHistory("Nash: the set of agents priced out by verification does not settle "
                                 "(entry and exit cycle)")
    total_evals = 0
    x0: FloatArray | None = None
    for _round in range(max_rounds):
        obstacle = no_equilibrium_reason(economy, participants, v)
        if obstacle is not None:
            raise SolverError(f"Nash: {obstacle}")
        sysm = NashSystem(economy, v, participants)
        start = sysm.initial_guess() if x0 is None or x0.size != 2 * economy.T + 2 * sysm.P else x0
        increasing = bool(np.any(sysm.pr.c > 1.0))
        with np.errstate(all="ignore"):
            x, converged, message = _solve_system(
                sysm, start, methods or (_METHODS_INCREASING if increasing else _METHODS))
        total_evals += sysm.evaluations
        if not converged and increasing:
            # increasing returns: the producers' responses jump (shut down or not) and
            # the aggregate system may have no root near its path; iterate best
            # responses from the equilibrium with returns capped at constant
            return _best_response_equilibrium(economy, v, participants, total_evals, message)
        if not converged:
            # a producer that sells nothing at the closest point found cannot pay its
            # verification (or its own electricity): it shuts down and leaves
            with np.errstate(all="ignore"):
                z = sysm.responses(x).z
            idle = sysm.prd_idx[z.sum(axis=1) < 1e-9]
            if idle.size and idle.size < sysm.P:
                participants = participants.copy()
                participants[idle] = False
                x0 = None
                continue
            excess = _good_in_excess(sysm)
            if excess is not None:
                raise SolverError(f"Nash: the aggregate system did not converge ({message}) with "
                                  f"{int(participants.sum())} participants: {excess}")
            # standard agents that cannot pay for their verification at the closest
            # point found: their shares switch off there (a kink), and with them in
            # the system it may have no root. They leave as in the converged case
            # (worst-off first); whether they may return is checked once it solves.
            with np.errstate(all="ignore"):
                r = sysm.responses(x)
            priced = np.logical_not(r.ok_s)
            if priced.any() and not priced.all():
                participants = participants & ~_leavers(sysm, r, priced, economy.N)
                history.record(participants)
                x0 = None
                continue
            raise SolverError(f"Nash: no equilibrium found ({message}) with "
                              f"{int(participants.sum())} participants: {_diagnose(sysm, x)}")
        with np.errstate(all="ignore"):
            r = sysm.responses(x)
        bids, offers = _profile_from(sysm, r, economy)
        # who cannot afford verification at these prices leaves; who could now, returns
        cannot_pay = np.logical_not(r.ok_s)
        B, Q = bids.sum(axis=0), offers.sum(axis=0)
        rejoin = (~participants) & ~arr.producer & entry_possible(
            arr.omega, economy.schedule[None, :] * v[:, None], B, Q)
        if not cannot_pay.any() and not rejoin.any():
            scale = arr.bytecoins[participants].sum() / bids.sum()
            if not scale > 0:
                raise SolverError("participants hold no bytecoins: the price level is undefined")
            if not r.converged:
                # an inner iteration ran out at the answer: say so (the FOC residuals
                # of the profile, checked by evaluate_profile, decide convergence)
                message += "; an inner iteration reached its limit at the solution"
            return evaluate_profile(economy, bids * scale, offers, v=v, participants=participants,
                                    kind="nash", iterations=total_evals, converged=converged,
                                    message=message)
        participants = (participants & ~_leavers(sysm, r, cannot_pay, economy.N)) | rejoin
        history.record(participants)
        x0 = x
    raise SolverError(f"participant set not settled after {max_rounds} rounds")


def no_equilibrium_reason(economy: Economy, participants: BoolArray,
                          v: FloatArray | None = None) -> str | None:
    """Why the market game has no Nash equilibrium for this participant set, if a structural reason says so.

    Three cases are decided before any solving:

    * nobody can pay for verification: every standard agent's verification
      electricity ``s^t v_h`` in some period is at least what all the producers
      together could make there using the whole good (``Σ_j min(K_j, θ_j^t Ω^{c_j})``),
      so no price lets it buy it, and without standard agents nobody sells the good;
    * a single standard agent that values the good (``α^0 > 0``): it is the
      good's only seller, so every bid it makes on the good comes back to it
      as income; the good is free to it and its demand for it has no bound;
    * a single producer whose buyers all have log (or CES with ``σ ≤ 1``)
      utility: they spend a share of their income on each period whatever
      the price, so the producer's revenue ``B^t`` does not fall when it cuts
      its output, while its input cost does; it gains by producing less and
      less, and no equilibrium with positive output exists.

    Returns the explanation, or ``None``.
    """
    arr = economy.arrays
    std = np.nonzero(participants & ~arr.producer)[0]
    prd = np.nonzero(participants & arr.producer)[0]
    agents = economy.agents()
    if v is not None and std.size and prd.size:
        Omega = float(arr.omega[std].sum())
        with np.errstate(all="ignore"):
            most = np.minimum(production(Omega, arr.theta[prd], arr.c[prd][:, None]),
                              arr.K[prd][:, None]).sum(axis=0)
        need = economy.schedule[None, :] * v[std][:, None]
        if np.all(np.any(need >= most[None, :], axis=1)):
            k = int(np.argmin(v[std]))
            t = int(np.argmax(need[k] / most))
            return (f"nobody can pay for verification: even the standard agent with the least "
                    f"verification ({agents[std[k]].id}, v = {v[std[k]]:.4g} kWh per order) needs "
                    f"{need[k, t]:.4g} kWh in period {t + 1}, and the producers can make at most "
                    f"{most[t]:.4g} kWh there using all the good (lower kappa or gas_per_order)")
    if std.size == 1 and arr.alpha[std[0], 0] > 0:
        return (f"a single standard agent ({agents[std[0]].id}) sells the good and values it "
                f"(alpha0 = {arr.alpha[std[0], 0]:g}): its bids on the good come back to it as "
                f"income, so the good is free to it and no equilibrium exists (add a second "
                f"standard agent or set alpha0 = 0)")
    if prd.size == 1 and std.size and np.all(arr.r[std] <= 0.0):
        return (f"a single producer ({agents[prd[0]].id}) faces buyers with log utility (or CES "
                f"with sigma <= 1): they spend a fixed share of their income on each period, so "
                f"its revenue does not fall when it cuts its output while its input cost does; "
                f"it gains by producing less and less and no equilibrium with positive output "
                f"exists (add a second producer, or give the buyers CES utility with sigma > 1)")
    return None


def _diagnose(sysm: NashSystem, x: FloatArray) -> str:
    """Which agents' conditions fail at the closest point the solver found, in words.

    Checks, in order: verification electricity the producers cannot supply
    even using all the good (nobody can pay for it); standard agents and
    producers unable to pay for their verification at the closest prices;
    then the equations with the largest residuals, named by post or agent.
    """
    with np.errstate(all="ignore"):
        r = sysm.responses(x)
        res = sysm.residual(x)
    agents = sysm.economy.agents()
    T, P = sysm.T, sysm.P
    pr = sysm.pr
    reasons: list[str] = []
    # verification demand against the most the producers could make in each period
    need = sysm.s_req[:, 1:].sum(axis=0) + pr.req.sum(axis=0)
    with np.errstate(all="ignore"):
        most = np.minimum(production(sysm.Omega, pr.theta, pr.c), pr.K).sum(axis=0)
    short = np.nonzero(need >= most)[0]
    if short.size:
        t = int(short[0])
        reasons.append(
            f"verification alone needs {need[t]:.4g} kWh in period {t + 1}, but the producers can "
            f"make at most {most[t]:.4g} kWh there even using all the good: nobody can pay for "
            f"verification (lower kappa or gas_per_order)")
    unpaid = np.logical_not(r.ok_s)
    if unpaid.all():
        reasons.append("no standard agent can pay for its verification electricity at the "
                       "closest prices found")
    elif unpaid.any():
        ids = [agents[i].id for i in sysm.std_idx[unpaid]]
        reasons.append(f"{len(ids)} standard agent(s) cannot pay for their verification at the "
                       f"closest prices found ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    B, Q = r.B, r.Q
    revenue = (r.z * B[None, 1:]).sum(axis=1)
    vcost = (pr.req * (B[1:] / Q[1:])[None, :]).sum(axis=1)
    broke = np.nonzero(revenue <= vcost)[0]
    if broke.size:
        ids = [agents[sysm.prd_idx[k]].id for k in broke]
        reasons.append(f"producer(s) {', '.join(ids)} earn less than their verification costs "
                       f"at the closest point")
    names = ([f"clearing of period {t + 1}'s bids" for t in range(T)]
             + [f"clearing of period {t + 1}'s output" for t in range(T)]
             + [f"budget of producer {agents[j].id}" for j in sysm.prd_idx]
             + [f"price of the good for producer {agents[j].id}" for j in sysm.prd_idx])
    worst = np.argsort(-np.abs(res))[:3]
    listed = [f"{names[k]} off by {abs(res[k]):.3g}" for k in worst if abs(res[k]) > _ACCEPT]
    if listed:
        reasons.append("largest residuals: " + "; ".join(listed))
    incr = [agents[j].id for k, j in enumerate(sysm.prd_idx) if pr.c[k, 0] > 1.0]
    if incr and P:
        reasons.append(f"increasing returns (c > 1) of {', '.join(incr)}: the producer's problem "
                       f"is not concave and an equilibrium may need a corner (full capacity or "
                       f"shut-down periods)")
    return "; ".join(reasons) if reasons else "no agent's condition stands out"


#: Best-response sweeps of :func:`_best_response_equilibrium` and the largest
#: relative change of any bid or offer over a sweep at which it stops.
_BR_SWEEPS = 400
_BR_TOL = 1e-13

#: The iteration stops early when its change has not halved over this many
#: sweeps (a cycle or a crawl, which ran the 400 sweeps for many minutes): the
#: result is then converged only if that change is ≤ 1e-9 like at the end.
_BR_WINDOW = 25

#: Returns to scale the start of the best-response iteration caps ``c`` at,
#: in turn, until the capped economy solves (by the fast pair of methods,
#: ``_METHODS_INCREASING``: the slow ones took minutes per cap on economies
#: whose capped version has no equilibrium near the start either).
_BR_START_CAPS = (1.0, 0.95, 0.9, 0.8)
#: Rounds of sweeps in which standard agents left out but able to pay for their
#: verification at the prices reached rejoin (then the result says who is left out).
_BR_REJOIN_ROUNDS = 4

#: The message of an equilibrium found by best responses.
BEST_RESPONSE_NOTE = ("found by best-response iteration (increasing returns: each producer's best "
                      "response is the best of several local searches, so a global best response "
                      "is not guaranteed; market.verify.is_nash checks it)")


def _best_response_equilibrium(economy: Economy, v: FloatArray, participants: BoolArray,
                               evals: int, aggregate_message: str) -> Equilibrium:
    """Nash equilibrium with increasing returns by best-response iteration.

    Start: the equilibrium of the same economy with every producer's ``c``
    capped at 1 (or lower, :data:`_BR_START_CAPS`), solved by the aggregate
    solver. Then Gauss–Seidel sweeps: every participant in turn plays
    :func:`market.bestresponse.best_response` to the current profile; an
    agent that cannot pay for its verification leaves. Stops when no bid or
    offer moves by more than ``_BR_TOL`` (relative) over a sweep, or when the
    change has not halved over ``_BR_WINDOW`` sweeps (the message says so). The result
    is checked like any other (``converged`` needs the first-order residuals
    of the profile ≤ 1e-9) and carries ``method = "best-response"``.
    """
    start: Equilibrium | None = None
    for cap in _BR_START_CAPS:
        capped = dataclasses.replace(economy, producers=tuple(
            dataclasses.replace(g, c=min(g.c, cap)) for g in economy.producers))
        try:
            start = solve_nash(capped, v=v, methods=_METHODS_INCREASING)
        except SolverError:
            continue
        break
    if start is None:
        raise SolverError(f"Nash: no equilibrium found ({aggregate_message}); increasing returns "
                          f"(c > 1): the economy with c capped at 1 (the start of the best-response "
                          f"iteration) has none either")
    part = participants & ~start.priced_out
    bids = np.where(part[:, None], start.bids, 0.0)
    offers = np.where(part[:, None], start.offers, 0.0)
    arr = economy.arrays
    sweeps_total = 0
    for _attempt in range(_BR_REJOIN_ROUNDS):
        bids, offers, part, sweeps, change, stalled = _sweep_best_responses(
            economy, v, part, bids, offers,
            f"Nash: no equilibrium found ({aggregate_message}); increasing returns (c > 1): the "
            "best-response iteration")
        sweeps_total += sweeps
        # a standard agent left out (priced out during the sweeps, or before them, by the
        # aggregate solver's rounds or the capped start) that could pay for its
        # verification at these prices would enter: it rejoins and the sweeps go on
        rejoin = (~part) & ~arr.producer & entry_possible(
            arr.omega, economy.schedule[None, :] * v[:, None], bids[part].sum(axis=0),
            offers[part].sum(axis=0))
        if not rejoin.any():
            break
        part = part | rejoin
    if rejoin.any():
        names = ", ".join(economy.agents()[int(i)].id for i in np.flatnonzero(rejoin))
        stalled += (f"; not an equilibrium: {names} left during the iteration but could pay "
                    f"for verification at these prices (after {_BR_REJOIN_ROUNDS} rounds of rejoining)")
    scale = arr.bytecoins[part].sum() / bids.sum()
    note = BEST_RESPONSE_NOTE + f"; {sweeps_total} sweeps, last change {change:.2g}{stalled}"
    return evaluate_profile(economy, bids * scale, offers, v=v, participants=part, kind="nash",
                            iterations=evals + sweeps_total, converged=change <= 1e-9 and not rejoin.any(),
                            message=note, method="best-response")


def _sweep_best_responses(economy: Economy, v: FloatArray, part: BoolArray, bids: FloatArray,
                          offers: FloatArray, what: str
                          ) -> tuple[FloatArray, FloatArray, BoolArray, int, float, str]:
    """Gauss–Seidel best-response sweeps: ``(bids, offers, participants, sweeps, change, stalled)``.

    Every participant in turn plays :func:`market.bestresponse.best_response`
    to the current profile; one that is priced out leaves. Stops when no bid
    or offer moves by more than ``_BR_TOL`` (relative) over a sweep, or after
    ``_BR_SWEEPS`` sweeps, or when the change has not halved over ``_BR_WINDOW``
    sweeps (``stalled`` then says so, for the message; else it is empty).
    ``what`` starts the error messages.
    """
    bids, offers = bids.copy(), offers.copy()
    change = np.inf
    changes: list[float] = []
    stalled = ""
    sweeps = 0
    for sweeps in range(1, _BR_SWEEPS + 1):
        old_b, old_o = bids.copy(), offers.copy()
        for i in np.nonzero(part)[0]:
            try:
                with np.errstate(all="ignore"):
                    act = best_response(economy, int(i), bids, offers, v=float(v[i]),
                                        participants=part)
            except NoBestResponse as exc:
                raise SolverError(
                    f"{what} reached, at sweep {sweeps}, a profile where {exc}") from exc
            except (ValueError, ArithmeticError, SolverError) as exc:
                raise SolverError(
                    f"{what} broke down at sweep {sweeps} on agent "
                    f"{economy.agents()[int(i)].id} ({exc})") from exc
            if act.priced_out:
                part = part.copy()
                part[i] = False
                bids[i] = 0.0
                offers[i] = 0.0
                continue
            bids[i], offers[i] = act.bids, act.offers
        with np.errstate(divide="ignore", invalid="ignore"):
            db = np.abs(bids - old_b) / np.maximum(np.abs(bids), 1e-300)
            do = np.abs(offers - old_o) / np.maximum(np.abs(offers), 1e-300)
        change = float(max(np.nanmax(np.where(bids != old_b, db, 0.0)),
                           np.nanmax(np.where(offers != old_o, do, 0.0))))
        changes.append(change)
        if change <= _BR_TOL:
            break
        if sweeps > _BR_WINDOW and change > 0.5 * changes[-_BR_WINDOW - 1]:
            stalled = (f"; stopped: the change did not halve over {_BR_WINDOW} sweeps "
                       f"(was {changes[-_BR_WINDOW - 1]:.2g})")
            break
    if not part[~economy.arrays.producer].any() or not part[economy.arrays.producer].any():
        raise SolverError(f"{what} priced out every standard agent or every producer")
    return bids, offers, part, sweeps, change, stalled


#: The message of an equilibrium under uncertain verification.
EXPECTED_UTILITY_NOTE = ("uncertain verification: expected utility over {K} states, found by "
                         "best-response iteration from the mean-κ equilibrium")


def _expected_utility_equilibrium(economy: Economy, v: FloatArray, max_rounds: int) -> Equilibrium:
    """Nash equilibrium under uncertain ``κ`` (expected utility over the verification states).

    Start: the Nash equilibrium of the same economy with ``κ`` certain at its
    mean (the aggregate solver). Then best-response sweeps
    (:func:`_sweep_best_responses`) with the expected-utility best responses
    of :mod:`market.bestresponse`, whose consumption must be non-negative in
    every state; an agent that cannot buy its verification in the dearest
    state leaves. Once the sweeps settle, a standard agent outside that could
    now pay for its verification in every state (:func:`entry_possible` with
    the largest ``v_k``) returns and the sweeps resume. ``v`` is each agent's
    verification at the mean ``κ``; state ``k``'s is ``v f_k``.
    """
    states = economy.kappa_states
    assert states is not None
    f, _ = states.factors()
    start = solve_nash(economy.with_kappa_states(None), v=v, max_rounds=max_rounds)
    arr = economy.arrays
    part = ~start.priced_out
    bids = np.where(part[:, None], start.bids, 0.0)
    offers = np.where(part[:, None], start.offers, 0.0)
    sweeps_total = 0
    change = np.inf
    history = ParticipantHistory("uncertain κ: the set of agents priced out does not settle "
                                 "(entry and exit cycle)")
    for _round in range(max_rounds):
        bids, offers, part, sweeps, change, stalled = _sweep_best_responses(
            economy, v, part, bids, offers, "Nash (uncertain κ): the best-response iteration")
        sweeps_total += sweeps
        B, Q = bids[part].sum(axis=0), offers[part].sum(axis=0)
        rejoin = (~part) & ~arr.producer & entry_possible(
            arr.omega, economy.schedule[None, :] * (v * float(f.max()))[:, None], B, Q)
        if not rejoin.any():
            break
        part = part | rejoin
        history.record(part)
    else:
        raise SolverError(f"Nash (uncertain κ): participant set not settled after {max_rounds} rounds")
    scale = arr.bytecoins[part].sum() / bids.sum()
    note = (EXPECTED_UTILITY_NOTE.format(K=f.size)
            + f"; {sweeps_total} sweeps, last change {change:.2g}{stalled}")
    return evaluate_profile(economy, bids * scale, offers, v=v, participants=part, kind="nash",
                            iterations=start.iterations + sweeps_total, converged=change <= 1e-9,
                            message=note, method="best-response")


def _good_in_excess(sysm: NashSystem) -> str | None:
    """Why no equilibrium with ``p^0 > 0`` exists, if the good cannot all be used as input.

    When nobody values the good (``α^0 = 0``) its only buyers are producers
    purchasing exactly their input ``Φ_j = Σ_t φ_j^t`` (17) (best bid
    ``b^0 = Φ R^0/(Ω − Φ)``), so post 0 clears only if ``Σ_j Φ_j = Ω``. With
    short-run capacities ``q ≤ K`` (16) the input is at most
    ``Σ_j Σ_t (K_j/θ_j^t)^{1/c_j}``; below ``Ω`` each producer's best response
    cuts its bid on the good below the other's, ``p^0/p^t → 0`` and the
    aggregate system has no root (its residual decays like ``1/B^t``). The
    standard agents' income ``p^0 ω`` then vanishes against ``p^t s^t v``,
    so their ``ok_s`` at the closest point is an artefact, not a price-out.
    Returns the explanation, or ``None`` when the condition does not hold.
    """
    pr = sysm.pr
    if np.any(sysm.s_alpha[:, 0] > 0) or np.any(pr.alpha[:, 0] > 0) or np.any(pr.long_run):
        return None
    phi_max = float(phi(np.broadcast_to(pr.K, pr.theta.shape), pr.theta, pr.c).sum())
    if not phi_max < sysm.Omega:
        return None
    return (f"the producers' input at full capacity, {phi_max:.6g}, is below the good's "
            f"supply {sysm.Omega:.6g} and nobody else values the good (alpha0 = 0), so its "
            f"price falls to 0 and no Nash equilibrium with positive prices exists "
            f"(raise K or lower c)")


def _surplus(sysm: NashSystem, r: Responses) -> FloatArray:
    B, Q = r.B, r.Q
    income = B[0] * sysm.omega / sysm.Omega
    return (income - (B / Q * sysm.s_req).sum(axis=1)) / income


def _profile_from(sysm: NashSystem, r: Responses,
                  economy: Economy) -> tuple[FloatArray, FloatArray]:
    N, T = economy.N, economy.T
    B, Q = r.B, r.Q
    bids = np.zeros((N, T + 1))
    offers = np.zeros((N, T + 1))
    bids[sysm.std_idx] = r.y_s * B[None, :]
    bids[sysm.prd_idx] = r.y_p * B[None, :]
    offers[sysm.std_idx, 0] = sysm.omega
    offers[sysm.prd_idx, 1:] = r.z * Q[None, 1:]
    return bids, offers
