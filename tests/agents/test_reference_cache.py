"""emg simulate's reference solve fails once per run, not once per round (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

import agents.simulation as simulation
from market.errors import SolverError


def test_a_failed_reference_solve_is_not_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def failing(economy: object, v: object = None) -> None:
        calls.append(1)
        raise SolverError("Nash: no equilibrium found (test)")

    monkeypatch.setattr(simulation, "solve_nash", failing)
    sim = simulation.Simulation.__new__(simulation.Simulation)  # no chain: only the cache
    sim.economy = None  # type: ignore[assignment]
    sim._solved = {}
    sim._epoch = 0  # the economy in force (events start a new one)
    sim._failed_epochs = set()
    sim.solver_errors = []
    for k in range(50):  # gas measured each round moves v a little
        assert sim._reference(np.array([1e-3 * (1 + 1e-3 * k), 2e-3])) is None
    assert len(calls) == 1
    assert len(sim.solver_errors) == 1
    msg = sim.solver_errors[0]
    assert "no equilibrium found (test)" in msg
    assert "not solved again" in msg and "keeps running" in msg
    # an event puts a new economy in force: its reference is solved (once) again
    sim._epoch = 1
    assert sim._reference(np.array([1e-3, 2e-3])) is None
    assert sim._reference(np.array([1.1e-3, 2e-3])) is None
    assert len(calls) == 2 and len(sim.solver_errors) == 2
