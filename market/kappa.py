"""Uncertain verification: ``κ`` as a finite distribution of verification states.

A scenario may give ``κ`` (kWh per gas) as a distribution instead of a number
(docs/scenarios.md, "Uncertain κ"). The economics always works on a *finite*
list of states ``κ_k`` with probabilities ``π_k``:

* a list of values with probabilities is used as it is;
* a uniform range and a truncated lognormal are replaced by Gauss–Lobatto
  quadrature with a stated number of nodes (on ``κ`` for the uniform, on
  ``ln κ`` for the lognormal, whose density weights the nodes). Lobatto's
  nodes include both ends of the support, so the dearest state is the
  largest ``κ`` the distribution can draw: a plan feasible in every state
  is feasible whatever is drawn;
* a time series (read from a CSV file) is, for the economics, its empirical
  distribution (every distinct value with its frequency); the simulation
  plays the series itself, round after round.

Unbounded support is refused: an agent must consume ``x^t ≥ s^t v_k`` in every
state, so with no largest ``κ`` no consumption plan is feasible in every state.
A scalar ``κ`` has no states (``Verification.states is None``) and keeps its
meaning exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from market.errors import ScenarioError

KappaForm = Literal["discrete", "uniform", "lognormal", "series"]

#: default number of Gauss–Lobatto nodes for a continuous distribution
DEFAULT_NODES = 8
#: fewest and most nodes (Lobatto's include both ends; every node is one more
#: state each best response sums over)
MIN_NODES, MAX_NODES = 2, 64
#: most states of a discrete distribution or distinct values of a series
MAX_STATES = 256
#: longest κ series (rows of the CSV file)
MAX_SERIES = 1_000_000


@dataclass(frozen=True)
class KappaStates:
    """``κ`` as finitely many verification states.

    Attributes
    ----------
    values : tuple of float
        ``κ_k`` in kWh per gas (ascending, distinct).
    probs : tuple of float
        ``π_k > 0``, summing to 1.
    form : str
        Where the states come from: ``"discrete"``, ``"uniform"``,
        ``"lognormal"`` (quadrature) or ``"series"`` (empirical distribution).
    nodes : int or None
        Quadrature nodes of a continuous form (None otherwise).
    series : tuple of float or None
        The κ series of a ``"series"`` form, one value per round, in order.
    median, sigma : float or None
        A lognormal's parameters (``ln κ ~ N(ln median, sigma²)``), for :meth:`draw`.
    """

    values: tuple[float, ...]
    probs: tuple[float, ...]
    form: KappaForm = "discrete"
    nodes: int | None = None
    series: tuple[float, ...] | None = None
    median: float | None = None
    sigma: float | None = None

    def draw(self, rng: np.random.Generator, round: int) -> float:
        """Round ``round``'s ``κ``: drawn from the distribution itself, or read from the series.

        A discrete distribution draws one of its values; a uniform draws
        ``κ ~ U[low, high]``; a truncated lognormal draws ``ln κ`` from the
        normal truncated to ``[ln low, ln high]`` by inverting its distribution
        function; a series gives its entry ``round`` (repeating from the start
        when the run is longer). Continuous draws are not the quadrature nodes,
        but never leave ``[low, high]``, whose ends are states, so a plan
        feasible in every state is feasible in every round.
        """
        if self.series is not None:
            return self.series[round % len(self.series)]
        low, high = self.values[0], self.values[-1]
        if self.form == "uniform":
            return float(min(max(rng.uniform(low, high), low), high))
        if self.form == "lognormal" and self.median is not None and self.sigma is not None:
            mu, s = math.log(self.median), self.sigma
            a = float(special.ndtr((math.log(low) - mu) / s))
            b = float(special.ndtr((math.log(high) - mu) / s))
            y = mu + s * float(special.ndtri(a + (b - a) * rng.random()))
            return float(min(max(math.exp(y), low), high))
        return float(self.values[int(rng.choice(len(self.values), p=np.asarray(self.probs)))])

    @property
    def mean(self) -> float:
        """``κ̄ = Σ_k π_k κ_k`` (kWh per gas)."""
        return float(np.dot(self.probs, self.values))

    @property
    def std(self) -> float:
        """Standard deviation of ``κ`` over the states (kWh per gas)."""
        v = np.asarray(self.values)
        return float(math.sqrt(max(float(np.dot(self.probs, (v - self.mean) ** 2)), 0.0)))

    @property
    def high(self) -> float:
        """The largest ``κ_k`` (what every consumption plan must cover)."""
        return max(self.values)

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(f_k, π_k)`` with ``f_k = κ_k/κ̄``: state ``k``'s verification is ``v_k = f_k v̄``.

        Raises
        ------
        ValueError
            ``κ̄ = 0`` (every state is 0: there is nothing uncertain).
        """
        m = self.mean
        if not m > 0:
            raise ValueError("kappa states with mean 0 have no factors")
        return np.asarray(self.values, dtype=float) / m, np.asarray(self.probs, dtype=float)


def check_states(states: KappaStates, field: str, max_kappa: float) -> None:
    """Check a :class:`KappaStates` (values in ``[0, max_kappa]``, probabilities summing to 1).

    Raises
    ------
    ScenarioError
        Naming ``field`` (``verification.kappa``).
    """
    v, p = states.values, states.probs
    if not v or len(v) != len(p):
        raise ScenarioError(f"{field}: needs as many probabilities as values (at least one), "
                            f"got {len(v)} values and {len(p)} probabilities")
    for k, x in enumerate(v):
        if not (math.isfinite(x) and 0.0 <= x <= max_kappa):
            raise ScenarioError(f"{field}.values[{k}]: must be in [0, {max_kappa:g}] kWh/gas, got {x!r}")
    for k, x in enumerate(p):
        if not (math.isfinite(x) and x > 0.0):
            raise ScenarioError(f"{field}.probs[{k}]: must be a finite number > 0, got {x!r}")
    if abs(sum(p) - 1.0) > 1e-9:
        raise ScenarioError(f"{field}.probs: must sum to 1, sums to {sum(p)!r}")
    if any(b <= a for a, b in zip(v, v[1:])):
        raise ScenarioError(f"{field}.values: must be distinct and ascending")


def discrete_states(values: list[float], probs: list[float]) -> KappaStates:
    """States from values and probabilities (sorted ascending; equal values merged)."""
    merged: dict[float, float] = {}
    for x, q in zip(values, probs):
        merged[x] = merged.get(x, 0.0) + q
    keys = sorted(merged)
    return KappaStates(tuple(keys), tuple(merged[k] for k in keys), "discrete")


def lobatto(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Lobatto nodes and weights on ``[−1, 1]`` (``nodes ≥ 2``; both ends are nodes).

    The interior nodes are the roots of ``P'_{n−1}``, the weights
    ``2/(n(n−1) P_{n−1}(x)²)``; the rule integrates polynomials of degree
    ``≤ 2n − 3`` exactly.
    """
    n = nodes
    if n < 2:
        raise ValueError("Gauss-Lobatto needs at least 2 nodes")
    c = np.zeros(n)
    c[-1] = 1.0  # P_{n-1}
    inner = np.polynomial.legendre.legroots(np.polynomial.legendre.legder(c)) if n > 2 else np.array([])
    x = np.concatenate(([-1.0], np.sort(np.real(inner)), [1.0]))
    w = 2.0 / (n * (n - 1) * np.polynomial.legendre.legval(x, c) ** 2)
    return x, w


def uniform_states(low: float, high: float, nodes: int) -> KappaStates:
    """Uniform ``κ`` on ``[low, high]`` by ``nodes``-point Gauss–Lobatto quadrature.

    The nodes are ``low + (high − low)(1 + ξ_k)/2`` and the weights ``w_k/2``
    (``ξ_k, w_k`` of :func:`lobatto`): ``low`` and ``high`` are states, and
    expectations of polynomials of degree ``≤ 2·nodes − 3`` in ``κ`` are
    exact, the mean among them.
    """
    xi, w = lobatto(nodes)
    vals = low + (high - low) * (1.0 + xi) / 2.0
    vals[0], vals[-1] = low, high
    return KappaStates(tuple(float(x) for x in vals), tuple(float(x) for x in w / w.sum()),
                       "uniform", nodes=nodes)


def lognormal_states(median: float, sigma: float, low: float, high: float,
                     nodes: int) -> KappaStates:
    """Lognormal ``κ`` (``ln κ ~ N(ln median, sigma²)``) truncated to ``[low, high]``.

    Gauss–Lobatto quadrature on ``y = ln κ`` over ``[ln low, ln high]``: node
    ``y_k`` gets weight ``w_k φ((y_k − ln median)/sigma)``, normalised to sum
    to 1 (the truncated density; the normal density's constant cancels).
    """
    xi, w = lobatto(nodes)
    a, b = math.log(low), math.log(high)
    y = a + (b - a) * (1.0 + xi) / 2.0
    dens = w * np.exp(-0.5 * ((y - math.log(median)) / sigma) ** 2)
    if not dens.sum() > 0:
        raise ScenarioError("verification.kappa: the lognormal has no mass in [low, high] "
                            "(too far in its tail for floating point)")
    vals = np.exp(y)
    vals[0], vals[-1] = low, high
    return KappaStates(tuple(float(x) for x in vals), tuple(float(x) for x in dens / dens.sum()),
                       "lognormal", nodes=nodes, median=median, sigma=sigma)


def series_states(series: list[float]) -> KappaStates:
    """The empirical distribution of a κ series (each distinct value with its frequency)."""
    vals, counts = np.unique(np.asarray(series, dtype=float), return_counts=True)
    return KappaStates(tuple(float(x) for x in vals), tuple(float(c) / len(series) for c in counts),
                       "series", series=tuple(float(x) for x in series))


def with_dispersion(states: KappaStates, scale: float) -> KappaStates:
    """The states pulled toward their mean: ``κ̄ + scale (κ_k − κ̄)`` (same probabilities).

    ``scale = 1`` returns the same values; ``scale → 0`` shrinks the
    dispersion to nothing while keeping the mean (the limit checks and the
    precautionary-demand figure use it). A uniform stays a uniform on the
    shrunk range; anything else draws from its shrunk states (:meth:`KappaStates.draw`).
    """
    m = states.mean
    vals = tuple(m + scale * (x - m) for x in states.values)
    return KappaStates(vals, states.probs, states.form, states.nodes, None)
