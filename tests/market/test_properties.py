"""Properties of the Nash equilibrium over random small economies (Hypothesis).

Economies: 1-2 periods, 2-4 standard agents, 2-3 producers with ``c`` in
[0.6, 1] and slack capacity, log utility, some verification. On every
``solve_nash`` result that the solver reports converged:

* budget exhaustion: every participant spends its income (eqs 1, 3);
* market clearing and energy accounting: ``Σ_i x_i^t = Q^t`` on every post and
  ``Σ_i E_i^t + V_i^t = Q^t`` per period;
* homogeneity of degree one in bids: scaling every bid by ``k`` leaves
  allocations, consumption and the first-order residuals unchanged;
* money neutrality: scaling every bytecoin balance by ``k`` scales the prices
  by ``k`` and leaves allocations unchanged.

Economies the solver reports as not converged (or rejects) are skipped with
``assume``; each test also asserts that most examples did converge, so the
properties are not vacuous. Example counts are small so the file runs in
well under 30 s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from market.errors import SolverError
from market.model import Economy, ProducerGroup, StandardGroup, Verification
from market.nash import solve_nash
from market.posts import settle
from market.profile import evaluate_profile
from market.results import Equilibrium

#: Examples per property; the solver takes ~0.1 s on these economies.
EXAMPLES = 25
#: Share of examples that must converge for a property test to count.
MIN_CONVERGED = 0.75

_positive = st.floats(min_value=0.1, max_value=1.0)


@st.composite
def economies(draw: st.DrawFn) -> Economy:
    """A small heterogeneous economy (every agent its own group)."""
    T = draw(st.integers(1, 2))
    M = draw(st.integers(2, 4))
    P = draw(st.integers(2, 3))
    weights = st.tuples(*([_positive] * T))
    std = tuple(StandardGroup(name=f"s{h}", count=1,
                              omega=draw(st.floats(5.0, 50.0)),
                              alpha=draw(weights),
                              bytecoins=draw(st.floats(10.0, 100.0)))
                for h in range(M))
    prod = tuple(ProducerGroup(name=f"p{j}", count=1,
                               theta=draw(st.tuples(*([st.floats(5.0, 30.0)] * T))),
                               c=draw(st.floats(0.6, 1.0)),
                               K=1e12,  # slack: capacity never binds
                               alpha=draw(weights),
                               bytecoins=draw(st.floats(10.0, 100.0)))
                 for j in range(P))
    kappa = draw(st.sampled_from([0.0, 1e-7, 1e-6]))
    return Economy(T=T, standard=std, producers=prod,
                   verification=Verification(kappa=kappa, schedule=(1.0 / T,) * T))


def _solve(economy: Economy) -> Equilibrium | None:
    """The Nash equilibrium, or None if the solver does not report one."""
    try:
        eq = solve_nash(economy)
    except SolverError:
        return None
    return eq if eq.converged else None


def _over_economies(prop: Callable[[Economy, Equilibrium], None]) -> None:
    """Check ``prop`` on the converged examples, and that most examples converged."""
    outcomes: list[bool] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(economies())
    def check(economy: Economy) -> None:
        eq = _solve(economy)
        outcomes.append(eq is not None)
        assume(eq is not None)
        assert eq is not None
        prop(economy, eq)

    check()
    assert sum(outcomes) >= MIN_CONVERGED * len(outcomes), (
        f"only {sum(outcomes)} of {len(outcomes)} economies converged")


def test_budgets_are_exhausted() -> None:
    def prop(economy: Economy, eq: Equilibrium) -> None:
        arr = economy.arrays
        part = ~eq.priced_out
        p = eq.prices
        income = np.where(arr.producer, (eq.offers[:, 1:] * p[None, 1:]).sum(axis=1),
                          p[0] * arr.omega)
        np.testing.assert_allclose(eq.bids.sum(axis=1)[part], income[part], rtol=1e-9)
        assert np.all(eq.bids[~part] == 0.0)

    _over_economies(prop)


def test_markets_clear_and_energy_is_accounted_for() -> None:
    def prop(economy: Economy, eq: Equilibrium) -> None:
        part = ~eq.priced_out
        Q = eq.offers.sum(axis=0)
        # every post clears: what is allocated is what was offered (Q^0 = Ω)
        np.testing.assert_allclose(eq.allocations.sum(axis=0), Q, rtol=1e-12)
        # Σ_i E_i^t + V_i^t = Q^t, V_i^t = s^t v_i for participants
        V = np.where(part[:, None], economy.schedule[None, :] * eq.verification[:, None], 0.0)
        np.testing.assert_allclose((eq.consumption[:, 1:] + V).sum(axis=0), Q[1:], rtol=1e-12)
        assert np.all(eq.consumption[part][:, 1:] >= 0.0)

    _over_economies(prop)


def test_homogeneous_of_degree_one_in_bids() -> None:
    def prop(economy: Economy, eq: Equilibrium) -> None:
        part = ~eq.priced_out
        for k in (1e-3, 7.0):
            scaled = settle(eq.bids * k, eq.offers)
            np.testing.assert_allclose(scaled.allocations, eq.allocations, rtol=1e-12, atol=0.0)
            np.testing.assert_allclose(scaled.prices, eq.prices * k, rtol=1e-12)
            again = evaluate_profile(economy, eq.bids * k, eq.offers, v=eq.verification,
                                     participants=part, kind="nash", iterations=0, converged=True)
            np.testing.assert_allclose(again.consumption, eq.consumption, rtol=1e-12, atol=1e-12)
            # still an equilibrium: every first-order condition holds as before
            assert np.all(again.residuals[part] <= 1e-9)

    _over_economies(prop)


def test_money_is_neutral() -> None:
    def prop(economy: Economy, eq: Equilibrium) -> None:
        k = 3.0
        eq_k = _solve(economy.scale_bytecoins(k))
        assert eq_k is not None, "the scaled economy must solve as the original did"
        np.testing.assert_array_equal(eq_k.priced_out, eq.priced_out)
        np.testing.assert_allclose(eq_k.prices, eq.prices * k, rtol=1e-9)
        np.testing.assert_allclose(eq_k.relative_prices, eq.relative_prices, rtol=1e-9)
        np.testing.assert_allclose(eq_k.allocations, eq.allocations, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(eq_k.offers, eq.offers, rtol=1e-9, atol=1e-12)

    _over_economies(prop)
