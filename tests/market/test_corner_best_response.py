"""Increasing returns: a producer's best response may run some periods flat out and shut the others.

``scripts/econ_check.py`` (seed 4, economy 3) found the best-response fallback
converged on a profile where a producer with ``c = 1.98`` and capacity
binding, valuing only the good, gained 58% (``is_nash``) by shutting down
periods 2 and 3: for ``c > 1`` output 0 is a local maximum in every period
(the marginal input is infinite there), and its best response, searching
from uniform starts, never reached such corners. Its best response now also starts from each period alone
on and each period off.
"""

from __future__ import annotations

import numpy as np
import pytest

from market.bestresponse import action_utility, best_response
from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Utility, Verification
from market.nash import solve_nash
from market.verify import is_nash

GLOBAL = (1e-3, 0.1, 10.0)


def corner_economy() -> Economy:
    """Economy 3 of ``random_economy`` with seed 4."""
    return Economy(
        T=3,
        standard=(
            StandardGroup(name="s0", count=2, omega=59.90769421814533,
                          alpha=(0.5727987034686292, 0.6668118240030394, 0.5363694711559904),
                          bytecoins=897.9367237962408),
            StandardGroup(name="s1", count=1, omega=83.48320201016061,
                          alpha=(0.4184126772576111, 0.6705232551639043, 0.7936867854884475),
                          alpha0=0.3, bytecoins=791.5508930293937),
            StandardGroup(name="s2", count=1, omega=94.04259450231231,
                          alpha=(0.3173153380959941, 0.9668279097060014, 0.3088671482736549),
                          bytecoins=833.1584353251543, utility=Utility("ces", 2.0))),
        producers=(
            ProducerGroup(name="p0", count=1,
                          theta=(45.28485522913276, 51.73627398362704, 29.58930652764285),
                          c=1.9813131944375322, K=1976.9414396633451, alpha=(0.0, 0.0, 0.0),
                          alpha0=1.0, bytecoins=385.6133180254728),
            ProducerGroup(name="p1", count=2,
                          theta=(13.325579851023335, 56.253818836311375, 44.65629977883282),
                          c=1.6763298786563665, K=1e7,
                          alpha=(0.6822524355250369, 0.8058484199953229, 0.6654835395407792),
                          bytecoins=421.2034380791606)),
        verification=Verification(kappa=1e-5, schedule=(1 / 3, 1 / 3, 1 / 3),
                                  gas_per_order=GasPerOrder()))


#: The equilibrium the fallback now finds (rounded to 17 digits): ``p0`` produces in period 1 only.
BIDS = [[0.0, 112.09547163749644, 139.9694492027025, 108.19406142063357],
        [0.0, 112.09547163749646, 139.96944920270246, 108.19406142063355],
        [99.50606456046982, 91.67290401321851, 150.85428383904699, 159.9986449014903],
        [0.0, 13.500739644181214, 489.5857975704609, 62.44498301384708],
        [193.41574968045876, 0.026094105120093185, 0.002885915239577362, 0.004711834845385619],
        [806.6906506009307, 265.57805977691663, 216.57519903307949, 166.19255439542368],
        [688.4689172225217, 94.91007845006072, 241.69149523408856, 186.96519181775838]]
OFFERS = [[59.90769421814533, 0.0, 0.0, 0.0], [59.90769421814533, 0.0, 0.0, 0.0],
          [83.48320201016061, 0.0, 0.0, 0.0], [94.04259450231231, 0.0, 0.0, 0.0],
          [0.0, 1976.9414396633451, 0.0, 0.0],
          [0.0, 5073.221203988289, 56487.5686751905, 19654.8105016092],
          [0.0, 0.0, 70903.42706768024, 25168.164541343136]]


def test_best_response_finds_the_one_period_corner() -> None:
    """Facing that profile, ``p0``'s best response is at least as good as producing in period 1
    alone, and is such a corner. (Before, its searches from uniform starts returned
    ``[K, 0, K]``, worth ln-utility 3.0897 against 3.2362 for ``[K, 0, 0]``.)"""
    e = corner_economy()
    bids, offers = np.array(BIDS), np.array(OFFERS)
    j = 4
    R = bids.sum(0) - bids[j]
    S = offers.sum(0) - offers[j]
    v = float(e.verification_energy()[j])
    u_corner = action_utility(e, j, bids[j], offers[j], R, S, v)
    act = best_response(e, j, bids, offers, v=v)
    assert act.utility >= u_corner - 1e-12 * abs(u_corner), (act.utility, u_corner)
    on = act.offers[1:] > 1e-6 * act.offers[1:].max()
    assert 0 < on.sum() < e.T, act.offers  # some periods shut down


@pytest.mark.slow
def test_the_reported_wrong_answer_is_now_an_equilibrium() -> None:
    """The economy itself (~30 s): the best-response fallback's answer passes ``is_nash``."""
    e = corner_economy()
    eq = solve_nash(e)
    assert eq.converged and eq.method == "best-response"
    chk = is_nash(e, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                  starts=2, scales=GLOBAL)
    assert chk.max_gain <= 1e-9, (chk.max_gain, chk.worst_agent)


def reentry_economy() -> Economy:
    """Economy 5 of ``random_economy`` with seed 8 (dear verification, ``c > 1``)."""
    return Economy(
        T=2,
        standard=(
            StandardGroup(name="s0", count=2, omega=6.673234594923695,
                          alpha=(0.11545506934778915, 0.854579219230547), bytecoins=722.5342372235634),
            StandardGroup(name="s1", count=2, omega=17.485234618375426,
                          alpha=(0.7230794873703388, 0.41797266950925693),
                          bytecoins=812.2623257058683, utility=Utility("ces", 0.6))),
        producers=(
            ProducerGroup(name="p0", count=2, theta=(33.64714516404852, 53.54703433984429),
                          c=1.4775431436558146, K=1481.0318268473009,
                          alpha=(0.7482230163519497, 0.13470405968026478), bytecoins=750.5414015400636),
            ProducerGroup(name="p1", count=2, theta=(33.32418693598326, 47.388797531680176),
                          c=1.1559183240470818, K=1e7, alpha=(0.0, 0.0), alpha0=1.0,
                          bytecoins=89.30745225240912)),
        verification=Verification(kappa=1e-3, schedule=(0.5, 0.5), gas_per_order=GasPerOrder()))


@pytest.mark.slow
def test_agents_priced_out_during_the_iteration_who_could_pay_mean_not_converged() -> None:
    """econ_check (seed 8, economy 5): the fallback priced ``s0`` out during its sweeps and
    reported converged, while ``s0`` could pay for verification at the final prices
    (``is_nash``: entry possible). That is now ``converged = False``, saying why."""
    e = reentry_economy()
    eq = solve_nash(e)
    chk = is_nash(e, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                  starts=2, scales=GLOBAL)
    assert eq.converged == (chk.max_gain <= 1e-9), (eq.converged, chk.max_gain, eq.message)
    if not eq.converged:
        assert "could pay for verification" in eq.message
