"""Uncertain κ: the verification states a scenario may give, and the loader's errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from market.errors import ScenarioError
from market.kappa import discrete_states, lognormal_states, uniform_states, with_dispersion
from market.scenario import load_scenario

BASE = """
T = 2
[verification]
kappa = {kappa}
[[standard]]
name = "a"
count = 2
omega = 10.0
alpha = [0.5, 0.5]
bytecoins = 100.0
[[producer]]
name = "p"
count = 2
theta = [10.0, 20.0]
c = 0.8
K = 500.0
alpha = [0.5, 0.5]
bytecoins = 100.0
"""


def _load(tmp_path: Path, kappa: str, name: str = "s.toml"):  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_text(BASE.replace("{kappa}", kappa))
    return load_scenario(p).economy


def test_scalar_kappa_has_no_states(tmp_path: Path) -> None:
    e = _load(tmp_path, '"pos"')
    assert e.verification.states is None and e.kappa_states is None
    assert e.kappa == 6.6e-8


def test_discrete_states_with_presets_merge_and_mean(tmp_path: Path) -> None:
    e = _load(tmp_path, '{ distribution = "discrete", values = ["pow", 1e-4, "pos", 1e-4], '
                        'probs = [0.1, 0.2, 0.5, 0.2] }')
    st = e.kappa_states
    assert st is not None
    assert st.values == (6.6e-8, 1e-4, 2.4e-3)
    assert st.probs == pytest.approx((0.5, 0.4, 0.1))
    assert e.kappa == pytest.approx(0.5 * 6.6e-8 + 0.4 * 1e-4 + 0.1 * 2.4e-3, rel=1e-15)
    f, pr = st.factors()
    assert float(pr @ f) == pytest.approx(1.0, rel=1e-14)


def test_one_state_is_certain(tmp_path: Path) -> None:
    e = _load(tmp_path, '{ distribution = "discrete", values = [1e-4], probs = [1.0] }')
    assert e.verification.states is not None and e.kappa_states is None
    assert e.kappa == 1e-4


@pytest.mark.parametrize("nodes", [2, 3, 5, 16])
def test_uniform_quadrature_moments_are_exact(nodes: int) -> None:
    st = uniform_states(1e-4, 5e-4, nodes)
    v, p = np.array(st.values), np.array(st.probs)
    assert len(v) == nodes and p.sum() == pytest.approx(1.0, abs=1e-15)
    assert v[0] == 1e-4 and v[-1] == 5e-4  # Lobatto: the ends of the support are states
    assert float(p @ v) == pytest.approx(3e-4, rel=1e-13)
    if nodes >= 3:  # degree 2n-3 exact: the variance (b-a)^2/12 from 3 nodes
        assert float(p @ (v - 3e-4) ** 2) == pytest.approx((4e-4) ** 2 / 12, rel=1e-10)
    # every moment up to degree 2n-3 against the exact integral
    for d in range(2 * nodes - 2):
        exact = (5e-4 ** (d + 1) - 1e-4 ** (d + 1)) / ((d + 1) * 4e-4)
        assert float(p @ v ** d) == pytest.approx(exact, rel=1e-10)


def test_lognormal_quadrature_converges_to_the_truncated_mean() -> None:
    # the truncated lognormal's mean in closed form
    mu, s, lo, hi = math.log(3e-4), 0.5, 1e-4, 1e-3
    Phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    a, b = (math.log(lo) - mu) / s, (math.log(hi) - mu) / s
    exact = math.exp(mu + s * s / 2) * (Phi(b - s) - Phi(a - s)) / (Phi(b) - Phi(a))
    errs = [abs(lognormal_states(3e-4, s, lo, hi, n).mean / exact - 1) for n in (4, 8, 16)]
    assert errs[2] < 1e-10 and errs[0] > errs[1] > errs[2]
    st = lognormal_states(3e-4, s, lo, hi, 5)
    assert st.values[0] == lo and st.values[-1] == hi


def test_with_dispersion_keeps_the_mean() -> None:
    st = discrete_states([1e-4, 2e-4, 6e-4], [0.3, 0.3, 0.4])
    for k in (1.0, 0.5, 1e-3):
        d = with_dispersion(st, k)
        assert d.mean == pytest.approx(st.mean, rel=1e-14)
        assert d.std == pytest.approx(k * st.std, rel=1e-10)


def test_series_from_csv_is_its_empirical_distribution(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("round,kappa\n0,1e-4\n1,3e-4\n2,1e-4\n3,1e-4\n")
    e = _load(tmp_path, '{ distribution = "series", file = "k.csv" }')
    st = e.kappa_states
    assert st is not None and st.form == "series"
    assert st.values == (1e-4, 3e-4) and st.probs == (0.75, 0.25)
    assert st.series == (1e-4, 3e-4, 1e-4, 1e-4)


@pytest.mark.parametrize("kappa, message", [
    ('{ distribution = "uniform", low = 1e-4 }',
     "verification.kappa.high: missing; κ must have bounded support: with unbounded support no "
     "consumption plan is feasible in every state"),
    ('{ distribution = "lognormal", median = 3e-4, sigma = 0.5, low = 1e-4, high = inf }',
     "verification.kappa.high: got inf; κ must have bounded support"),
    ('{ distribution = "lognormal", median = 3e-4, sigma = 0.5, low = 1e-4 }',
     "verification.kappa.high: missing; κ must have bounded support"),
    ('{ distribution = "uniform", low = 1e-4, high = 2.0 }',
     "verification.kappa.high: must be in [0, 1] kWh/gas, got 2.0"),
    ('{ distribution = "uniform", low = 3e-4, high = 1e-4 }', "verification.kappa.high: must be above low"),
    ('{ distribution = "uniform", low = 1e-4, high = 2e-4, nodes = 0 }',
     "verification.kappa.nodes: must be an integer in [2, 64] (Gauss-Lobatto: both ends of the "
     "support are nodes), got 0"),
    ('{ distribution = "lognormal", median = 3e-4, sigma = 0.5, low = 0.0, high = 1e-3 }',
     "verification.kappa.low: must be > 0 for a lognormal"),
    ('{ distribution = "lognormal", median = 3e-4, sigma = -1, low = 1e-4, high = 1e-3 }',
     "verification.kappa.sigma: must be > 0"),
    ('{ distribution = "normal", low = 1e-4, high = 2e-4 }',
     "verification.kappa.distribution: unknown form 'normal'"),
    ('{ distribution = "uniform", low = 1e-4, high = 2e-4, mean = 1 }', "verification.kappa.mean: unknown key"),
    ('{ distribution = "discrete", values = [1e-4, 2e-4], probs = [0.5] }',
     "verification.kappa.probs: has 1 entries but values has 2"),
    ('{ distribution = "discrete", values = [1e-4, 2e-4], probs = [0.5, 0.6] }',
     "verification.kappa.probs: must sum to 1"),
    ('{ distribution = "discrete", values = [1e-4, 2e-4], probs = [1.0, 0.0] }',
     "verification.kappa.probs[1]: must be > 0"),
    ('{ distribution = "discrete", values = [1e-4, 3.0], probs = [0.5, 0.5] }',
     "verification.kappa.values[1]: must be at most 1 kWh/gas"),
    ('{ distribution = "discrete", values = ["coal"], probs = [1.0] }',
     "verification.kappa.values[0]: unknown preset 'coal'"),
    ('{ distribution = "series", file = "missing.csv" }', "verification.kappa.file: "),
])
def test_bad_distributions_name_the_field(tmp_path: Path, kappa: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, kappa)
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize("csv, message", [
    ("kappa\n1e-4\nabc\n", "line 3: kappa is not a number"),
    ("kappa\n1e-4\n-1\n", "line 3: kappa must be in [0, 1] kWh/gas"),
    ("k\n1e-4\n", "verification.kappa.column: 'kappa' is not a column"),
    ("kappa\n", "must have 1 to 1,000,000 rows"),
])
def test_bad_series_name_the_line(tmp_path: Path, csv: str, message: str) -> None:
    (tmp_path / "k.csv").write_text(csv)
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, '{ distribution = "series", file = "k.csv" }')
    assert message in str(err.value), str(err.value)
