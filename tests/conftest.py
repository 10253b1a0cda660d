"""Shared chain fixtures: provider → w3 → accounts → deployed contracts.

* ``artifacts`` (session): the shipped contracts, the ones emg deploys
  (``agents/chain/artifacts/contracts.json``; test-only contracts are
  compiled where they are used, with ``compile_contracts(test=True)``).
* ``chain`` (session, parameterised): one chain with funded agent keys on
  each backend of :data:`BACKENDS`: the in-process eth-tester chain and a
  managed Anvil (``agents.chain.node``, the binary npm installs from
  ``package.json``); every test using it runs on both. The Anvil leg skips,
  saying why, only when the binary is absent (``npm ci`` installs it; CI
  runs it).
* ``anvil_node`` (session): the managed Anvil, started once.
* ``market`` (session): a market deployed once on ``chain`` for
  :data:`TEST_CONFIG`-like parameters, round 0 open.
* ``fresh_market`` (function): ``market`` at its freshly deployed state: the
  chain is snapshotted before the test and reverted after it, so tests are
  independent and nothing is redeployed.

The agents' tests can use ``chain`` and ``market`` too (read-only, or through
``fresh_market``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

WAD = 10**18
#: periods of the test market
TEST_T = 3
#: agents of the test market: 3 standard, then 2 producers (short run, c = 0.8 and 1)
N_STANDARD = 3
N_PRODUCERS = 2


@pytest.fixture(scope="session")
def artifacts():  # type: ignore[no-untyped-def]
    from agents.chain.compiler import load_artifacts

    return load_artifacts()


#: the chain backends the contract tests run on
BACKENDS = ("eth-tester", "anvil")
ANVIL_MISSING = "anvil binary absent: run `npm ci` (package.json pins @foundry-rs/anvil) or set EMG_ANVIL"


def need_anvil() -> None:
    """Skip (saying why) when the anvil binary is absent; fail instead under
    ``EMG_REQUIRE_ANVIL=1`` (CI sets it: there the Anvil tests must run)."""
    import os

    from agents.chain.node import anvil_binary

    if anvil_binary() is None:
        if os.environ.get("EMG_REQUIRE_ANVIL") == "1":
            pytest.fail(ANVIL_MISSING + " (EMG_REQUIRE_ANVIL=1)")
        pytest.skip(ANVIL_MISSING)


@pytest.fixture(scope="session")
def anvil_node() -> Iterator:  # type: ignore[type-arg]
    """A managed Anvil (Prague, zero base fee, automine, IPC), stopped at the end of the session."""
    from agents.chain.node import start_anvil

    need_anvil()
    node = start_anvil(ipc=True)
    try:
        yield node
    finally:
        node.stop()


def make_chain(request, n_accounts: int, seed: str):  # type: ignore[no-untyped-def]
    """A chain on the backend ``request.param`` names: eth-tester, or the session's
    managed Anvil (same deterministic keys; blocks 1 s apart, as eth-tester's at least are)."""
    from agents.chain.backend import Chain, derive_accounts

    if request.param == "eth-tester":
        return Chain.local(n_accounts, seed=seed)
    node = request.getfixturevalue("anvil_node")
    return Chain.rpc(node.endpoint, derive_accounts(n_accounts, seed), derive_accounts(1, f"{seed}:keeper")[0],
                     fixed_block_interval=True)


@pytest.fixture(scope="session", params=BACKENDS)
def chain(request, artifacts):  # type: ignore[no-untyped-def]
    # agents + 3 outsiders (never registered) for UnknownAgent and token tests
    return make_chain(request, N_STANDARD + N_PRODUCERS + 3, "tests")


def make_config(chain, T: int = TEST_T, round_duration: int = 3600):  # type: ignore[no-untyped-def]
    """The test economy: standard agents ω = 100 + i, 1,000 bytecoins; producers θ^t, K = 2,000."""
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec

    acc = chain.accounts
    standard = tuple(StandardSpec(acc[i].address, (100 + i) * WAD, 1000 * WAD) for i in range(N_STANDARD))
    producers = (
        ProducerSpec(acc[N_STANDARD].address, tuple((40 + 10 * t) * WAD for t in range(T)), 8 * WAD // 10,
                     2000 * WAD, 0, 100 * WAD, 1000 * WAD),
        ProducerSpec(acc[N_STANDARD + 1].address, (50 * WAD,), WAD, 2000 * WAD, 0, 100 * WAD, 500 * WAD),
    )
    return MarketConfig(T, round_duration, standard, producers)


@pytest.fixture(scope="session")
def market(chain):  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    return deploy_market(chain, make_config(chain))


@pytest.fixture
def fresh_market(chain, market) -> Iterator:  # type: ignore[no-untyped-def]
    snap = chain.snapshot()
    market.forget()
    try:
        yield market
    finally:
        chain.revert(snap)
        market.forget()


@pytest.fixture
def snapshot(chain) -> Iterator:  # type: ignore[no-untyped-def]
    """Revert every chain change the test makes (for tests deploying their own contracts)."""
    snap = chain.snapshot()
    try:
        yield chain
    finally:
        chain.revert(snap)
