"""The sealed-bid market (contracts/SealedMarket.sol): commit, reveal, close; every
custom error of the two phases with its data; the forfeit rule for an unrevealed
commitment; and the bytecoin invariant (balances + escrow = supply) at every step.

eth-tester only: the contract logic does not depend on the backend, and the plain
market's tests already run every shared function on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.chain import fixedpoint as fx
from agents.chain.backend import Chain, Reverted
from agents.chain.client import CommitResult, MarketClient, OrderResult
from agents.chain.events import Committed, Forfeited, OrderPlaced
from agents.chain.errors import ChainError
from tests.chain.test_contract_market import prod_bids, prod_offers, reverts, std_bids
from tests.conftest import N_PRODUCERS, N_STANDARD, TEST_T, WAD, make_config

T = TEST_T
N = N_STANDARD + N_PRODUCERS
ROUND = 3600
REVEAL = 1800


@pytest.fixture(scope="module")
def sealed_env() -> tuple[Chain, MarketClient]:
    from dataclasses import replace

    from agents.chain.deploy import deploy_market

    chain = Chain.local(N + 2, seed="sealed")
    config = replace(make_config(chain, round_duration=ROUND), mode="sealed", reveal_duration=REVEAL)
    return chain, deploy_market(chain, config)


@pytest.fixture
def sm(sealed_env) -> Iterator[MarketClient]:  # type: ignore[no-untyped-def]
    chain, market = sealed_env
    snap = chain.snapshot()
    market.forget()
    market._sealed.clear()
    try:
        yield market
    finally:
        chain.revert(snap)
        market.forget()
        market._sealed.clear()


def orders(chain: Chain) -> list[tuple]:  # type: ignore[type-arg]
    acc = chain.accounts
    return ([(acc[i], std_bids(i), []) for i in range(N_STANDARD)]
            + [(acc[N_STANDARD + j], prod_bids(j), prod_offers(j)) for j in range(N_PRODUCERS)])


def supply(m: MarketClient) -> int:
    return sum(s.bytecoins for s in m.config.standard) + sum(p.bytecoins for p in m.config.producers)


def balances(m: MarketClient) -> list[int]:
    return [m.agent(a).balance for a in [s.address for s in m.config.standard]
            + [p.address for p in m.config.producers]]


def conserved(m: MarketClient) -> None:
    """Σ balances + escrow = supply = the market's token holdings."""
    assert sum(balances(m)) + m.escrow() == supply(m) == m.token_balance(m.market_address)


def deadline(m: MarketClient) -> int:
    return m.current_round().deadline


def test_happy_path_two_rounds(sm) -> None:  # type: ignore[no-untyped-def]
    """Everyone commits (escrows its bids), reveals once all have committed (before the
    commit deadline), the round closes early; the next commitments settle the orders."""
    chain = sm.chain
    before = balances(sm)
    commits = sm.commit_all(orders(chain), 0)
    assert all(isinstance(c, CommitResult) and c.settlement is None for c in commits)
    # escrowed: bids' totals left the balances, and nothing is in the open totals yet
    assert balances(sm) == [b - sum(o[1]) for b, o in zip(before, orders(chain))]
    assert sm.current_round().B == (0,) * (T + 1) and sm.view("commitments") == (N,)
    for (a, b, o), c in zip(orders(chain), commits):
        ev = [e for e in sm._decode(c.receipt) if isinstance(e, Committed)][0]
        assert (ev.agent, ev.round, ev.escrow) == (a.address, 0, sum(b))
        assert ev.sealed_order == sm.sealed_order(a, 0, sm.salt(a, 0, b, o), b, o)
        assert 0 not in ev.sealed_order and 0 not in sm.salt(a, 0, b, o)  # constant calldata gas
        assert sm.sealed_state(a.address) == (0, sum(b), ev.sealed_order)
    conserved(sm)
    assert chain.now() < deadline(sm) - REVEAL  # still the commit phase: reveal opened early
    reveals = sm.reveal_all([a for a, _, _ in orders(chain)], 0)
    assert all(isinstance(r, OrderResult) for r in reveals)
    B = [sum(o[1][t] for o in orders(chain)) for t in range(T + 1)]
    assert list(sm.current_round().B) == B
    assert balances(sm) == [b - sum(o[1]) for b, o in zip(before, orders(chain))]
    assert [sm.sealed_state(a.address)[1] for a, _, _ in orders(chain)] == [0] * N  # escrow released
    conserved(sm)
    closed = sm.close().closed  # every agent revealed: closes before the deadline
    # round 1: the commitments settle round 0's orders, exactly as the fixed-point model says
    res = sm.sealed_all(orders(chain), 1)
    for (a, b, o), r in zip(orders(chain), res):
        assert isinstance(r, OrderResult) and r.commit is not None and r.settlement is not None
        omega = next((s.omega for s in sm.config.standard if s.address == a.address), 0)
        assert fx.settle_order(closed.B, closed.Q, b, o, omega).matches(r.settlement)
        assert r.gas_used == r.receipt.gas_used + r.commit.receipt.gas_used
    conserved(sm)
    sm.close()
    for a, _, _ in orders(chain):
        sm.claim(a)
    conserved(sm)


def test_escrow_above_the_bids_is_returned_at_reveal(sm) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = orders(sm.chain)[0]
    start = sm.agent(a.address).balance
    sm.transact(a, "commit", [0, b"", b"", sm.sealed_order(a, 0, b"\x01" * 32, b), sum(b) + 5 * WAD],
                gas=sm.order_gas)
    assert sm.agent(a.address).balance == start - sum(b) - 5 * WAD
    sm.chain.travel_to(deadline(sm) - REVEAL)
    sm.transact(a, "reveal", [0, b"\x01" * 32, fx_pack(b), b""], gas=sm.order_gas)
    assert sm.agent(a.address).balance == start - sum(b)
    conserved(sm)


def fx_pack(values: list[int]) -> bytes:
    from agents.chain.events import pack_values

    return pack_values(values)


def test_reveal_errors(sm) -> None:  # type: ignore[no-untyped-def]
    """Too early, without a commitment, wrong hash (data: both hashes), bids above the
    escrow, twice, after the phase (the deadline), after the close."""
    chain = sm.chain
    (a, b, _), (a2, b2, _) = orders(chain)[:2]
    salt = b"\x07" * 32
    sm.transact(a, "commit", [0, b"", b"", sm.sealed_order(a, 0, salt, b), sum(b)], gas=sm.order_gas)
    sm.transact(a2, "commit", [0, b"", b"", sm.sealed_order(a2, 0, salt, b2), sum(b2) - 1], gas=sm.order_gas)
    cd = deadline(sm) - REVEAL
    with reverts("RevealNotOpen") as _:
        sm.transact(a, "reveal", [0, salt, fx_pack(b), b""], gas=sm.order_gas)
    chain.travel_to(cd)
    outsider = chain.accounts[N]
    with reverts("UnknownAgent", outsider.address):
        sm.transact(outsider, "reveal", [0, salt, fx_pack(b), b""], gas=sm.order_gas)
    with reverts("NoCommitment", chain.accounts[2].address, 0):
        sm.transact(chain.accounts[2], "reveal", [0, salt, fx_pack(std_bids(2)), b""], gas=sm.order_gas)
    wrong = list(b)
    wrong[1] += 1
    committed = sm.sealed_order(a, 0, salt, b)
    with reverts("RevealMismatch", a.address, 0, committed, sm.sealed_order(a, 0, salt, wrong)):
        sm.transact(a, "reveal", [0, salt, fx_pack(wrong), b""], gas=sm.order_gas)
    with reverts("RevealMismatch", a.address, 0, committed, sm.sealed_order(a, 0, b"\x08" * 32, b)):
        sm.transact(a, "reveal", [0, b"\x08" * 32, fx_pack(b), b""], gas=sm.order_gas)
    with reverts("WrongRound", 1, 0):
        sm.transact(a, "reveal", [1, salt, fx_pack(b), b""], gas=sm.order_gas)
    with reverts("InsufficientBalance", a2.address, sum(b2) - 1, sum(b2)):  # bids above the escrow
        sm.transact(a2, "reveal", [0, salt, fx_pack(b2), b""], gas=sm.order_gas)
    sm.transact(a, "reveal", [0, salt, fx_pack(b), b""], gas=sm.order_gas)
    with reverts("AlreadyOrdered", a.address, 0):
        sm.transact(a, "reveal", [0, salt, fx_pack(b), b""], gas=sm.order_gas)
    d = deadline(sm)
    chain.travel_to(d)
    with pytest.raises(Reverted) as info:
        sm.transact(a2, "reveal", [0, salt, fx_pack(b2), b""], gas=sm.order_gas)
    assert info.value.name == "LateOrder" and info.value.error_args[:2] == (0, d)
    sm.close()
    with reverts("WrongRound", 0, 1):
        sm.transact(a2, "reveal", [0, salt, fx_pack(b2), b""], gas=sm.order_gas)
    conserved(sm)


def test_reveal_checks_its_arrays_lengths(sm) -> None:  # type: ignore[no-untyped-def]
    """A reveal's bids and offers keep their own length check (BadLength in values, after
    the commitment's), and a commitment re-sending a previous order of the wrong length
    reverts BadPrevious."""
    chain = sm.chain
    (a, b, _), (p, pb, po) = orders(chain)[0], orders(chain)[N_STANDARD]
    salt = b"\x05" * 32
    short, bare = b[:-1], pb  # a bid short; a producer without its offers
    sm.transact(a, "commit", [0, b"", b"", sm.sealed_order(a, 0, salt, short), sum(b)], gas=sm.order_gas)
    sm.transact(p, "commit", [0, b"", b"", sm.sealed_order(p, 0, salt, bare), sum(pb)], gas=sm.order_gas)
    chain.travel_to(deadline(sm) - REVEAL)
    with reverts("BadLength", "bids", TEST_T, TEST_T + 1):
        sm.transact(a, "reveal", [0, salt, fx_pack(short), b""], gas=sm.order_gas)
    with reverts("BadLength", "offers", 0, TEST_T + 1):
        sm.transact(p, "reveal", [0, salt, fx_pack(bare), b""], gas=sm.order_gas)
    chain.travel_to(deadline(sm))
    sm.close()
    a2, b2, _ = orders(chain)[1]
    sm.transact(a2, "commit", [1, b"", b"", sm.sealed_order(a2, 1, salt, b2), sum(b2)], gas=sm.order_gas)
    chain.travel_to(deadline(sm) - REVEAL)
    sm.transact(a2, "reveal", [1, salt, fx_pack(b2), b""], gas=sm.order_gas)
    chain.travel_to(deadline(sm))
    sm.close()
    h = sm.sealed_order(a2, 2, salt, b2)
    for prev_bids, prev_offers in ((b2 + [0], []), (b2, [0] * (TEST_T + 1)), (b2[:-1], [])):
        with reverts("BadPrevious", a2.address):
            sm.transact(a2, "commit", [2, fx_pack(prev_bids), fx_pack(prev_offers), h, 0], gas=sm.order_gas)
    sm.transact(a2, "commit", [2, fx_pack(b2), b"", h, 0], gas=sm.order_gas)  # the right lengths settle
    assert sm.agent(a2.address).last_round is None
    conserved(sm)


def test_commit_errors(sm) -> None:  # type: ignore[no-untyped-def]
    chain = sm.chain
    a, b, _ = orders(chain)[0]
    h = sm.sealed_order(a, 0, b"\x01" * 32, b)
    with reverts("SealedOrdersOnly"):
        sm.order(a, b, round=0)
    with reverts("WrongRound", 1, 0):
        sm.transact(a, "commit", [1, b"", b"", h, 0], gas=sm.order_gas)
    with reverts("BadPrevious", a.address):
        sm.transact(a, "commit", [0, fx_pack(b), b"", h, 0], gas=sm.order_gas)
    bal = sm.agent(a.address).balance
    with reverts("InsufficientBalance", a.address, bal, bal + 1):
        sm.transact(a, "commit", [0, b"", b"", h, bal + 1], gas=sm.order_gas)
    sm.transact(a, "commit", [0, b"", b"", h, sum(b)], gas=sm.order_gas)
    with reverts("AlreadyCommitted", a.address, 0):
        sm.transact(a, "commit", [0, b"", b"", h, sum(b)], gas=sm.order_gas)
    cd = deadline(sm) - REVEAL
    chain.travel_to(cd)
    a2, b2, _ = orders(chain)[1]
    with pytest.raises(Reverted) as info:
        sm.transact(a2, "commit", [0, b"", b"", h, sum(b2)], gas=sm.order_gas)
    assert info.value.name == "CommitPhaseOver" and info.value.error_args[:2] == (0, cd)


def test_unrevealed_commitment_is_forfeited(sm) -> None:  # type: ignore[no-untyped-def]
    """A commitment never revealed: its escrow leaves the agent's balance for good, stays
    in the market (owed to nobody), is not in the round's totals, and is logged as
    Forfeited when the agent commits again; its previous order still settles."""
    chain = sm.chain
    everyone = orders(chain)
    commits = sm.commit_all(everyone, 0)
    shirker, sb, so = everyone[0]
    escrowed = sum(sb)
    reveals = sm.reveal_all([a for a, _, _ in everyone[1:]], 0)
    assert all(isinstance(r, OrderResult) for r in reveals)
    escrow_before = sm.escrow()
    chain.travel_to(deadline(sm))  # the shirker never reveals: the round closes at its deadline
    closed = sm.close().closed
    assert list(closed.B) == [sum(o[1][t] for o in everyone[1:]) for t in range(T + 1)]
    assert isinstance(commits[0], CommitResult)
    assert sm.sealed_state(shirker.address) == (0, escrowed, sm.sealed_order(shirker, 0, sm.salt(shirker, 0, sb, so), sb, so))
    conserved(sm)
    sm._sealed.pop(shirker.address)
    res = sm.sealed_all(everyone, 1)
    assert all(isinstance(r, OrderResult) for r in res)
    forfeits = [e for e in sm._decode(res[0].commit.receipt) if isinstance(e, Forfeited)]  # type: ignore[union-attr]
    assert forfeits == [Forfeited(shirker.address, 0, escrowed, forfeits[0].block)]
    assert res[0].settlement is None  # it had no order in round 0 to settle
    conserved(sm)
    # the forfeited escrow stays held (with the rounding dust) after everything settles
    sm.close()
    for a, _, _ in everyone:
        sm.claim(a)
    assert sm.escrow() >= escrowed and escrow_before >= escrowed
    conserved(sm)


def test_reveal_opens_at_the_commit_deadline_when_someone_does_not_commit(sm) -> None:  # type: ignore[no-untyped-def]
    chain = sm.chain
    some = orders(chain)[1:]
    res = sm.sealed_all(some, 0)  # travels to the commit deadline, then reveals
    assert all(isinstance(r, OrderResult) for r in res)
    assert chain.now() >= deadline(sm) - REVEAL
    placed = [e for e in sm.events() if isinstance(e, OrderPlaced)]
    assert [e.agent for e in placed] == [a.address for a, _, _ in some]
    with reverts("RoundStillOpen"):
        sm.close()
    chain.travel_to(deadline(sm))
    sm.close()
    conserved(sm)


def test_plain_client_refuses_commit_and_constructor_bounds(sm) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from eth_abi import encode

    from agents.chain.compiler import load_artifacts
    from agents.chain.events import AbiCodec

    art = load_artifacts()
    plain = MarketClient(sm.chain, replace(sm.config, mode="plain", reveal_duration=0), sm.market_address,
                         sm.token_address, art)
    with pytest.raises(ChainError, match="plain"):
        plain.commit_all(orders(sm.chain)[:1], 0)
    codec = AbiCodec(art["SealedMarket"].abi)
    for reveal in (0, ROUND, ROUND + 1):
        with pytest.raises(Reverted) as info:
            sm.chain.send(sm.chain.keeper, None, art["SealedMarket"].bytecode + encode(
                ["address", "uint256", "uint256", "uint256", "uint256"],
                [sm.token_address, 3, ROUND, 2, reveal]), gas=8_000_000)
        assert codec.decode_error(info.value.data) == ("InvalidRevealDuration", (reveal, ROUND))
