"""agents.chain.fixedpoint: bit-for-bit equal to the contract, and close to the
real-number model (float and exact decimal references).

Error of the fixed-point power ``pow_down`` (``x^(1/c)``) over c ∈ [0.3, 3]
and x = q/θ ∈ [1e-9, 1e9] (wad 1e9..1e27): at most 1 wei (the final floor)
plus 4.1e-20 relative, against an exact 60-digit reference (asserted:
1 wei + 1e-19 relative; proven in contracts/FixedPoint.sol: 8.1e-20 there,
3.8e-19 for every exponent the market accepts); against float ``**`` within
2 wei + 3.1e-15 relative, which is float's own error.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pytest
from eth_abi import decode, encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.chain import fixedpoint as fx
from agents.chain.backend import Reverted

WAD = fx.WAD
getcontext().prec = 60


@pytest.fixture(scope="module")
def harness(chain):  # type: ignore[no-untyped-def]
    """FixedPointHarness deployed once (the chain is shared; this contract is stateless).

    A test-only contract: compiled here from ``contracts/test/`` (cached in
    ``build/``), never part of the shipped artifacts."""
    from agents.chain.compiler import compile_contracts
    from agents.chain.deploy import create_address

    bytecode = compile_contracts(test=True)["FixedPointHarness"].bytecode
    address = create_address(chain.keeper.address, chain.nonce(chain.keeper))
    chain.send(chain.keeper, None, bytecode, gas=3_000_000)

    def call(sig: str, types: list[str], args: list, out: str):  # type: ignore[no-untyped-def]
        return decode([out], chain.call(address, keccak(text=sig)[:4] + encode(types, args)))[0]

    return call


def contract_pow(x: int, a: int) -> int:
    """What the harness's powUp returns: pow_up, or 2^256 − 1 for a result of 2^120 or more
    (sumPowUp flags such a term, far above any amount the market holds, without computing it)."""
    p = fx.pow_up(x, a)
    return p if p < 1 << 120 else fx.UINT256_MAX


def exact_pow(x: int, c: int) -> Decimal:
    """(x/1e18)^(1/c) exactly (60 digits), x and c in wad."""
    return (Decimal(x) / WAD) ** (Decimal(WAD) / Decimal(c))


# log-uniform wad values of q/θ over 18 orders of magnitude, and c in [0.3, 3]
x_wad = st.floats(min_value=-9.0, max_value=9.0).map(lambda e: max(1, int(10 ** (18 + e))))
c_wad = st.floats(min_value=0.3, max_value=3.0).map(lambda c: int(c * WAD))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=x_wad, c=c_wad)
def test_pow_is_bit_for_bit_the_contracts(harness, x, c):  # type: ignore[no-untyped-def]
    """The harness's powUp (sumPowUp over one term) = pow_down + floor(pow_down/2^60) + 2, increasing in pow_down: equal results
    mean the contract's power before the margin is pow_down too."""
    a = fx.exponent(c)
    assert harness("exponent(uint256)", ["uint256"], [c], "uint256") == a
    assert harness("powUp(uint256,uint256)", ["uint256", "uint256"], [x, a], "uint256") == contract_pow(x, a)


@pytest.mark.parametrize("x, a", [
    (1, fx.exponent(WAD // 10)), (1, fx.exponent(100 * WAD)), (1 << 160, fx.exponent(100 * WAD)),
    ((1 << 160) - 1, fx.exponent(WAD // 10)), (WAD, fx.exponent(WAD)), (WAD, 0), (WAD - 1, (1 << 124) - 1),
    (WAD + 1, (1 << 124) - 1), (int(2**12.9 * WAD), 15 << 120), (2**13 * WAD, 15 << 120), (10**40, (1 << 124) - 1),
    (1 << 120, fx.exponent(WAD)), ((1 << 121) - 1, fx.exponent(3 * WAD)), (3, fx.exponent(WAD // 3)),
    ((1 << 120) - (1 << 62), fx.exponent(WAD)), ((1 << 121) - 1, fx.exponent(WAD)), (1 << 121, fx.exponent(WAD)),
])
def test_pow_is_bit_for_bit_the_contracts_at_the_edges(harness, x, a):  # type: ignore[no-untyped-def]
    """Smallest and largest x, exponents 0 and 2^124 − 1, results that underflow to 0 and
    that saturate at 2^256 − 1, and the flagging edge: just below 2^120 (computed), in
    [2^120, 2^121) (computed, then reported as 2^256 − 1) and from 2^121 (flagged)."""
    assert harness("powUp(uint256,uint256)", ["uint256", "uint256"], [x, a], "uint256") == contract_pow(x, a)


def test_pow_tables_are_the_exact_logarithms(harness):  # type: ignore[no-untyped-def]
    """The contract's TABLES and constants are the mirror's, and each is the floor of the
    exact real times 2^120 (recomputed here another way: powers and logarithms at 100 digits)."""
    import math
    import re
    from decimal import localcontext

    from agents.chain.compiler import CONTRACTS_DIR

    tb = fx.POW_TABLES
    assert harness("tables()", [], [], "bytes") == tb.table_bytes()
    source = (CONTRACTS_DIR / "FixedPoint.sol").read_text()
    declared = {name: int(v) for name, v in re.findall(r"constant (\w+) = (\d+);", source)}
    for i, v in enumerate(tb.atanh):
        assert declared[f"K{2 * i + 1}"] == v
    for n, v in enumerate(tb.taylor):
        assert declared[f"C{n}"] == v
    assert declared["LOG2_WAD"] == tb.log2_wad
    with localcontext() as ctx:
        ctx.prec = 100
        one = Decimal(1 << fx.SCALE_BITS)
        ln2 = Decimal(2).ln()
        exact = ([Decimal(2) ** (Decimal(j) / 64) for j in range(64)]
                 + [(Decimal(h) / 64).log10() / Decimal(2).log10() for h in range(64, 128)]
                 + [2 / (Decimal(2 * i + 1) * ln2) for i in range(len(tb.atanh))]
                 + [ln2 ** n / math.factorial(n) for n in range(len(tb.taylor))]
                 + [Decimal(18) * Decimal(10).log10() / Decimal(2).log10()])
        got = [*tb.two, *tb.log2, *tb.atanh, *tb.taylor, tb.log2_wad]
        for v, r in zip(got, exact, strict=True):
            assert v <= r * one < v + 1, (v, r)


def test_pow_worst_error_over_the_scenario_ranges():  # type: ignore[no-untyped-def]
    """|pow_down − exact| ≤ 1 wei + 1e-19·exact (measured: 4.1e-20) over the ranges the
    scenarios use; against float ``**``: ≤ 2 wei + 1e-14·result (float's own error); over
    every x and c the market accepts, within the proven bound: exact·(1 − 3.8e-19) − 1 ≤
    pow_down ≤ exact·(1 + 1e-34)."""
    worst_exact = 0.0
    worst_float = 0.0
    for e in np.linspace(-9, 9, 73):
        x = int(10 ** (18 + e))
        for c in np.linspace(0.3, 3.0, 28):
            cw = int(c * WAD)
            got = fx.pow_down(x, fx.exponent(cw))
            ref = exact_pow(x, cw) * WAD
            worst_exact = max(worst_exact, float(max(abs(Decimal(got) - ref) - 1, 0) / ref))
            fl = (x / WAD) ** (WAD / cw) * WAD
            worst_float = max(worst_float, max(abs(got - fl) - 2, 0) / fl)
    print(f"pow_down error beyond 1 wei: {worst_exact:.2e} relative (exact ref), {worst_float:.2e} (float pow)")
    assert worst_exact < 1e-19
    # float ** carries ~2.2e-16·(1 + |y·ln x|) of its own (up to ~7e-15 here): measured 3.1e-15
    assert worst_float < 1e-14
    worst_below = worst_above = Decimal(0)
    for e in np.linspace(-18, 43.2, 123):  # x over [1, 2^144): every ceil(q·1e18/θ)
        x = max(1, min(int(10 ** (18 + e)), (1 << 84) * WAD - 1))
        for c in np.geomspace(0.1, 100, 31):
            cw = int(c * WAD)
            ref = exact_pow(x, cw) * WAD
            if ref > Decimal(2) ** 250:
                continue
            got = Decimal(fx.pow_down(x, fx.exponent(cw)))
            worst_below = max(worst_below, (ref - got - 1) / ref)
            worst_above = max(worst_above, (got - ref) / ref)
    print(f"over the market's range: below {float(worst_below):.2e}, above {float(worst_above):.2e} relative")
    assert worst_below <= Decimal("3.8e-19") and worst_above <= Decimal("1e-34")


def test_pow_rejects_what_the_contract_rejects(harness):  # type: ignore[no-untyped-def]
    """x above 2^160 and exponents above 2^124 − 1: sumPowUp's own checks; 0 and x with
    x·1e18 ≥ 2^256: the harness's (the sum skips q = 0, the market's q are below 2^88)."""
    for x, a in ((0, fx.exponent(WAD)), (1 + (1 << 160), fx.exponent(WAD)), (fx.UINT256_MAX, fx.exponent(WAD)),
                 (WAD, 1 << 124)):
        with pytest.raises(fx.FixedPointError):
            fx.pow_down(x, a)
        with pytest.raises(Reverted) as info:
            harness("powUp(uint256,uint256)", ["uint256", "uint256"], [x, a], "uint256")
        assert info.value.data[:4] == keccak(text="PowOutOfRange(uint256,uint256)")[:4]
    # a bad term anywhere in the sum, after good ones, rejects the whole sum
    with pytest.raises(Reverted) as info:
        harness("sumPowUp(uint256[],uint256[],uint256)", ["uint256[]", "uint256[]", "uint256"],
                [[WAD, 1 + (1 << 160)], [WAD, WAD], fx.exponent(WAD)], "(uint256,uint256)")
    assert info.value.data[:4] == keccak(text="PowOutOfRange(uint256,uint256)")[:4]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(qs=st.lists(st.one_of(st.just(0), x_wad), min_size=1, max_size=30),
       thetas=st.lists(st.integers(min_value=1, max_value=10**24), min_size=30, max_size=30), c=c_wad)
def test_sum_pow_up_is_the_sum_of_the_mirrors_terms(harness, qs, thetas, c):  # type: ignore[no-untyped-def]
    """sumPowUp over an order's periods: zero offers skipped, each term pow_up(ceil(q·1e18/θ)),
    and the terms' bitwise or (the market compares it with 2^84 − 1)."""
    a = fx.exponent(c)
    th = thetas[:len(qs)]
    got = harness("sumPowUp(uint256[],uint256[],uint256)", ["uint256[]", "uint256[]", "uint256"],
                  [qs, th, a], "(uint256,uint256)")
    terms = [fx.pow_up(fx.mul_div_up(q, WAD, t), a) for q, t in zip(qs, th) if q]
    if all(y < 1 << 120 for y in terms):
        hi = 0
        for y in terms:
            hi |= y
        assert got == (sum(terms), hi)
    else:  # a term of 2^120 or more: hi says so (≥ the term, or ≥ 2^255 if not computed)
        assert got[1] >= max(min(y, 1 << 255) for y in terms)
    assert fx.pow_down(2**13 * WAD, 15 << 120) == fx.UINT256_MAX and fx.pow_down(1, 15 << 120) == 0


def test_required_input_is_the_contracts(chain, fresh_market):  # type: ignore[no-untyped-def]
    from tests.conftest import N_STANDARD, make_config

    import random

    rng = random.Random(3)
    for j, p in enumerate(make_config(chain).producers):
        for _ in range(15):
            offers = [0] + [rng.randrange(2000 * WAD) for _ in range(3)]
            offers[rng.randrange(1, 4)] = 0
            want = fx.required_input(offers, p.theta, p.c, p.rho)
            assert fresh_market.required_input(chain.accounts[N_STANDARD + j].address, offers) == want
        # an offer no order could carry (above 2^84 − 1): rejected by both, naming the post
        offers = [0, WAD, fx.MAX_AMOUNT + 1, WAD]
        with pytest.raises(fx.FixedPointError, match="post 2"):
            fx.required_input(offers, p.theta, p.c, p.rho)
        with pytest.raises(Reverted) as info:
            fresh_market.required_input(chain.accounts[N_STANDARD + j].address, offers)
        assert info.value.data == keccak(text="AmountOverflow(uint256,uint256)")[:4] + encode(
            ["uint256", "uint256"], [2, fx.MAX_AMOUNT + 1])


def test_long_run_input_adds_rho_times_the_capacity_used():  # type: ignore[no-untyped-def]
    offers = [0, 3 * WAD, 7 * WAD, 5 * WAD]
    base = fx.required_input(offers, (2 * WAD,), WAD)
    assert base == 15 * WAD // 2
    assert fx.required_input(offers, (2 * WAD,), WAD, rho=WAD // 3) == base + fx.mul_div_up(WAD // 3, 7 * WAD, WAD)


amounts = st.integers(min_value=0, max_value=10**24)


@settings(max_examples=200, deadline=None)
@given(bids=st.lists(st.lists(amounts, min_size=4, max_size=4), min_size=1, max_size=6),
       offers=st.lists(st.lists(amounts, min_size=3, max_size=3), min_size=0, max_size=3),
       omegas=st.lists(st.integers(min_value=1, max_value=10**24), min_size=0, max_size=3))
def test_settlement_rounds_for_the_market_within_one_wei_of_the_float_model(bids, offers, omegas):  # type: ignore[no-untyped-def]
    """Random rounds: n_s standard agents (ω), n_p producers (offers), extra bidders."""
    from market.posts import settle as float_settle

    n_s, n_p = len(omegas), len(offers)
    n = max(len(bids), n_s + n_p)
    bids = [bids[i % len(bids)] for i in range(n)]
    offer_rows = [[w, 0, 0, 0] for w in omegas] + [[0, *o] for o in offers] + [[0, 0, 0, 0]] * (n - n_s - n_p)
    B = [sum(b[t] for b in bids) for t in range(4)]
    Q = [sum(o[t] for o in offer_rows) for t in range(4)]
    out = []
    for i in range(n):
        if i < n_s:
            out.append(fx.settle_order(B, Q, bids[i], omega=omegas[i]))
        else:
            out.append(fx.settle_order(B, Q, bids[i], offer_rows[i]))
    fl = float_settle(np.array(bids, dtype=float) / WAD, np.array(offer_rows, dtype=float) / WAD)
    for t in range(4):
        got = sum(s.allocations[t] for s in out)
        active = B[t] > 0 and Q[t] > 0
        assert got <= Q[t] and (not active or Q[t] - got <= n)  # floors: < 1 wad-wei lost per buyer
        for i, s in enumerate(out):
            assert abs(s.allocations[t] - fl.allocations[i, t] * WAD) <= 1 + 1e-12 * s.allocations[t]
            if not active:
                assert s.allocations[t] == 0
    paid = sum(s.revenue + s.refund for s in out)
    assert 0 <= sum(B) - paid <= n * 4  # escrow left = dust, bounded
    for i, s in enumerate(out):
        assert abs(s.revenue - fl.revenue[i] * WAD) <= 4 + 1e-12 * s.revenue
        assert s.refund == sum(bids[i][t] for t in range(4) if not (B[t] > 0 and Q[t] > 0))


# the whole range the market passes to the power: x = ceil(q·1e18/θ) in [1, 2^84·1e18), c in [0.1, 100]
x_all = st.floats(min_value=-18.0, max_value=43.2).map(lambda e: max(1, min(int(10 ** (18 + e)), (1 << 84) * WAD - 1)))
c_all = st.floats(min_value=-1.0, max_value=2.0).map(lambda e: max(WAD // 10, min(int(10 ** (18 + e)), 100 * WAD)))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=x_all, c=c_all)
def test_pow_up_is_the_contracts_and_never_below_the_exact_power(harness, x, c):  # type: ignore[no-untyped-def]
    """The charged input (q/θ)^{1/c} rounds against the producer: pow_up with the
    floored exponent 2^120·1e18 // c is never below the exact x^(1/c) (60 digits; exponent
    exactly 1/c), and exceeds it by at most 1e-16 relative + 3 wei (stated: 8.7e-19 + 2 wei);
    bit for bit the contract's."""
    a = fx.exponent(c)
    got = fx.pow_up(x, a)
    assert harness("powUp(uint256,uint256)", ["uint256", "uint256"], [x, a], "uint256") == contract_pow(x, a)
    exact = exact_pow(x, c) * WAD
    if exact > Decimal(2) ** 200:
        return  # far above the market's bound (AmountOverflow): only the harness equality matters
    assert Decimal(got) >= exact, (x, c, got, exact)
    assert Decimal(got) - exact <= 3 + Decimal("2e-16") * exact
    assert Decimal(got) - exact <= 2 + Decimal("8.7e-19") * exact


def test_phi_rounds_against_the_producer_at_the_edges():  # type: ignore[no-untyped-def]
    """Sub-wei and extreme inputs: a zero-stock producer is never paid for an offer whose
    exact input is positive (phi ≥ 1 wei whenever q > 0)."""
    for q, theta, c in ((1, 10**30, WAD // 10), (1, (1 << 84) - 1, WAD // 10), (10**6, WAD, 100 * WAD),
                        ((1 << 84) - 1, 1, 100 * WAD), (WAD, WAD, 3 * WAD), (5, 7, 7 * WAD // 10)):
        got = fx.phi(q, theta, c)
        exact = (Decimal(q) / Decimal(theta)) ** (Decimal(WAD) / Decimal(c)) * WAD
        assert got >= 1 and Decimal(got) >= exact, (q, theta, c, got, exact)
