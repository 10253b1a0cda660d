"""The economy dataclasses: flattening, arrays, verification energy, variations, validation."""

from __future__ import annotations

import dataclasses as dc
from pathlib import Path

import numpy as np
import pytest

from market.errors import ScenarioError
from market.model import Economy, Utility, Verification
from market.posts import settle
from market.presets import KAPPA_PRESETS, kappa_value
from market.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def economy() -> Economy:
    return load_scenario(ROOT / "scenarios" / "default.toml").economy


def test_agents_are_flattened_standard_first(economy: Economy) -> None:
    agents = economy.agents()
    assert [a.id for a in agents] == [f"datacenter-{k}" for k in range(4)] + [
        f"edge-{k}" for k in range(4)] + ["plant-0", "plant-1"]
    assert [a.index for a in agents] == list(range(economy.N))
    assert {a.kind for a in agents[:economy.M]} == {"standard"}
    assert {a.kind for a in agents[economy.M:]} == {"producer"}
    assert agents[-1].theta == (40.0, 60.0, 40.0) and agents[-1].K == 2000.0
    arr = economy.arrays
    assert arr.alpha.shape == (economy.N, economy.T + 1)
    np.testing.assert_array_equal(arr.alpha[4], [0.0, 0.2, 0.3, 0.5])
    np.testing.assert_array_equal(arr.producer, [False] * 8 + [True] * 2)
    assert not arr.alpha.flags.writeable


def test_verification_energy_is_kappa_times_gas(economy: Economy) -> None:
    v = economy.verification_energy()
    assert v[0] == pytest.approx(6.6e-8 * 60_000)
    assert v[-1] == pytest.approx(6.6e-8 * 80_000)
    assert np.all(economy.with_kappa(0.0).verification_energy() == 0.0)


def test_replicate_and_scale(economy: Economy) -> None:
    e3 = economy.replicate(3)
    assert (e3.M, e3.P) == (3 * economy.M, 3 * economy.P)
    assert e3.total_bytecoins == pytest.approx(3 * economy.total_bytecoins)
    assert economy.scale_bytecoins(2.5).total_bytecoins == pytest.approx(2.5 * economy.total_bytecoins)


def test_preset_figures_follow_from_their_sources() -> None:
    """Each κ is re-derived from the figures its source text quotes (to its 2 digits)."""
    pow_kwh_per_gas = 199.0 / 84_000  # ~199 kWh per transaction at ~84,000 gas
    derived = {
        "free": 0.0,
        "pow": pow_kwh_per_gas,
        "pow-ccri": pow_kwh_per_gas * 23.0 / 83.89,  # ~23 TWh/yr over the same gas as 83.89
        "pos": 2_601e3 / (1.08e11 * 365),  # 2,601 MWh/yr over ~1.08e11 gas/day
        "pos-digiconomist": (2.5e-7 + 3.1e-7) / 2,  # midpoint of 2.5-3.1e-7
    }
    assert set(derived) == set(KAPPA_PRESETS)
    for name, value in derived.items():
        assert kappa_value(name) == pytest.approx(value, rel=0.03, abs=0.0), name


def test_presets_are_documented() -> None:
    """docs/scenarios.md lists every preset with the value the code uses."""
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    for p in KAPPA_PRESETS.values():
        value = "0" if p.kwh_per_gas == 0 else f"{p.kwh_per_gas:.1e}".replace("e-0", "e-")
        assert f"| `{p.name}` | {value} |" in doc, p.name


def test_unknown_preset_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="unknown preset"):
        kappa_value("wind")


def test_construction_validates(economy: Economy) -> None:
    bad = dc.replace(economy.standard[0], omega=0.0)
    with pytest.raises(ScenarioError, match=r"standard\[0\]\.omega"):
        dc.replace(economy, standard=(bad, *economy.standard[1:]))
    with pytest.raises(ScenarioError, match=r"standard\[1\]\.sigma"):
        dc.replace(economy, standard=(economy.standard[0],
                                      dc.replace(economy.standard[1], utility=Utility("ces", -1.0))))
    with pytest.raises(ScenarioError, match="verification.schedule"):
        dc.replace(economy, verification=Verification(kappa=0.0, schedule=(0.5, 0.5)))


def test_posts_settle_clears_and_handles_inactive_posts() -> None:
    bids = np.array([[0.0, 2.0, 0.0], [1.0, 3.0, 0.0]])
    offers = np.array([[4.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    out = settle(bids, offers)
    np.testing.assert_allclose(out.prices[:2], [0.25, 0.5])
    assert np.isnan(out.prices[2]) and not out.active[2]
    np.testing.assert_allclose(out.allocations.sum(axis=0)[:2], [4.0, 10.0])
    np.testing.assert_allclose(out.allocations[:, 2], 0.0)
    np.testing.assert_allclose(out.revenue, [1.0, 5.0])




def test_the_solvers_bound_takes_the_benchmarks_largest_economy() -> None:
    """scripts/bench.py solve runs M = 100,000 standard agents with P = 10 producers:
    the solvers' bound (MAX_AGENTS) must admit it (it once stopped that row at 100,010)."""
    from market.model import MAX_AGENTS, MAX_CHAIN_AGENTS, ProducerGroup, StandardGroup

    e = Economy(T=1, standard=(StandardGroup("s", 100_000, 10.0, (0.5,), 0.0, 10.0),),
                producers=(ProducerGroup("p", 10, (30.0,), 0.8, K=1e6, alpha=(0.5,), bytecoins=10.0),),
                verification=Verification(kappa=0.0, schedule=(1.0,)))
    assert e.N == 100_010 <= MAX_AGENTS
    with pytest.raises(ScenarioError, match=r"^standard\[0\]\.count: must be <= 10000"):
        e.check_chain_bounds()  # a scenario file stays at the chain's bound
    assert MAX_CHAIN_AGENTS == 10_000
