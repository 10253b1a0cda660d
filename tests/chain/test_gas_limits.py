"""The client's gas limits (agents.chain.client.GAS_MODEL) cover the measured gas with a
margin and never exceed the block gas limit, for every T the contract accepts; at the
bound T = 700 every function works end to end (deploy, register, order, close, claim)."""

from __future__ import annotations

import pytest

from agents.chain.client import GAS_MODEL, gas_limit
from agents.chain.fixedpoint import WAD
from agents.chain.gas import measure

#: the eth-tester chain's block gas limit (a node's may differ: the client reads it)
BLOCK = 30_029_122
#: the functions whose limit the model sets, and the gas-economy entries each must cover
COVERS = {
    "order": ("order (standard, first)", "order (standard, settles previous)",
              "order (producer, first)", "order (producer, settles previous)"),
    "claim": ("claim",),
    "close": ("close",),
    "registerProducer": ("registerProducer",),
    "deploy Market": ("deploy Market",),
}


def _check(T: int, c: int) -> None:
    table = measure(T, c).table()
    for function, entries in COVERS.items():
        used = max(table[e]["max"] for e in entries)
        limit = gas_limit(function, T, BLOCK)
        assert 1.25 * used + 100_000 <= limit <= BLOCK, (function, T, c, used, limit)


def test_the_limits_never_exceed_the_block_and_grow_with_T() -> None:
    for function in GAS_MODEL:
        assert gas_limit(function, 700, BLOCK) < BLOCK  # the bound fits a block, with room
        assert gas_limit(function, 700, 500_000) == 500_000  # a smaller block caps it
        assert gas_limit(function, 1, BLOCK) < gas_limit(function, 24, BLOCK)


@pytest.mark.parametrize("T", [1, 24])
def test_the_limits_cover_the_measured_gas(T: int) -> None:
    _check(T, 8 * WAD // 10)


@pytest.mark.slow
def test_T_700_works_end_to_end_within_the_limits() -> None:
    """~50 s: the gas economy at the bound T = 700 with c = 0.8 (the costliest orders)."""
    _check(700, 8 * WAD // 10)
