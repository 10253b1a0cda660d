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


def test_presets_have_sources() -> None:
    assert kappa_value("free") == 0.0
    assert kappa_value("pow") == pytest.approx(2.4e-3)
    assert kappa_value("pos") == pytest.approx(6.6e-8)
    assert all(p.source for p in KAPPA_PRESETS.values())
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


