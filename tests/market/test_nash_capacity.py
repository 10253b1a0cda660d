"""When short-run capacity cannot use up the good, there is no Nash equilibrium with p^0 > 0.

Nobody in ``scenarios/default.toml`` values the good (``α^0 = 0``): producers
buy exactly their input ``Φ_j = Σ_t (q_j^t/θ^t)^{1/c}`` (eq. 17), so post 0
clears only if ``Σ_j Φ_j = Ω``. With ``q ≤ K`` (16) the input is at most
``Σ_j Σ_t (K/θ^t)^{1/c}``: 522.7 at ``c = 0.85`` and 496.1 at ``c = 0.86``
against ``Ω = 500``. Past that threshold the producers undercut each other's
bids on the good and its price falls towards 0 (damped best responses off
chain shrink the good's bids by ~x0.74 a round); the solver must say so
instead of pricing standard agents out one by one (it used to remove the
small agents, whose income ``p^0 ω`` vanished at the closest point).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from market.errors import SolverError
from market.model import Economy
from market.nash import solve_nash
from market.scenario import scenario_from_dict
from market.verify import is_nash

ROOT = Path(__file__).resolve().parents[2]


def default_with(c: float, K: float | None = None) -> Economy:
    doc = tomllib.loads((ROOT / "scenarios" / "default.toml").read_text())
    doc = copy.deepcopy(doc)
    for p in doc["producer"]:
        p["c"] = c
        if K is not None:
            p["K"] = K
    return scenario_from_dict(doc, f"default-c{c}.toml").economy


@pytest.mark.slow
@pytest.mark.parametrize("c", [0.86, 1.0])
def test_no_equilibrium_when_capacity_cannot_use_up_the_good(c: float) -> None:
    with pytest.raises(SolverError, match=r"input at full capacity, [0-9.]+, is below the good's supply 500"):
        solve_nash(default_with(c))


@pytest.mark.parametrize(("c", "K"), [(0.85, None), (1.0, 4000.0)])
def test_enough_capacity_solves_with_every_agent(c: float, K: float | None) -> None:
    economy = default_with(c, K)
    eq = solve_nash(economy)
    assert eq.converged and eq.max_residual <= 1e-9
    assert not eq.priced_out.any()
    check = is_nash(economy, eq.bids, eq.offers, v=eq.verification, starts=2)
    assert check.max_gain <= 1e-9
