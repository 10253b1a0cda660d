"""Each round's κ under uncertainty: a stream of its own, reproducible, inside the support."""

from __future__ import annotations

import numpy as np

from market.kappa import discrete_states, lognormal_states, series_states, uniform_states

from agents.kappa_draws import KappaDraws


def test_certain_kappa_draws_nothing() -> None:
    d = KappaDraws(None, 7)
    assert d.rng is None and d.draw(0) is None


def test_draws_are_reproducible_and_independent_of_the_main_stream() -> None:
    st = uniform_states(1e-4, 3e-4, 4)
    a = [KappaDraws(st, 7).draw(r) for r in range(1)]
    d1, d2 = KappaDraws(st, 7), KappaDraws(st, 7)
    x1 = [d1.draw(r) for r in range(50)]
    x2 = [d2.draw(r) for r in range(50)]
    assert x1 == x2 and x1[0] == a[0]
    assert x1 != [KappaDraws(st, 8).draw(r) for r in range(50)]
    # the run's main generator, default_rng(seed), is another stream
    main = np.random.default_rng(7)
    assert main.uniform(1e-4, 3e-4) != x1[0]


def test_draws_follow_the_distribution_inside_its_support() -> None:
    uni = uniform_states(1e-4, 3e-4, 3)
    d = KappaDraws(uni, 1)
    x = np.array([d.draw(r) for r in range(4000)])
    assert x.min() >= 1e-4 and x.max() <= 3e-4
    assert abs(x.mean() - 2e-4) < 3 * (2e-4 / np.sqrt(12)) / np.sqrt(4000) * 1.5
    ln = lognormal_states(2e-4, 0.5, 1e-4, 4e-4, 6)
    d = KappaDraws(ln, 2)
    y = np.array([d.draw(r) for r in range(4000)])
    assert y.min() >= 1e-4 and y.max() <= 4e-4
    assert abs(y.mean() / ln.mean - 1) < 0.02  # the quadrature's mean is the distribution's
    disc = discrete_states([1e-4, 5e-4], [0.8, 0.2])
    d = KappaDraws(disc, 3)
    z = np.array([d.draw(r) for r in range(4000)])
    assert set(z.tolist()) == {1e-4, 5e-4} and abs((z == 5e-4).mean() - 0.2) < 0.03


def test_a_series_is_read_in_order_and_repeats() -> None:
    st = series_states([1e-4, 2e-4, 1e-4])
    d = KappaDraws(st, 0)
    assert [d.draw(r) for r in range(5)] == [1e-4, 2e-4, 1e-4, 1e-4, 2e-4]
