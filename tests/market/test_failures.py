"""Solver failures say why, in the economist's terms (issue 13, "say why it failed").

Economies of our own, built in code, of the kinds that have no equilibrium
(or whose competitive benchmark does not exist): the structural reasons are
found before any solving, so these tests are fast.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from market.errors import SolverError
from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Utility, Verification
from market.nash import no_equilibrium_reason, solve_nash


def economy(*, n_std: int = 2, alpha0: float = 0.0, n_prod: int = 2, prod_alpha: float = 0.3,
            kappa: float = 6.6e-8, utility: Utility | None = None, c: float = 0.8,
            K: float = 2000.0) -> Economy:
    T = 2
    std = (StandardGroup("buyers", n_std, 60.0, (0.4, 0.6), alpha0, 500.0,
                         utility or Utility()),)
    prd = (ProducerGroup("plants", n_prod, (30.0, 50.0), c, K=K,
                         alpha=(prod_alpha, prod_alpha) if prod_alpha else (0.0, 0.0),
                         alpha0=0.0 if prod_alpha else 1.0, bytecoins=500.0),)
    return Economy(T=T, standard=std, producers=prd,
                   verification=Verification(kappa=kappa, schedule=(0.5, 0.5),
                                             gas_per_order=GasPerOrder()))


def test_single_producer_facing_log_demand() -> None:
    e = economy(n_prod=1, prod_alpha=0.0)
    t0 = time.perf_counter()
    with pytest.raises(SolverError, match=r"single producer \(plants-0\).*revenue does not fall"):
        solve_nash(e)
    assert time.perf_counter() - t0 < 1.0  # decided before solving


def test_single_producer_with_elastic_ces_demand_is_not_ruled_out() -> None:
    e = economy(n_prod=1, prod_alpha=0.0, utility=Utility("ces", 2.0))
    assert no_equilibrium_reason(e, np.ones(e.N, dtype=bool), e.verification_energy()) is None


def test_single_standard_agent_valuing_the_good() -> None:
    e = economy(n_std=1, alpha0=0.5)
    with pytest.raises(SolverError, match=r"single standard agent \(buyers-0\).*free to it"):
        solve_nash(e)


def test_single_standard_agent_not_valuing_the_good_solves() -> None:
    eq = solve_nash(economy(n_std=1))
    assert eq.converged and np.isfinite(eq.max_residual)


def test_nobody_can_pay_for_verification() -> None:
    e = economy(kappa=1.0)  # 60,000 kWh per standard order against a few thousand kWh of supply
    with pytest.raises(SolverError, match=r"nobody can pay for verification.*lower kappa"):
        solve_nash(e)
    # the aggregate residual of a diverged system is not the message any more
    try:
        solve_nash(e)
    except SolverError as exc:
        assert "e+1" not in str(exc)


def test_some_can_pay_is_not_ruled_out() -> None:
    e = economy(kappa=1e-3)
    assert no_equilibrium_reason(e, np.ones(e.N, dtype=bool), e.verification_energy()) is None


def test_a_profile_failing_its_conditions_is_not_reported_as_converged_by_the_solvers_word() -> None:
    """The aggregate solver may stop on its own rule ("The solution converged.") at a
    profile whose first-order conditions fail: the result then names the agents whose
    conditions fail and by how much, never the solver's "converged" alone."""
    from market.profile import evaluate_profile

    e = economy()
    eq = solve_nash(e)
    assert eq.converged
    bids = eq.bids.copy()
    bids[0] *= 1.01  # buyers-0 bids 1% more than its budget
    everyone = np.ones(e.N, dtype=bool)
    out = evaluate_profile(e, bids, eq.offers, v=eq.verification, participants=everyone,
                           kind="nash", iterations=1, converged=True, message="The solution converged.")
    assert not out.converged
    assert out.message.startswith("not an equilibrium to 1e-9: the first-order conditions")
    assert "buyers-0 (off by" in out.message
    assert "(the solver stopped with: The solution converged.)" in out.message
    # a profile that is an equilibrium keeps the solver's message
    same = evaluate_profile(e, eq.bids, eq.offers, v=eq.verification, participants=everyone,
                            kind="nash", iterations=1, converged=True, message="ok")
    assert same.converged and same.message == "ok"
    # the competitive benchmark's profile names its own (price-taking) conditions
    comp = evaluate_profile(e, eq.bids, eq.offers, v=eq.verification, participants=everyone,
                            kind="competitive", iterations=1, converged=True, message="ok",
                            residuals=np.where(np.arange(e.N) == 1, 2e-6, 0.0))
    assert not comp.converged
    assert comp.message.startswith("not an equilibrium to 1e-9: the price-taking conditions")
    assert "buyers-1 (off by 2e-06)" in comp.message
