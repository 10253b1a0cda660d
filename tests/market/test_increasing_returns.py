"""Increasing returns (c > 1): the Nash equilibrium is found, flagged when found by a method
that cannot guarantee a global best response, and checked by deviations from global starts."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Utility, Verification
from market.nash import solve_nash
from market.results import Equilibrium
from market.verify import is_nash

#: starts of the deviation search far from the profile: near shutting down, a tenth,
#: half, twice, ten times every choice (a non-concave problem's other optima)
GLOBAL = (1e-3, 0.1, 0.5, 2.0, 10.0)


def check(e: Economy, eq: Equilibrium) -> float:
    assert eq.converged, eq.message
    assert eq.max_residual <= 1e-9
    chk = is_nash(e, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                  starts=3, scales=GLOBAL)
    assert chk.max_gain <= 1e-9, (chk.max_gain, chk.worst_agent)
    return chk.max_gain


@lru_cache(maxsize=None)
def symmetric(c: float) -> Economy:
    """Two identical producers with increasing returns and slack capacity."""
    return Economy(T=2, standard=(StandardGroup("a", 3, 100.0, (0.4, 0.6), 0.0, 1000.0),
                                  StandardGroup("b", 2, 25.0, (0.7, 0.3), 0.0, 250.0)),
                   producers=(ProducerGroup("plant", 2, (40.0, 60.0), c, K=1e6,
                                            alpha=(0.5, 0.5), bytecoins=1000.0),),
                   verification=Verification(kappa=6.6e-8, schedule=(0.5, 0.5),
                                             gas_per_order=GasPerOrder()))


@lru_cache(maxsize=None)
def solved(c: float) -> Equilibrium:
    return solve_nash(symmetric(c))


@pytest.mark.parametrize("c", [1.2, 1.5])
def test_symmetric_increasing_returns(c: float) -> None:
    e = symmetric(c)
    eq = solved(c)
    check(e, eq)
    if eq.method == "best-response":
        assert eq.message.startswith("found by best-response iteration")
        assert "not guaranteed" in eq.message


def test_heterogeneous_returns() -> None:
    """c = 0.7 with slack capacity, c = 1 with binding capacity, c = 1.4 with slack capacity."""
    e = Economy(T=3, standard=(StandardGroup("a", 3, 100.0, (0.3, 0.4, 0.3), 0.0, 1000.0),
                               StandardGroup("b", 3, 20.0, (0.2, 0.3, 0.5), 0.0, 200.0)),
                producers=(ProducerGroup("dec", 1, (40.0, 60.0, 40.0), 0.7, K=1e7,
                                         alpha=(0.3, 0.4, 0.3), bytecoins=500.0),
                           ProducerGroup("flat", 1, (50.0, 50.0, 50.0), 1.0, K=1200.0,
                                         alpha=(0.3, 0.4, 0.3), bytecoins=500.0),
                           ProducerGroup("inc", 1, (30.0, 45.0, 30.0), 1.4, K=1e6,
                                         alpha=(0.3, 0.4, 0.3), bytecoins=500.0)),
                verification=Verification(kappa=6.6e-8, schedule=(1 / 3, 1 / 3, 1 / 3)))
    eq = solve_nash(e)
    check(e, eq)


def test_method_is_reported() -> None:
    from emg.solve import equilibrium_json

    e = symmetric(1.5)
    eq = solved(1.5)
    doc = equilibrium_json(e, eq)
    assert doc["method"] == eq.method in ("aggregate", "best-response")
    assert np.all(np.asarray(doc["quantities"]) > 0)


def test_agents_priced_out_before_the_best_response_iteration_rejoin() -> None:
    """Expensive verification (κ = 1e-3) prices standard agents out while the aggregate
    solver still runs; with increasing returns the best-response iteration takes over.
    Agents that can pay for their verification at the prices it reaches must be back in
    (it once left out three who could, identical to agents kept in: is_nash gain 1)."""
    e = Economy(T=1, standard=(
        StandardGroup("s0", 2, 34.8134200879807, (0.27356561705701266,), 0.3, 373.2281127961566,
                      Utility("ces", 2.0)),
        StandardGroup("s1", 3, 64.28149356518938, (0.17954542952140118,), 0.3, 77.29854508559586)),
        producers=(ProducerGroup("p0", 2, (39.918946080505236,), 1.2452900582805326, K=1e7,
                                 alpha=(0.208247032786387,), bytecoins=193.15813685691364),
                   ProducerGroup("p1", 1, (48.43673532713783,), 1.1255188063899604, K=2175.905752420653,
                                 alpha=(0.6175647824534279,), bytecoins=526.4712976465839),
                   ProducerGroup("p2", 1, (17.074452806828536,), 1.1657788218136746, K=291.1099133825679,
                                 alpha=(0.8187540025677565,), bytecoins=456.74137537020016)),
        verification=Verification(kappa=1e-3, schedule=(1.0,),
                                  gas_per_order=GasPerOrder(standard=60000, producer=80000)))
    eq = solve_nash(e)
    check(e, eq)
    assert not eq.priced_out[:5].any()  # every standard agent can pay at these prices
