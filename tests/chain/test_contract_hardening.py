"""Hardening of the market contract (issue 11, contracts): what settlement still
refuses when the 160-bit commitment is defeated (a forged commitment through the
test-only MarketHarness), and the order's round binding under a forged history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.chain.events import pack_order, pack_values
from tests.chain.test_contract_market import prod_bids, prod_offers, reverts, std_bids
from tests.conftest import N_STANDARD, TEST_T, WAD, make_config

T = TEST_T


@pytest.fixture(scope="module")
def harness_market(chain):  # type: ignore[no-untyped-def]
    """The market compiled with `forgeCommitment` (contracts/test/MarketHarness.sol), deployed
    like the shipped one (the harness's ABI is the market's plus that function)."""
    from agents.chain import deploy
    from agents.chain.compiler import compile_contracts, load_artifacts

    shipped = load_artifacts()
    art = {**shipped, "Market": compile_contracts(test=True)["MarketHarness"]}
    original = deploy.load_artifacts
    deploy.load_artifacts = lambda: art  # type: ignore[assignment]
    try:
        return deploy.deploy_market(chain, make_config(chain))
    finally:
        deploy.load_artifacts = original  # type: ignore[assignment]


@pytest.fixture
def hm(chain, harness_market) -> Iterator:  # type: ignore[no-untyped-def]
    snap = chain.snapshot()
    harness_market.forget()
    try:
        yield harness_market
    finally:
        chain.revert(snap)
        harness_market.forget()


def _round_zero(chain, m):  # type: ignore[no-untyped-def]
    """Agents 0 and 1 and producer 0 order in round 0 (post 3 gets no offers from producer 1); round 0 closes."""
    a, b, p = chain.accounts[0], chain.accounts[1], chain.accounts[N_STANDARD]
    m.order(a, std_bids(0), round=0)
    m.order(b, std_bids(1), round=0)
    m.order(p, prod_bids(0), prod_offers(0), round=0)
    chain.travel_to(m.current_round().deadline)
    return m.close().closed


def _forge(m, who, bids, offers=()):  # type: ignore[no-untyped-def]
    m.transact(m.chain.keeper, "forgeCommitment", [who.address, pack_values(bids), pack_values(offers)])


def test_a_forged_bid_above_its_posts_total_is_refused(chain, hm):  # type: ignore[no-untyped-def]
    closed = _round_zero(chain, hm)
    a = chain.accounts[0]
    forged = std_bids(0)
    forged[1] = closed.B[1] + 1  # more than everyone bid on post 1 together
    _forge(hm, a, forged)
    before = hm.agent(a.address)
    with reverts("BadPrevious", a.address):
        hm.transact(a, "claim", [pack_values(forged), b""], gas=hm.order_gas)
    with reverts("BadPrevious", a.address):
        hm.transact(a, "order", [pack_order(1, [0] * (T + 1), previous=(forged, []))], gas=hm.order_gas)
    assert hm.agent(a.address) == before
    # within the totals a forged order still settles (the bound limits a collision's
    # gain to the round's totals, it does not detect it): the control that the check is
    # the bound, not the forging
    within = std_bids(0)
    within[1] = closed.B[1]
    _forge(hm, a, within)
    settled = hm.transact(a, "claim", [pack_values(within), b""], gas=hm.order_gas)
    assert settled.gas_used > 0


def test_a_forged_offer_above_its_posts_total_is_refused(chain, hm):  # type: ignore[no-untyped-def]
    closed = _round_zero(chain, hm)
    p = chain.accounts[N_STANDARD]
    forged = prod_offers(0)
    forged[2] = closed.Q[2] + 1
    _forge(hm, p, prod_bids(0), forged)
    with reverts("BadPrevious", p.address):
        hm.transact(p, "claim", [pack_values(prod_bids(0)), pack_values(forged)], gas=hm.order_gas)
    # the true order still settles
    _forge(hm, p, prod_bids(0), prod_offers(0))
    hm.transact(p, "claim", [pack_values(prod_bids(0)), pack_values(prod_offers(0))], gas=hm.order_gas)


def test_a_forged_bid_on_an_inactive_post_is_not_refunded(chain, hm):  # type: ignore[no-untyped-def]
    """Before the bound, a bid re-sent on a post nobody bid on (B^t = 0) was refunded in full."""
    a = chain.accounts[0]
    hm.order(a, [WAD, 0, 0, 0], round=0)  # post 3: no bids at all in round 0
    chain.travel_to(hm.current_round().deadline)
    closed = hm.close().closed
    assert closed.B[3] == 0
    forged = [WAD, 0, 0, 500 * WAD]
    _forge(hm, a, forged)
    with reverts("BadPrevious", a.address):
        hm.transact(a, "claim", [pack_values(forged), b""], gas=hm.order_gas)


# ------------------------------------------------------------------ the token

def _deploy_with_holders(chain, config, extra, slots=None):  # type: ignore[no-untyped-def]
    """Deploy token and market as deploy_market does, but the token also mints ``extra``
    ((address, wei), ...) outside the market (and the market takes ``slots`` producers if
    given, else the config's count); agents registered, not started."""
    from eth_abi import encode

    from agents.chain.client import MarketClient
    from agents.chain.compiler import load_artifacts
    from agents.chain.deploy import create_address

    art = load_artifacts()
    keeper = chain.keeper
    credited = sum(s.bytecoins for s in config.standard) + sum(p.bytecoins for p in config.producers)
    nonce = chain.nonce(keeper)
    market_address = create_address(keeper.address, nonce + 1)
    token_address = create_address(keeper.address, nonce)
    holders = [market_address] + [h for h, _ in extra]
    amounts = [credited] + [v for _, v in extra]
    chain.send(keeper, None, art["Bytecoin"].bytecode + encode(["address[]", "uint256[]", "address"],
                                                                      [holders, amounts, "0x" + "00" * 20]),
               gas=3_000_000)
    chain.send(keeper, None, art["Market"].bytecode + encode(
        ["address", "uint256", "uint256", "uint256"],
        [token_address, config.T, config.round_duration, len(config.producers) if slots is None else slots]),
        gas=8_000_000)
    m = MarketClient(chain, config, market_address, token_address, art)
    m.transact(keeper, "registerStandard", [[s.address for s in config.standard], [s.omega for s in config.standard],
                                            [s.bytecoins for s in config.standard]], gas=2_000_000)
    for p in config.producers:
        m.transact(keeper, "registerProducer",
                   [p.address, p.bytecoins, p.stock, p.c, p.capacity or 0, p.rho, list(p.theta)], gas=2_000_000)
    m.mark_fresh([s.address for s in config.standard] + [p.address for p in config.producers])
    return m


def test_a_donation_before_start_does_not_block_it(chain, snapshot):  # type: ignore[no-untyped-def]
    """A 1-wei donation to the market before start() used to make it revert Underfunded forever."""
    outsider = chain.accounts[-1]
    m = _deploy_with_holders(chain, make_config(chain), [(outsider.address, 10)])
    m.transact(outsider, "token.transfer", [m.market_address, 1], gas=100_000)
    m.transact(chain.keeper, "start", [], gas=200_000)
    assert m.current_round().round == 0 and m.escrow() == 1  # the wei nobody is owed
    a = chain.accounts[0]
    m.order(a, std_bids(0))  # the market trades
    assert m.escrow() == 1 + sum(std_bids(0))


def test_a_supply_above_2_84_is_refused_at_start(chain, snapshot):  # type: ignore[no-untyped-def]
    from agents.chain import fixedpoint as fx

    outsider = chain.accounts[-1]
    config = make_config(chain)
    credited = sum(s.bytecoins for s in config.standard) + sum(p.bytecoins for p in config.producers)
    extra = fx.MAX_AMOUNT + 1 - credited  # the supply is exactly 2^84
    m = _deploy_with_holders(chain, config, [(outsider.address, extra)])
    with reverts("SupplyTooLarge", fx.MAX_AMOUNT + 1):
        m.transact(chain.keeper, "start", [], gas=200_000)
    assert m.current_round().deadline == 0  # not started
    # one wei less is accepted
    m2 = _deploy_with_holders(chain, config, [(outsider.address, extra - 1)])
    m2.transact(chain.keeper, "start", [], gas=200_000)
    assert m2.current_round().deadline > 0


# ------------------------------------------------------------------ bounds

def _whales(chain):  # type: ignore[no-untyped-def]
    """Two long-run producers whose θ and stock would let either offer up to 2^84 on a post."""
    from agents.chain import fixedpoint as fx
    from agents.chain.config import MarketConfig, ProducerSpec, StandardSpec

    acc = chain.accounts
    standard = (StandardSpec(acc[0].address, 100 * WAD, 1000 * WAD),)
    producers = tuple(ProducerSpec(acc[N_STANDARD + j].address, (fx.MAX_AMOUNT,), WAD, None, 1, 10 * WAD, 10 * WAD)
                      for j in range(2))
    return MarketConfig(T, 3600, standard, producers)


def test_one_producer_cannot_shut_the_others_out(chain, snapshot):  # type: ignore[no-untyped-def]
    """Each producer's offer is capped at (2^84 - 1)/P, so the sum of every producer's
    largest offers fits Q^t: a rival's offer is never refused for the total's sake."""
    from agents.chain import fixedpoint as fx
    from agents.chain.deploy import deploy_market

    m = deploy_market(chain, _whales(chain))
    cap = fx.MAX_AMOUNT // 2
    assert m.view("offerCap")[0] == cap and m.view("maxProducers")[0] == 2
    big, rival = chain.accounts[N_STANDARD], chain.accounts[N_STANDARD + 1]
    with reverts("CapacityExceeded", big.address, 1, cap + 1, cap):  # the whole field: refused
        m.order(big, [0] * (T + 1), [0, cap + 1] + [0] * (T - 1))
    m.order(big, [0] * (T + 1), [0] + [cap] * T)  # the largest offer it may make, on every post
    m.order(rival, [0] * (T + 1), [0] + [cap] * T)  # before the cap: AmountOverflow, even for 1 wad
    assert m.current_round().Q[1:] == (2 * cap,) * T and 2 * cap <= fx.MAX_AMOUNT


def test_the_number_of_producers_is_bounded(chain, snapshot):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from agents.chain.config import MAX_PRODUCERS
    from agents.chain.errors import ChainError

    config = make_config(chain)
    with reverts("TooManyProducers", 1):  # deployed for one producer, a second is refused
        _deploy_with_holders(chain, config, [], slots=1)
    many = replace(config, producers=config.producers * ((MAX_PRODUCERS + 2) // 2))
    with pytest.raises(ChainError, match=r"MarketConfig\.producers: at most 65535"):
        many.validate()


def test_the_round_counter_is_bounded(chain, hm):  # type: ignore[no-untyped-def]
    """Rounds 0..2^32 - 2 open (an order stores round + 1 in 32 bits); the last cannot close."""
    from agents.chain.config import MAX_ROUND

    # (the harness sets the counter only: the round's history nonce stays where it was, so
    # this round can be ordered in but not closed into a history; the bound fires first)
    hm.transact(hm.chain.keeper, "setRound", [MAX_ROUND])
    a = chain.accounts[0]
    assert hm.order(a, std_bids(0)).round == MAX_ROUND
    assert hm.agent(a.address).last_round == MAX_ROUND
    chain.travel_to(hm.current_round().deadline)
    with reverts("RoundLimit", MAX_ROUND):
        hm.close()
