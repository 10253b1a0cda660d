"""The market contract: every external function, every custom error (by name
and data), events with decoded arguments, and settlements against the
pure-Python fixed-point model (agents.chain.fixedpoint)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from eth_utils import keccak

from agents.chain.events import ROUND_BYTES, VALUE_BYTES, pack_order, pack_values, unpack_values
from agents.chain import fixedpoint as fx
from tests.conftest import N_PRODUCERS, N_STANDARD, TEST_T, WAD, make_config

T = TEST_T
N = N_STANDARD + N_PRODUCERS


@contextlib.contextmanager
def reverts(name: str, *args: object) -> Iterator[None]:
    """Expect a revert with the custom error ``name`` (and exactly ``args`` if given)."""
    from agents.chain.backend import Reverted

    with pytest.raises(Reverted) as info:
        yield
    assert info.value.name == name, f"expected {name}, got {info.value.name}{info.value.error_args}"
    if args:
        assert info.value.error_args == args


def agents(chain):  # type: ignore[no-untyped-def]
    acc = chain.accounts
    return acc[:N_STANDARD], acc[N_STANDARD:N], acc[N:]


def std_bids(i: int) -> list[int]:
    return [(7 + i) * WAD + 123456789, (3 + i) * WAD // 3, (2 + i) * WAD + 1, (5 * WAD) // 7]


def prod_bids(j: int) -> list[int]:
    return [(30 + j) * WAD + 987654321, WAD + j, 2 * WAD, 0]


def prod_offers(j: int) -> list[int]:
    return [0, (10 + j) * WAD + 11, (12 + j) * WAD, (9 + j) * WAD + 5]


def commitment(bids: list[int], offers: list[int]) -> bytes:
    """keccak256 of the packed order (11 big-endian bytes a value, as calldata carries it), low 160 bits."""
    packed = b"".join(v.to_bytes(11, "big") for v in [*bids, *offers])
    return keccak(packed)[12:]


def play_round(market, chain):  # type: ignore[no-untyped-def]
    """Every agent orders (standard: std_bids; producers: prod_bids/prod_offers); returns results."""
    std, prod, _ = agents(chain)
    out = [market.order(a, std_bids(i)) for i, a in enumerate(std)]
    out += [market.order(a, prod_bids(j), prod_offers(j)) for j, a in enumerate(prod)]
    return out


# ------------------------------------------------------------------ parameters, views


def test_parameters_and_registration_are_readable(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    cfg = make_config(chain)
    assert m.view("T") == (T,)
    assert m.view("roundDuration") == (3600,)
    assert m.view("token")[0] == m.token_address
    assert m.view("deployer")[0] == chain.keeper.address
    assert m.view("agentCount") == (N,)
    assert [m.view("agentAt", [i])[0] for i in range(N)] == [s.address for s in cfg.standard] + [
        p.address for p in cfg.producers]
    for s in cfg.standard:
        st = m.agent(s.address)
        assert (st.kind, st.balance, st.omega, st.stock, st.last_round) == ("standard", s.bytecoins, s.omega, 0, None)
    for p in cfg.producers:
        st = m.agent(p.address)
        assert (st.kind, st.balance, st.stock, st.omega) == ("producer", p.bytecoins, p.stock, 0)
        c, cap, rho, theta = m.view("producerParams", [p.address])
        assert (c, cap, rho) == (p.c, p.capacity, p.rho)
        assert list(theta) == (list(p.theta) * T if len(p.theta) == 1 else list(p.theta))
    supply = sum(s.bytecoins for s in cfg.standard) + sum(p.bytecoins for p in cfg.producers)
    assert m.view("token.totalSupply") == (supply,)
    assert m.token_balance(m.market_address) == supply
    assert m.view("token.decimals") == (18,)
    assert m.escrow() == 0
    rs = m.current_round()
    assert (rs.round, rs.orders, rs.agents) == (0, 0, N)
    assert rs.deadline > chain.now() and rs.B == (0,) * (T + 1) and rs.Q == (0,) * (T + 1)
    with reverts("UnknownAgent", chain.accounts[N].address):
        m.view("producerParams", [chain.accounts[N].address])
    with reverts("UnknownRound", 0):
        m.closed_round(0)


def test_registration_events_rebuild_the_agents(chain, fresh_market):  # type: ignore[no-untyped-def]
    from agents.chain.events import Registered, Started

    cfg = make_config(chain)
    events = fresh_market.events()
    reg = [e for e in events if isinstance(e, Registered)]
    assert [(e.agent, e.kind, e.bytecoins, e.omega_or_stock) for e in reg] == [
        (s.address, 1, s.bytecoins, s.omega) for s in cfg.standard] + [
        (p.address, 2, p.bytecoins, p.stock) for p in cfg.producers]
    started = [e for e in events if isinstance(e, Started)]
    assert len(started) == 1 and started[0].agents == N
    assert started[0].deadline == fresh_market.current_round().deadline


# ------------------------------------------------------------------ orders


def test_standard_order_prepays_and_adds_to_totals(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a = chain.accounts[0]
    bids = std_bids(0)
    res = m.order(a, bids)
    assert res.round == 0 and res.input == 0 and res.settlement is None
    assert res.receipt.status and res.receipt.gas_used > 21_000
    st = m.agent(a.address)
    assert st.balance == 1000 * WAD - sum(bids) and st.last_round == 0
    rs = m.current_round()
    assert rs.B == tuple(bids) and rs.Q == (100 * WAD, 0, 0, 0) and rs.orders == 1
    assert m.escrow() == sum(bids)
    assert m.view("agentState", [a.address])[6] == commitment(bids, [])
    (ev,) = [e for e in m.events(res.receipt.block_number) if type(e).__name__ == "OrderPlaced"]
    assert (ev.agent, ev.round, ev.bids, ev.offers, ev.input) == (a.address, 0, tuple(bids), (), 0)


def test_producer_order_takes_input_from_stock(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    cfg = make_config(chain)
    p = cfg.producers[0]
    a = chain.accounts[N_STANDARD]
    offers = prod_offers(0)
    need = fx.required_input(offers, p.theta, p.c, p.rho)
    assert m.required_input(a.address, offers) == need
    res = m.order(a, prod_bids(0), offers)
    assert res.input == need
    st = m.agent(a.address)
    assert st.stock == p.stock - need and st.balance == p.bytecoins - sum(prod_bids(0))
    assert m.current_round().Q == tuple(offers)
    (ev,) = [e for e in m.events(res.receipt.block_number) if type(e).__name__ == "OrderPlaced"]
    assert ev.offers == tuple(offers) and ev.input == need


@pytest.mark.parametrize("c", [WAD, 8 * WAD // 10])
def test_long_run_input_uses_the_largest_offer_wherever_it_is(chain, snapshot, c):  # type: ignore[no-untyped-def]
    """ρ·max_t q^t (the long run) takes the largest offer on any post, here the last one:
    the capacity pass keeps no running maximum, the long run takes its own pass."""
    from dataclasses import replace

    from agents.chain.deploy import deploy_market

    cfg = make_config(chain)
    p = replace(cfg.producers[1], rho=WAD // 3, c=c)
    m = deploy_market(chain, replace(cfg, producers=(cfg.producers[0], p)))
    a = chain.accounts[N_STANDARD + 1]
    offers = [0] + [WAD * (t + 1) for t in range(T)]  # increasing: the largest on post T
    base = fx.required_input(offers, p.theta, c)
    want = base + fx.mul_div_up(WAD // 3, T * WAD, WAD)
    assert fx.required_input(offers, p.theta, c, p.rho) == want == m.required_input(a.address, offers)
    assert m.order(a, prod_bids(1), offers).input == want


def test_round_settles_exactly_as_the_fixed_point_model(chain, fresh_market):  # type: ignore[no-untyped-def]
    """Close after everyone ordered; the next orders settle round 0 to the wei."""
    m = fresh_market
    cfg = make_config(chain)
    std, prod, _ = agents(chain)
    before = {a.address: m.agent(a.address) for a in (*std, *prod)}
    inputs = [r.input for r in play_round(m, chain)]
    closed = m.close(chain.accounts[N + 1]).closed  # anyone may close
    omegas = [s.omega for s in cfg.standard]
    B = [sum(std_bids(i)[t] for i in range(N_STANDARD)) + sum(prod_bids(j)[t] for j in range(N_PRODUCERS))
         for t in range(T + 1)]
    Q = [sum(omegas)] + [sum(prod_offers(j)[t] for j in range(N_PRODUCERS)) for t in range(1, T + 1)]
    assert closed.B == tuple(B) and closed.Q == tuple(Q)
    assert closed.prices == tuple(fx.price(b, q) for b, q in zip(B, Q))
    assert m.closed_round(0) == closed
    assert m.current_round().round == 1 and m.current_round().B == (0,) * (T + 1)
    # round 1: the same orders settle round 0
    results = play_round(m, chain)
    paid = 0
    for i, (a, res) in enumerate(zip(std, results[:N_STANDARD])):
        want = fx.settle_order(B, Q, std_bids(i), omega=omegas[i])
        s = res.settlement
        assert s is not None and s.round == 0
        assert (s.allocations, s.revenue, s.refund) == (want.allocations, want.revenue, want.refund)
        assert s.consumed == want.allocations[0] and s.stock == 0
        assert m.agent(a.address).balance == before[a.address].balance - 2 * sum(std_bids(i)) + want.revenue
        paid += want.revenue
    for j, (a, res) in enumerate(zip(prod, results[N_STANDARD:])):
        want = fx.settle_order(B, Q, prod_bids(j), prod_offers(j))
        s = res.settlement
        assert s is not None
        assert (s.allocations, s.revenue, s.refund) == (want.allocations, want.revenue, want.refund)
        # the stock left after round 0's input is consumed; round 0's x^0 is the new stock
        assert s.consumed == before[a.address].stock - inputs[N_STANDARD + j]
        assert s.stock == want.allocations[0]
        assert m.agent(a.address).stock == want.allocations[0] - results[N_STANDARD + j].input
        paid += want.revenue
        # revenue within rounding of the float model: Σ_t p^t q^t
        exact = sum(prod_offers(j)[t] / WAD * B[t] / Q[t] for t in range(1, T + 1))
        assert abs(s.revenue / WAD - exact) <= 1e-12 * exact
    # totals allocated never exceed what was offered; the rest is dust
    for t in range(T + 1):
        alloc = sum(r.settlement.allocations[t] for r in results)  # type: ignore[union-attr]
        assert Q[t] - (N) <= alloc <= Q[t]
    assert 0 <= sum(B) - paid <= N * (T + 1)


def test_claim_settles_the_final_round_once(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a = chain.accounts[0]
    m.order(a, std_bids(0))
    with reverts("RoundNotClosed", 0):
        m.claim(a)
    m.forget()  # the client rebuilds the previous order from the logs
    chain.travel_to(m.current_round().deadline)
    m.close()
    s = m.claim(a)
    cl = m.closed_round(0)
    want = fx.settle_order(cl.B, cl.Q, std_bids(0), omega=100 * WAD)
    assert (s.round, s.allocations, s.revenue, s.refund) == (0, want.allocations, want.revenue, want.refund)
    # alone in the round: post 0 active (own bid, own ω), electricity posts inactive (no offers): refunded
    assert want.refund == sum(std_bids(0)[1:]) and want.revenue == std_bids(0)[0] * 100 * WAD // (100 * WAD)
    assert m.agent(a.address).last_round is None
    with reverts("NothingToClaim", a.address):
        m.transact(a, "claim", [b"", b""])
    # after a claim the agent orders afresh (nothing to settle)
    assert m.order(a, std_bids(0)).settlement is None


def test_inactive_posts_refund_bids_and_return_offers(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    std, prod, _ = agents(chain)
    m.order(std[0], [WAD, 0, 0, 2 * WAD])  # post 3: bids but (below) no offers; post 1: offers, no bids
    m.order(prod[1], [WAD, 0, 0, 0], [0, 5 * WAD, 0, 0])
    chain.travel_to(m.current_round().deadline)
    cl = m.close().closed
    assert cl.active == (True, False, False, False) and cl.prices[1:] == (0, 0, 0)
    s_std = m.claim(std[0])
    s_prod = m.claim(prod[1])
    assert s_std.refund == 2 * WAD and s_std.allocations[3] == 0
    assert s_prod.revenue == 0 and s_prod.refund == 0 and s_prod.allocations[1] == 0
    # producer bought good on post 0: x^0 = b·Q/B with Q^0 = ω of the one standard agent
    assert s_prod.allocations[0] == WAD * (100 * WAD) // (2 * WAD)


# ------------------------------------------------------------------ close


def test_close_needs_the_deadline_or_every_order(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    m.order(chain.accounts[0], std_bids(0))
    deadline = m.current_round().deadline
    with reverts("RoundStillOpen", 0, deadline, 1, N):
        m.close()
    chain.travel_to(deadline)
    res = m.close()
    assert res.closed.round == 0
    (ev,) = [e for e in m.events(res.receipt.block_number) if type(e).__name__ == "RoundClosed"]
    assert ev.round == 0 and ev.B == res.closed.B and ev.prices == res.closed.prices
    assert ev.next_deadline == deadline + 3600 or ev.next_deadline >= deadline + 3600
    assert m.current_round().deadline == ev.next_deadline


def test_late_and_second_orders_are_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a = chain.accounts[1]
    m.order(a, std_bids(1))
    with reverts("AlreadyOrdered", a.address, 0):
        m.order(a, std_bids(1))
    b = chain.accounts[2]
    deadline = m.current_round().deadline
    chain.travel_to(deadline + 5)
    with reverts("LateOrder", 0, deadline, deadline + 5):
        m.order(b, std_bids(2))


def test_an_order_binds_to_its_round(chain, fresh_market):  # type: ignore[no-untyped-def]
    """A transaction signed for round 0 and mined after round 0 closed does not
    execute in round 1 with round 0's bids: WrongRound(meant, open), nothing moves."""
    from agents.chain.backend import Reverted
    from agents.chain.errors import ChainError

    m = fresh_market
    a, b = chain.accounts[0], chain.accounts[1]
    stale = m.encode_order(a, std_bids(0), round=0)  # signed for round 0 ...
    with reverts("WrongRound", 1, 0):  # ... and one meant for a round not yet open
        m.order(b, std_bids(1), round=1)
    chain.travel_to(m.current_round().deadline)
    m.close()
    before = m.agent(a.address)
    with pytest.raises(Reverted) as info:  # ... mined in round 1
        m.chain.send(a, m.market_address, stale, m.order_gas)
    assert m.codec.decode_error(info.value.data) == ("WrongRound", (0, 1))
    assert m.agent(a.address) == before and m.current_round().orders == 0
    assert m.order(a, std_bids(0), round=1).round == 1  # the round it means
    for bad in (-1, 1 << 32):  # the payload carries the round in 4 bytes
        with pytest.raises(ChainError, match="round: expected a round number"):
            m.encode_order(b, std_bids(1), round=bad)


# ------------------------------------------------------------------ rejected orders


def test_short_balance_is_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    a = chain.accounts[0]
    with reverts("InsufficientBalance", a.address, 1000 * WAD, 1000 * WAD + 1):
        fresh_market.order(a, [500 * WAD, 500 * WAD, 1, 0])


def test_capacity_and_post0_offers_are_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    a = chain.accounts[N_STANDARD]
    with reverts("CapacityExceeded", a.address, 2, 2000 * WAD + 1, 2000 * WAD):
        fresh_market.order(a, [0] * 4, [0, WAD, 2000 * WAD + 1, 0])
    with reverts("OfferOnGood", a.address, WAD):
        fresh_market.order(a, [0] * 4, [WAD, WAD, 0, 0])


def test_insufficient_input_is_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    a = chain.accounts[N_STANDARD + 1]  # θ = 50, c = 1, stock 100: at most 5,000 kWh in total
    offers = [0, 1800 * WAD, 1800 * WAD, 1800 * WAD]
    need = fx.required_input(offers, (50 * WAD,), WAD)
    assert need == 108 * WAD
    with reverts("InsufficientInput", a.address, need, 100 * WAD):
        fresh_market.order(a, [0] * 4, offers)


def test_overflowing_amounts_and_bad_lengths_are_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a, p = chain.accounts[0], chain.accounts[N_STANDARD]
    with reverts("AmountOverflow", 1, fx.MAX_AMOUNT + 1):
        m.order(a, [0, fx.MAX_AMOUNT + 1, 0, 0])
    # one length check covers the payload: here 4 bytes of round + 11 a value
    with reverts("BadOrderLength", 4 + 3 * 11, 4 + 4 * 11):
        m.order(a, [1, 2, 3])
    with reverts("BadOrderLength", 4 + 8 * 11, 4 + 4 * 11):
        m.order(a, [1, 2, 3, 4], [0, 0, 0, 0])
    with reverts("BadOrderLength", 4 + 4 * 11, 4 + 8 * 11):
        m.order(p, [1, 2, 3, 4])


def test_an_order_payload_has_exactly_its_senders_length(chain, fresh_market):  # type: ignore[no-untyped-def]
    """The payload round ‖ previous bids ‖ previous offers ‖ bids ‖ offers has the length its
    sender's kind and pending order give: anything else reverts BadOrderLength(length,
    expected) and changes nothing; the round checks come first (AlreadyOrdered)."""
    m = fresh_market
    a, p = chain.accounts[0], chain.accounts[N_STANDARD]
    arr = VALUE_BYTES * (TEST_T + 1)  # one packed array
    std, prod = pack_order(0, std_bids(0)), pack_order(0, prod_bids(0), prod_offers(0))
    assert (len(std), len(prod)) == (ROUND_BYTES + arr, ROUND_BYTES + 2 * arr)
    before = (m.agent(a.address), m.agent(p.address))
    for sender, payload, expected in (
            (a, std[:-1], len(std)),  # a byte short
            (a, std + b"\x00", len(std)),  # a byte long
            (a, b"", len(std)),  # nothing (its round reads as 0: the open round)
            (a, pack_order(0, std_bids(0), [0] * (TEST_T + 1)), len(std)),  # a standard agent sending offers
            (p, pack_order(0, prod_bids(0)), len(prod)),  # a producer omitting them
            (a, pack_order(0, std_bids(0), previous=(std_bids(0), [])), len(std)),  # a previous order, none pending
            (p, pack_order(0, prod_bids(0), prod_offers(0), previous=(prod_bids(0), prod_offers(0))), len(prod))):
        with reverts("BadOrderLength", len(payload), expected):
            m.transact(sender, "order", [payload], gas=m.order_gas)
    assert (m.agent(a.address), m.agent(p.address)) == before and m.current_round().orders == 0
    m.transact(a, "order", [std], gas=m.order_gas)
    with reverts("AlreadyOrdered", a.address, 0):  # the same payload again: no longer its length, but a second order
        m.transact(a, "order", [std], gas=m.order_gas)
    m.transact(p, "order", [prod], gas=m.order_gas)
    chain.travel_to(m.current_round().deadline)
    m.close()
    # round 1: the previous order is due
    std1 = pack_order(1, std_bids(0), previous=(std_bids(0), []))
    prod1 = pack_order(1, prod_bids(0), prod_offers(0), previous=(prod_bids(0), prod_offers(0)))
    assert (len(std1), len(prod1)) == (ROUND_BYTES + 2 * arr, ROUND_BYTES + 4 * arr)
    for sender, payload, expected in (
            (a, pack_order(1, std_bids(0)), len(std1)),  # the pending order omitted
            (p, pack_order(1, prod_bids(0), prod_offers(0)), len(prod1)),
            (p, pack_order(1, prod_bids(0), prod_offers(0), previous=(prod_bids(0), [])), len(prod1)),
            (a, std1[:-1], len(std1)),
            (a, std1 + b"\x00", len(std1))):
        with reverts("BadOrderLength", len(payload), expected):
            m.transact(sender, "order", [payload], gas=m.order_gas)
    assert m.agent(a.address).last_round == 0 and m.current_round().orders == 0
    m.forget()  # the client rebuilds the previous orders from the logs
    assert m.order(a, std_bids(0)).settlement is not None
    assert m.order(p, prod_bids(0), prod_offers(0)).settlement is not None


def test_order_placed_carries_the_order_as_sent(chain, fresh_market):  # type: ignore[no-untyped-def]
    """OrderPlaced's `order` is bids ‖ offers exactly as sent (the previous order re-sent
    with it is not logged), ABI-encoded with one length word; the commitment is its hash."""
    from eth_abi import decode

    m = fresh_market
    a, p = chain.accounts[0], chain.accounts[N_STANDARD]
    topic = keccak(text="OrderPlaced(address,uint256,bytes,uint256)")

    def logged(res):  # type: ignore[no-untyped-def]
        (log,) = [g for g in res.receipt.logs if bytes(g["topics"][0]) == topic]
        data = bytes(log["data"])
        order, input_ = decode(["bytes", "uint256"], data)
        assert len(data) == 3 * 32 + -(-len(order) // 32) * 32  # offset, input, length, padded order
        return order, input_

    for rnd in (0, 1):
        if rnd:
            chain.travel_to(m.current_round().deadline)
            m.close()
        bids = [b + rnd for b in prod_bids(0)]
        res = m.order(p, bids, prod_offers(0))
        assert logged(res) == (pack_values(bids) + pack_values(prod_offers(0)), res.input)
        assert m.view("agentState", [p.address])[6] == commitment(bids, prod_offers(0))
        res = m.order(a, std_bids(rnd))
        assert logged(res) == (pack_values(std_bids(rnd)), 0)
        assert (res.settlement is not None) == (rnd == 1)


def test_unknown_agents_are_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    x = chain.accounts[N]
    for name, args in (("order", [pack_order(0, [0] * 4)]), ("claim", [b"", b""]), ("deposit", [1]),
                       ("withdraw", [1])):
        with reverts("UnknownAgent", x.address):
            m.transact(x, name, args)


def test_a_wrong_previous_order_is_rejected(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a = chain.accounts[0]
    m.order(a, std_bids(0))
    chain.travel_to(m.current_round().deadline)
    m.close()
    forged = std_bids(0)
    forged[0] -= 1
    with reverts("BadPrevious", a.address):
        m.transact(a, "order", [pack_order(1, std_bids(0), previous=(forged, []))], gas=m.order_gas)
    with reverts("BadPrevious", a.address):
        m.transact(a, "claim", [pack_values(forged), b""], gas=m.order_gas)
    for prev in ([pack_values(std_bids(0)), pack_values([0] * 4)], [pack_values(std_bids(0) + [0]), b""]):
        with reverts("BadPrevious", a.address):  # a claim's arrays of the wrong lengths
            m.transact(a, "claim", prev, gas=m.order_gas)
    assert m.order(a, std_bids(0)).settlement is not None  # the true one settles


# ------------------------------------------------------------------ deposit, withdraw, escrow


def test_withdraw_and_deposit_move_bytecoins_between_account_and_token(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    a = chain.accounts[0]
    supply = m.view("token.totalSupply")[0]
    r = m.withdraw(a, 40 * WAD)
    assert m.token_balance(a.address) == 40 * WAD and m.agent(a.address).balance == 960 * WAD
    (ev,) = [e for e in m.events(r.block_number) if type(e).__name__ == "Withdrawn"]
    assert (ev.agent, ev.amount) == (a.address, 40 * WAD)
    with reverts("ERC20InsufficientAllowance", m.market_address, 0, 10 * WAD):
        m.transact(a, "deposit", [10 * WAD])
    r = m.deposit(a, 15 * WAD)
    assert m.token_balance(a.address) == 25 * WAD and m.agent(a.address).balance == 975 * WAD
    (ev,) = [e for e in m.events(r.block_number) if type(e).__name__ == "Deposited"]
    assert (ev.agent, ev.amount) == (a.address, 15 * WAD)
    with reverts("ZeroAmount"):
        m.withdraw(a, 0)
    with reverts("ZeroAmount"):
        m.transact(a, "deposit", [0])
    with reverts("InsufficientBalance", a.address, 975 * WAD, 976 * WAD):
        m.withdraw(a, 976 * WAD)
    balances = sum(m.agent(x.address).balance for x in chain.accounts[:N])
    assert balances + m.escrow() + m.token_balance(a.address) == supply


def test_escrow_holds_bids_until_settled_and_keeps_only_dust(chain, fresh_market):  # type: ignore[no-untyped-def]
    m = fresh_market
    supply = m.view("token.totalSupply")[0]
    play_round(m, chain)
    bids_total = sum(sum(std_bids(i)) for i in range(N_STANDARD)) + sum(sum(prod_bids(j)) for j in range(N_PRODUCERS))
    assert m.escrow() == bids_total
    m.close()
    for a in chain.accounts[:N]:
        m.claim(a)
    dust = m.escrow()
    assert 0 <= dust <= N * (T + 1)
    assert sum(m.agent(a.address).balance for a in chain.accounts[:N]) + dust == supply


# ------------------------------------------------------------------ registration phase


def test_registration_rules(chain, snapshot):  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    cfg = make_config(chain)
    m = deploy_market(chain, cfg, start=False)
    keeper, x = chain.keeper, chain.accounts[N]
    with reverts("NotStarted"):
        m.order(chain.accounts[0], std_bids(0))
    with reverts("NotStarted"):
        m.close()
    with reverts("NotStarted"):
        m.transact(chain.accounts[0], "withdraw", [1])
    with reverts("NotDeployer", x.address):
        m.transact(x, "registerStandard", [[x.address], [WAD], [0]])
    with reverts("AlreadyRegistered", chain.accounts[0].address):
        m.transact(keeper, "registerStandard", [[chain.accounts[0].address], [WAD], [0]])
    with reverts("InvalidOmega", 0):
        m.transact(keeper, "registerStandard", [[x.address], [0], [0]])
    with reverts("BadLength", "omega", 2, 1):
        m.transact(keeper, "registerStandard", [[x.address], [WAD, WAD], [0]])
    with reverts("InvalidExponent", WAD // 20):
        m.transact(keeper, "registerProducer", [x.address, 0, 0, WAD // 20, WAD, 0, [WAD]])
    with reverts("InvalidTheta", 0):
        m.transact(keeper, "registerProducer", [x.address, 0, 0, WAD, WAD, 0, [0]])
    for error, stock, capacity, rho in (("InvalidStock", fx.MAX_AMOUNT + 1, WAD, 0),
                                        ("InvalidCapacity", 0, fx.MAX_AMOUNT + 1, 0),
                                        ("InvalidRho", 0, WAD, fx.MAX_AMOUNT + 1)):
        with reverts(error, fx.MAX_AMOUNT + 1):
            m.transact(keeper, "registerProducer", [x.address, 0, stock, WAD, capacity, rho, [WAD]])
    with reverts("OmegaTotalTooLarge"):
        m.transact(keeper, "registerStandard", [[x.address], [fx.MAX_AMOUNT], [0]])
    with reverts("CreditTooLarge"):
        m.transact(keeper, "registerStandard", [[x.address], [WAD], [fx.MAX_AMOUNT]])
    with reverts("BadLength", "theta", 2, T):
        m.transact(keeper, "registerProducer", [x.address, 0, 0, WAD, WAD, 0, [WAD, WAD]])
    with reverts("InvalidAgent", "0x" + "00" * 20):
        m.transact(keeper, "registerStandard", [["0x" + "00" * 20], [WAD], [0]])
    # an extra agent credited with bytecoins the market does not hold: start refuses
    m.transact(keeper, "registerStandard", [[x.address], [WAD], [5 * WAD]], gas=400_000)
    supply = m.view("token.totalSupply")[0]
    with reverts("Underfunded", supply, supply + 5 * WAD):
        m.transact(keeper, "start", [])


def test_registration_closes_at_start(chain, fresh_market):  # type: ignore[no-untyped-def]
    with reverts("AlreadyStarted"):
        fresh_market.transact(chain.keeper, "registerStandard", [[chain.accounts[N].address], [WAD], [0]])
    with reverts("AlreadyStarted"):
        fresh_market.transact(chain.keeper, "start", [])


def test_constructor_rejects_bad_parameters(chain, snapshot, artifacts):  # type: ignore[no-untyped-def]
    from eth_abi import encode

    from agents.chain.backend import Reverted
    from agents.chain.events import AbiCodec

    codec = AbiCodec(artifacts["Market"].abi)
    for periods, duration, producers, error, value in (
            (0, 60, 1, "InvalidPeriods", 0), (701, 60, 1, "InvalidPeriods", 701),
            (3, 0, 1, "InvalidRoundDuration", 0), (3, 60, 65_536, "InvalidProducerCount", 65_536)):
        with pytest.raises(Reverted) as info:
            chain.send(chain.keeper, None, artifacts["Market"].bytecode + encode(
                ["address", "uint256", "uint256", "uint256"], [chain.keeper.address, periods, duration, producers]),
                gas=8_000_000)
        assert codec.decode_error(info.value.data) == (error, (value,))


def test_config_validation_names_the_field(chain):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from agents.chain.deploy import deploy_market
    from agents.chain.errors import ChainError

    cfg = make_config(chain)
    bad = replace(cfg, standard=(replace(cfg.standard[0], omega=0), *cfg.standard[1:]))
    with pytest.raises(ChainError, match=r"standard\[0\]\.omega"):
        deploy_market(chain, bad)
    bad = replace(cfg, producers=(replace(cfg.producers[0], c=WAD // 100), cfg.producers[1]))
    with pytest.raises(ChainError, match=r"producers\[0\]\.c"):
        deploy_market(chain, bad)


def test_order_many_keeps_the_orders_before_a_revert(chain, fresh_market):  # type: ignore[no-untyped-def]
    from agents.chain.backend import Reverted

    m = fresh_market
    a, b, c = chain.accounts[:3]
    with pytest.raises(Reverted) as info:
        m.order_many([(a, std_bids(0), ()), (b, [2000 * WAD, 0, 0, 0], ()), (c, std_bids(2), ())])
    assert info.value.name == "InsufficientBalance"
    done = info.value.completed  # type: ignore[attr-defined]
    assert [r.round for r in done] == [0] and m.current_round().orders == 1
    assert m.previous(a) == (tuple(std_bids(0)), ()) and m.previous(c) == ((), ())
    results = m.order_many([(b, std_bids(1), ()), (c, std_bids(2), ())])
    assert [r.receipt.status for r in results] == [True, True] and m.current_round().orders == 3


def test_offers_cannot_overflow_a_total(chain, snapshot):  # type: ignore[no-untyped-def]
    """Q^t cannot pass the bound: each of the P producers' offers is capped at
    (2^84 - 1)/P (offerCap), so both filling the same posts to the cap still fit; an offer
    above the cap is a capacity violation, reported post by post (slot 0: posts 1–3; post
    4 sits alone in the partly filled slot 1). The order path checks no total (none can
    pass the bound), so a lone producer may fill a post to exactly 2^84 − 1."""
    from agents.chain.config import MarketConfig, ProducerSpec
    from agents.chain.deploy import deploy_market

    base = make_config(chain)
    acc = chain.accounts
    theta = (10**24,)  # long run, ρ = 1e-18: the input of half the bound (~10 units) fits the stock
    producers = tuple(ProducerSpec(acc[N_STANDARD + j].address, theta, WAD, None, 1, 100 * WAD, 1000 * WAD)
                      for j in range(2))
    m = deploy_market(chain, MarketConfig(4, 3600, base.standard, producers))
    p0, p1 = acc[N_STANDARD], acc[N_STANDARD + 1]
    cap = fx.MAX_AMOUNT // 2
    with reverts("CapacityExceeded", p0.address, 2, cap + 1, cap):
        m.order(p0, [0] * 5, [0, 0, cap + 1, 0, cap])
    m.order(p0, [0] * 5, [0, 0, cap, 0, cap])
    with reverts("CapacityExceeded", p1.address, 3, fx.MAX_AMOUNT + 1, cap):
        m.order(p1, [0] * 5, [0, 0, cap, fx.MAX_AMOUNT + 1, 0])
    with reverts("CapacityExceeded", p1.address, 4, cap + 1, cap):
        m.order(p1, [0] * 5, [0, 1, 2, 3, cap + 1])
    assert m.current_round().Q == (0, 0, cap, 0, cap)  # the rejected orders left no trace
    m.order(p1, [0] * 5, [0, 1, cap, 3, cap])  # both at the cap: the totals fit
    assert m.current_round().Q == (0, 1, 2 * cap, 3, 2 * cap) and 2 * cap <= fx.MAX_AMOUNT
    lone = deploy_market(chain, MarketConfig(4, 3600, base.standard, producers[:1]))
    assert lone.view("offerCap")[0] == fx.MAX_AMOUNT
    lone.order(p0, [0] * 5, [0, fx.MAX_AMOUNT, 0, 0, 1])  # was AmountOverflow(1, ...): the total's field is 2^84
    assert lone.current_round().Q == (0, fx.MAX_AMOUNT, 0, 0, 1)


def test_orders_travel_packed(chain, fresh_market):  # type: ignore[no-untyped-def]
    """Calldata and events carry arrays as 11 big-endian bytes a value; the client names
    a value it cannot encode; a byte length that is not whole values is rejected."""
    from agents.chain.errors import ChainError

    m = fresh_market
    a = chain.accounts[0]
    values = [0, 1, fx.MAX_AMOUNT, (1 << 88) - 1]
    assert len(pack_values(values)) == 44
    assert unpack_values(pack_values(values)) == tuple(values)
    with pytest.raises(ChainError, match=r"bids\[1\] = 309485009821345068724781056 is outside"):
        m.order(a, [0, 1 << 88, 0, 0])
    with pytest.raises(ChainError, match=r"offers\[0\] = -1"):
        pack_values([-1], "offers")
    with reverts("AmountOverflow", 3, (1 << 88) - 1):
        m.order(a, [0, 0, 0, (1 << 88) - 1])
    with reverts("BadOrderLength", 4 + 4 * 11 - 1, 4 + 4 * 11):
        m.transact(a, "order", [pack_order(0, std_bids(0))[:-1]], gas=m.order_gas)
    res = m.order(a, std_bids(0))
    (ev,) = [e for e in m.events(res.receipt.block_number) if type(e).__name__ == "OrderPlaced"]
    assert ev.bids == tuple(std_bids(0)) and ev.offers == ()
