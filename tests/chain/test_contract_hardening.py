"""Hardening of the market contract (issue 11, contracts): what settlement still
refuses when the 160-bit commitment is defeated (a forged commitment through the
test-only MarketHarness), and the order's round binding under a forged history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.chain.events import pack_values
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
        hm.transact(a, "order", [1, pack_values(forged), b"", pack_values([0] * (T + 1)), b""], gas=hm.order_gas)
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

def _deploy_with_holders(chain, config, extra):  # type: ignore[no-untyped-def]
    """Deploy token and market as deploy_market does, but the token also mints ``extra``
    ((address, wei), ...) outside the market; agents registered, not started."""
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
    chain.send(keeper, None, art["Bytecoin"].bytecode + encode(["address[]", "uint256[]"], [holders, amounts]),
               gas=3_000_000)
    chain.send(keeper, None, art["Market"].bytecode + encode(["address", "uint256", "uint256"],
                                                             [token_address, config.T, config.round_duration]),
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
