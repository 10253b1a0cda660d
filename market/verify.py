"""The independent Nash test: what any agent gains by deviating alone.

:func:`is_nash` solves every agent's deviation problem by a *different*
method from the solver's (SLSQP over its own bids and offers in logs, from
several starts), so it checks the solver rather than repeating it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from market.bestresponse import action_utility
from market.model import BoolArray, Economy, FloatArray
from market.participants import entry_possible
from market.posts import (
    expected_utility,
    expected_utility_index,
    input_requirement,
    phi,
    utility_index,
    utility_values,
)
from market.results import NashCheck


def is_nash(economy: Economy, bids: FloatArray, offers: FloatArray, *,
            v: FloatArray | None = None, participants: BoolArray | None = None,
            starts: int = 4, seed: int = 0, scales: tuple[float, ...] = ()) -> NashCheck:
    """Largest relative utility gain any agent gets by deviating alone.

    For every participant the deviation problem — maximise utility over its
    own bids (and a producer's offers, and its long-run capacity) subject to
    its budget (1)/(3), non-negative consumption and, for a producer, the
    input it buys covering ``Σφ + ρK`` — is solved with SLSQP over the logs of
    its choice variables, from the profile itself and ``starts − 1`` random
    perturbations of it. The gain is reported in consumption-equivalent terms
    (ratio of :func:`market.posts.utility_index` minus 1), so ``1e-9`` means the
    deviation is worth a 1e-9 share more of everything.

    ``scales`` adds global starts: for each factor ``f`` the search also
    starts from the agent's own choices all multiplied by ``f`` (e.g.
    ``(1e-3, 0.1, 10)``: near shutting down, a tenth, ten times), which is
    what a non-concave (increasing-returns) deviation problem needs.

    An agent of the same group as one already checked, playing the same
    action with the same ``v``, faces the same deviation problem: it gets
    that agent's gain without a second search.

    Agents outside ``participants`` are checked for entry: a standard agent
    priced out must not be able to buy its verification electricity.

    Uncertain ``κ`` (:attr:`Economy.kappa_states`): the objective is the
    expected utility over the verification states
    (:func:`market.posts.expected_utility`), consumption must be
    non-negative in the dearest state, entry needs that state's verification,
    and gains are ratios of :func:`market.posts.expected_utility_index`.
    ``v`` is then each agent's verification at the mean ``κ``.

    An agent for which the search finds no feasible point at all (not even
    its own action) gets a gain of NaN, and ``max_gain`` is NaN: the check
    could not be made, so no comparison ``max_gain <= tol`` passes.

    Returns
    -------
    NashCheck
    """
    arr = economy.arrays
    N = economy.N
    v = economy.verification_energy() if v is None else np.asarray(v, dtype=float)
    part = np.ones(N, dtype=bool) if participants is None else np.asarray(participants, bool)
    bids = np.asarray(bids, dtype=float)
    offers = np.asarray(offers, dtype=float)
    B = bids[part].sum(axis=0)
    Q = offers[part].sum(axis=0)
    rng = np.random.default_rng(seed)
    gains = np.zeros(N)
    agents = economy.agents()
    # an agent of the same group playing the same action with the same v as one
    # already checked has the same deviation problem (the others' totals too)
    checked: dict[tuple[str, str, bytes, bytes, float], float] = {}
    # uncertain κ: entry needs the verification of the dearest state
    states = economy.kappa_states
    v_scale = float(states.factors()[0].max()) if states is not None else 1.0
    for i in range(N):
        if not part[i]:
            gains[i] = 1.0 if (not arr.producer[i] and entry_possible(
                arr.omega[i], economy.schedule * float(v[i]) * v_scale, B, Q)) else 0.0
            continue
        key = (agents[i].kind, agents[i].group, bids[i].tobytes(), offers[i].tobytes(), float(v[i]))
        if key in checked:
            gains[i] = checked[key]
            continue
        R = B - bids[i]
        S = Q - offers[i]
        u0 = action_utility(economy, i, bids[i], offers[i], R, S, float(v[i]))
        best = _deviate(economy, i, bids[i], offers[i], R, S, float(v[i]), rng, starts, scales)
        row = arr.row(i)
        if best == -np.inf:
            # the search found no feasible point, not even the profile's own
            # action: nothing was checked, which must not read as "no gain"
            gains[i] = np.nan
            checked[key] = np.nan
            continue
        index = utility_index if economy.kappa_states is None else expected_utility_index
        idx0 = index(np.array([u0]), row)[0]
        idx1 = index(np.array([max(best, u0)]), row)[0]
        with np.errstate(divide="ignore"):  # an own index of 0 (nothing consumed): any gain is infinite
            gains[i] = idx1 / idx0 - 1.0
        checked[key] = float(gains[i])
    worst = int(np.nanargmax(gains)) if not np.all(np.isnan(gains)) else 0
    if np.any(np.isnan(gains)):
        worst = int(np.flatnonzero(np.isnan(gains))[0])
    return NashCheck(gains=gains, max_gain=float(gains[worst]), worst_agent=worst)


def _deviate(economy: Economy, i: int, b: FloatArray, o: FloatArray, R: FloatArray, S: FloatArray,
             v: float, rng: np.random.Generator, starts: int,
             scales: tuple[float, ...] = ()) -> float:
    """Best utility agent ``i`` finds by SLSQP over its own (log) choices."""
    arr = economy.arrays
    T = economy.T
    producer = bool(arr.producer[i])
    long_run = producer and bool(arr.long_run[i])
    row = arr.row(i)
    s = economy.schedule
    states = economy.kappa_states
    # uncertain κ: verification in each state, and the dearest one every plan must cover
    f, probs = states.factors() if states is not None else (np.ones(1), np.ones(1))
    v_hat = v * float(f.max())
    if producer:
        # variables: log b^0..b^T, log q^1..q^T, and in the long run log K with
        # q^t <= K as constraints (the epigraph of max_t q^t: a kink at tied
        # peaks, which defeats SLSQP's finite-difference gradients)
        parts = [np.maximum(b, 1e-12 * b.sum()), np.maximum(o[1:], 1e-12)]
        if long_run:
            parts.append(np.array([max(float(o[1:].max()), 1e-12)]))
        scale = np.concatenate(parts)
    else:
        valued0 = arr.alpha[i, 0] > 0
        scale = np.maximum(b, 1e-12 * b.sum())
        if not valued0:
            scale = scale[1:]

    def unpack(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        vals = scale * np.exp(np.minimum(z, 700.0))
        if producer:
            return vals[:T + 1], np.concatenate(([0.0], vals[T + 1:2 * T + 1]))
        bb = vals if arr.alpha[i, 0] > 0 else np.concatenate(([0.0], vals))
        return bb, o

    def need_of(z: FloatArray, oo: FloatArray) -> float:
        """Input ``Σ_t φ^t + ρK`` with the long-run ``K`` the variable itself."""
        if not long_run:
            return float(input_requirement(oo[None, :], row)[0])
        K = float(scale[-1] * np.exp(min(float(z[-1]), 700.0)))
        return float(phi(oo[1:], arr.theta[i], arr.c[i]).sum()) + float(arr.rho[i]) * K

    def outcome(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        bb, oo = unpack(z)
        Bt = R + bb
        Qt = S + oo
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(Bt > 0, bb * Qt / np.where(Bt > 0, Bt, 1.0), 0.0)
        return bb, oo, x

    def objective(z: FloatArray) -> float:
        bb, oo, x = outcome(z)
        cons = x.copy()
        cons[0] -= need_of(z, oo)
        if states is not None:
            cs = np.repeat(cons[None, None, :], f.size, axis=0)
            cs[:, 0, 1:] -= s[None, :] * (v * f)[:, None]
            return -float(expected_utility(np.maximum(cs, 1e-300), probs, row)[0])
        cons[1:] -= s * v
        u = float(utility_values(np.maximum(cons, 1e-300)[None, :], row)[0])
        return -u

    def constraints(z: FloatArray) -> FloatArray:
        bb, oo, x = outcome(z)
        Bt = R + bb
        Qt = S + oo
        if producer:
            income = float((oo[1:] * Bt[1:] / Qt[1:]).sum())
        else:
            income = float(Bt[0] * oo[0] / Qt[0])
        need = need_of(z, oo)
        rel = max(abs(income), 1e-300)
        cons = [(income - bb.sum()) / rel]
        e = (x[1:] - s * v_hat) / np.maximum(x[1:], 1e-300)
        cons.extend(e)
        if producer:
            cons.append((x[0] - need) / max(need, 1e-300))
            if long_run:
                K = scale[-1] * np.exp(min(float(z[-1]), 700.0))
                cons.extend((K - oo[1:]) / K)
            elif np.isfinite(arr.K[i]):
                cons.extend((arr.K[i] - oo[1:]) / arr.K[i])
        return np.asarray(cons)

    best = -np.inf
    z0 = np.zeros(scale.size)
    with np.errstate(all="ignore"):
        # the profile's own action is as feasible as the solver made it: a
        # deviation may be as far outside (its utility is compared with the
        # own action's), but no further than rounding (_FEASIBLE)
        own = float(np.min(constraints(z0)))
    tol = max(_FEASIBLE, -own) if np.isfinite(own) else _FEASIBLE
    # SLSQP's ftol is absolute: scale the objective to about 1 at the own action
    # (a CES agent's utility can be ~1e4, where 1e-15 is out of reach and every
    # start failed); a positive factor leaves the maximiser unchanged
    with np.errstate(all="ignore"):
        u_own = objective(z0)
    u_scale = max(1.0, abs(u_own)) if np.isfinite(u_own) else 1.0
    trials = [z0 if k == 0 else z0 + rng.normal(0.0, 0.05 * k, size=z0.size) for k in range(starts)]
    trials += [z0 + np.log(f) for f in scales]
    for start in trials:
        try:
            with np.errstate(all="ignore"):
                sol = optimize.minimize(lambda z: objective(z) / u_scale, start, method="SLSQP",
                                        constraints=[{"type": "ineq", "fun": constraints}],
                                        options={"ftol": 1e-15, "maxiter": 500})
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            continue
        with np.errstate(all="ignore"):
            worst = float(np.min(constraints(sol.x)))
            if worst >= -tol:
                best = max(best, -objective(sol.x))
            elif worst >= -_SLSQP_FEASIBLE and np.isfinite(own):
                inside = _project(constraints, sol.x, tol)
                if inside is None:
                    inside = _pull_back(constraints, z0, sol.x, tol)
                best = max(best, -objective(inside))
    return best


#: How far outside its constraints (relative) a deviation may be and still
#: count (rounding; or the profile's own action's violation, if larger).
#: SLSQP stops up to ~1e-10 outside, and an overrun is worth its leverage in
#: utility: a producer that consumes 1/38 of the good it buys (the rest is
#: input) turns a budget overrun of 3e-11 into a "gain" of 1.7e-9.
_FEASIBLE = 1e-13

#: SLSQP's own feasibility at its stopping point: a solution this close is
#: moved inside (:func:`_project`, else :func:`_pull_back`) rather than discarded.
_SLSQP_FEASIBLE = 1e-10


def _project(constraints: Callable[[FloatArray], FloatArray], z: FloatArray,
             tol: float) -> FloatArray | None:
    """The point nearest ``z`` where the nearly active constraints hold: Gauss–Newton steps.

    Each step is the least-norm ``d`` with ``J d = max(c, 0) − c`` on the
    constraints within 1e-9 of active (``J`` by central differences): the
    violated ones are moved to 0, the others kept where they are. A move of
    the size of the violation costs the deviation only what the violation was
    worth, so a real gain survives (pulling back towards the own action, on
    the boundary of the budget too, shrank it in proportion). None if three
    steps do not bring every constraint within ``tol``.
    """
    h = 1e-7
    for _ in range(3):
        c = constraints(z)
        if not np.all(np.isfinite(c)):
            return None
        if float(c.min()) >= -tol:
            return z
        act = c < 1e-9
        J = np.empty((int(act.sum()), z.size))
        for j in range(z.size):
            e = np.zeros(z.size)
            e[j] = h
            J[:, j] = (constraints(z + e)[act] - constraints(z - e)[act]) / (2.0 * h)
        d = np.linalg.lstsq(J, np.maximum(c[act], 0.0) - c[act], rcond=None)[0]
        z = z + d
    c = constraints(z)
    return z if np.all(np.isfinite(c)) and float(c.min()) >= -tol else None


def _pull_back(constraints: Callable[[FloatArray], FloatArray], z0: FloatArray, z1: FloatArray,
               tol: float) -> FloatArray:
    """The point nearest ``z1`` on the segment from the feasible ``z0`` whose constraints
    hold to ``tol`` (bisection on the segment)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(np.min(constraints(z0 + mid * (z1 - z0)))) >= -tol:
            lo = mid
        else:
            hi = mid
    return z0 + lo * (z1 - z0)
