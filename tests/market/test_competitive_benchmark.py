"""The competitive benchmark on economies of our own (issue 13): excluded agents cannot gain
by entering, the long-run constant-returns solve does not depend on the number of identical
producers, and zero-profit equilibria are reported converged."""

from __future__ import annotations

import numpy as np
import pytest

from market.competitive import producer_entry_profit, solve_competitive
from market.errors import SolverError
from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Verification
from market.participants import price_taking_entry_possible


def long_run_flat(P: int) -> Economy:
    """Constant returns, capacity chosen (ρ), free verification: zero profit."""
    return Economy(T=3, standard=(StandardGroup("a", 3, 80.0, (0.3, 0.4, 0.3), 0.0, 100.0),
                                  StandardGroup("b", 2, 30.0, (0.2, 0.3, 0.5), 0.0, 50.0)),
                   producers=(ProducerGroup("j", P, (35.0, 55.0, 45.0), 1.0, rho=0.4,
                                            alpha=(0.2, 0.5, 0.3), bytecoins=100.0),),
                   verification=Verification(kappa=0.0, schedule=(1 / 3, 1 / 3, 1 / 3)))


def test_long_run_constant_returns_does_not_depend_on_the_number_of_producers() -> None:
    prices = []
    for P in (3, 6, 7, 10):
        eq = solve_competitive(long_run_flat(P))
        assert eq.converged, (P, eq.message, eq.max_residual)
        assert not eq.priced_out.any()
        prices.append(eq.relative_prices)
        # long-run zero profit: the peak rent pays exactly for capacity
        th = np.array([35.0, 55.0, 45.0])
        assert np.maximum(eq.relative_prices[1:] - 1.0 / th, 0.0).sum() == pytest.approx(0.4, rel=1e-9)
    for p in prices[1:]:
        assert p == pytest.approx(prices[0], rel=1e-9)


@pytest.mark.parametrize("P,T", [(2, 1), (3, 1), (5, 2)])
def test_zero_profit_equilibrium_is_converged(P: int, T: int) -> None:
    """docs/economics.md §5 economy: competitive price = marginal cost 1/θ, zero profit."""
    e = Economy(T=T, standard=(StandardGroup("h", 4, 50.0, (1.0,) * T, 0.0, 100.0),),
                producers=(ProducerGroup("j", P, (20.0,) * T, 1.0, K=1e9, alpha=(0.0,) * T,
                                         alpha0=1.0, bytecoins=100.0),),
                verification=Verification(kappa=0.0, schedule=(1.0 / T,) * T))
    eq = solve_competitive(e)
    assert eq.converged and eq.max_residual <= 1e-9
    assert eq.relative_prices[1:] == pytest.approx(1.0 / 20.0, rel=1e-12)


def priced_out_economy(kappa: float) -> Economy:
    return Economy(T=2, standard=(StandardGroup("rich", 3, 80.0, (0.5, 0.5), 0.0, 100.0),
                                  StandardGroup("poor", 6, 0.5, (0.5, 0.5), 0.0, 10.0)),
                   producers=(ProducerGroup("small", 2, (20.0, 30.0), 0.8, K=200.0,
                                            alpha=(0.5, 0.5), bytecoins=50.0),
                              ProducerGroup("big", 2, (25.0, 25.0), 0.7, K=5000.0,
                                            alpha=(0.5, 0.5), bytecoins=50.0)),
                   verification=Verification(kappa=kappa, schedule=(0.5, 0.5),
                                             gas_per_order=GasPerOrder()))


@pytest.mark.parametrize("kappa", [1e-7, 2e-5, 1e-4, 3e-4])
def test_excluded_agents_cannot_gain_by_entering(kappa: float) -> None:
    e = priced_out_economy(kappa)
    try:
        eq = solve_competitive(e)
    except SolverError as exc:  # allowed only with a stated reason
        assert "competitive:" in str(exc)
        return
    assert eq.converged
    v = e.verification_energy()
    req = e.schedule[None, :] * v[:, None]
    cost = (req * eq.prices[None, 1:]).sum(axis=1)
    out = eq.priced_out
    arr = e.arrays
    std_out = out & ~arr.producer
    assert not np.any(price_taking_entry_possible(arr.omega, req, eq.prices)[std_out])
    profit = producer_entry_profit(e, eq.prices)
    prd_out = out & arr.producer
    assert np.all(profit[prd_out] <= cost[prd_out] * (1 + 1e-9))
    # and those inside can pay
    assert np.all(eq.consumption[~out, 1:] >= -1e-12)


def test_profitable_producers_are_not_dropped_silently() -> None:
    """A c = 1.3 producer with slack capacity has zero convexified profit while in, but a
    large one once out: no benchmark, and the message says so (not a silent drop)."""
    e = Economy(T=2, standard=(StandardGroup("a", 4, 100.0, (0.5, 0.5), 0.0, 100.0),),
                producers=(ProducerGroup("dec", 1, (40.0, 60.0), 0.7, K=1e7, alpha=(0.5, 0.5),
                                         bytecoins=100.0),
                           ProducerGroup("inc", 1, (30.0, 45.0), 1.3, K=1e6, alpha=(0.5, 0.5),
                                         bytecoins=100.0)),
                   verification=Verification(kappa=6.6e-8, schedule=(0.5, 0.5)))
    try:
        eq = solve_competitive(e)
    except SolverError as exc:
        assert "inc" in str(exc) and "verification" in str(exc)
        return
    profit = producer_entry_profit(e, eq.prices)
    v = e.verification_energy()
    cost = (e.schedule[None, :] * v[:, None] * eq.prices[None, 1:]).sum(axis=1)
    assert np.all(profit[eq.priced_out] <= cost[eq.priced_out] * (1 + 1e-9))
