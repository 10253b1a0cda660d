"""Regression: ``solve_nash`` when the full participant set has no root (agents priced out).

With measured per-agent ``v`` slightly above the gas figures of
``scenarios/cia-pow.toml`` (standard orders ≈ 71,189 gas, producers ≈ 83,857
at κ_pow) the small "edge" agents cannot pay for their verification at the
closest point of the all-participants system: their shares switch off there
(a kink) and that system has no root (residual ~1e-4). ``solve_nash`` used to
raise ``SolverError`` ("aggregate residual …") instead of letting them leave;
it must drop them and solve the remaining system.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from market.nash import solve_nash
from market.scenario import load_scenario
from market.verify import is_nash

#: re-solves of cia-pow with measured verification vectors: ~10 s each
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("gas_std, gas_prd", [(71189.0, 83857.0), (73464.0, 86536.0),
                                               (74394.0, 87632.0)])
def test_cia_pow_measured_v_prices_out_instead_of_failing(gas_std: float, gas_prd: float) -> None:
    economy = load_scenario(ROOT / "scenarios" / "cia-pow.toml").economy
    v = economy.kappa * np.where(economy.arrays.producer, gas_prd, gas_std)
    eq = solve_nash(economy, v=v)
    assert eq.converged
    assert np.max(np.abs(eq.residuals[~eq.priced_out])) <= 1e-9
    # the edge agents (standard, indices 4..7) are the ones priced out; the rest trade
    assert eq.priced_out.tolist() == [False] * 4 + [True] * 4 + [False] * 2
    assert np.all(eq.bids[eq.priced_out] == 0.0)
    check = is_nash(economy, eq.bids, eq.offers, v=eq.verification, participants=~eq.priced_out,
                    starts=1)
    assert check.max_gain <= 1e-9, (check.worst_agent, check.max_gain)
