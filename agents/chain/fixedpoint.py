"""The market contract's fixed-point arithmetic, mirrored in Python integers.

Every function here computes, operation by operation, what
``contracts/Market.sol`` and ``contracts/FixedPoint.sol`` compute on chain
(floor divisions, Solidity's truncating signed division, the same constants),
so Python predicts every settlement to the wei. No web3 here.

Units: bids and balances in wei (1 bytecoin = 10**18), quantities in wad
(1.0 = 10**18). Trading-post arithmetic (paper §2.0.3–2.0.4), rounding always
in the market's favour:

* allocation (eqs (5)–(7)): ``x = floor(b·Q/B)``;
* revenue (right-hand sides of (1), (3)): ``floor(q·B/Q)`` per post
  (standard agent: ``floor(ω·B^0/Q^0)``);
* price: ``p = floor(B·1e18/Q)`` wei per unit (reported only);
* a post with ``B = 0`` or ``Q = 0`` is inactive: bids refunded, offers returned;
* producer's input (eq. (17) inverted): ``φ = (q/θ)^(1/c)``: for c = 1
  ``ceil(q·1e18/θ)``, else :func:`sum_pow_up` over the periods (rounded up past the
  exact sum); the long run adds ``ceil(ρ·max_t q^t/1e18)``.

The float counterparts are in :mod:`market.posts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .events import Settled

#: 1 bytecoin = 10**18 wei; 1.0 unit of good/electricity = 10**18 wad (the one definition)
WAD = 10**18
#: bound on amounts and per-post totals (the contract's MAX_AMOUNT, 2^84 - 1)
MAX_AMOUNT = (1 << 84) - 1
UINT256_MAX = (1 << 256) - 1
#: binary scale of the power's internals: a real r is the integer floor(r·2^SCALE_BITS)
SCALE_BITS = 120
#: the power's table index takes this many bits (2^6 = 64 entries per table)
TABLE_BITS = 6
#: bits of a table entry (8 bytes: 2^(j/64) at 2^63, log2(h/64) at 2^64)
ENTRY_BITS = 64
#: terms of the atanh series in log2 (z, z³/3, z⁵/5, z⁷/7)
ATANH_TERMS = 4
#: degree of the Taylor polynomial of 2^u, u ∈ [0, 1/64)
EXP_DEGREE = 6
#: θ^t sits in the low THETA_BITS of its period word; a c ≠ 1 producer's offset D^t above
THETA_BITS = 84
#: the sum's margin: + floor(S/2^MARGIN_BITS) (2^-57 ≈ 6.9e-18 relative)
MARGIN_BITS = 57
#: a term's log2 above this (a term of 2^121 wad or more) is flagged, not computed
MAX_TERM_LOG2 = 120


@dataclass(frozen=True)
class PowTables:
    """The power's constants, floors of the exact reals (90-digit decimal logarithms).

    Attributes
    ----------
    two : tuple of int
        ``floor(2^(j/64)·2^63)``, j = 0..63 (8-byte entries).
    log2 : tuple of int
        ``floor(log2(h/64)·2^64)``, h = 64..127 (``log2`` of the table points 1 + j/64).
    atanh : tuple of int
        ``floor(2/((2i+1)·ln 2)·2^120)``, i = 0..ATANH_TERMS−1:
        ``log2((1+z)/(1−z)) = Σ atanh[i]·z^(2i+1)``.
    taylor : tuple of int
        ``floor((ln 2)^n/n!·2^120)``, n = 0..EXP_DEGREE: ``2^u = Σ taylor[n]·u^n``.
    log2_wad : int
        ``floor(log2(1e18)·2^120)``.
    """

    two: tuple[int, ...]
    log2: tuple[int, ...]
    atanh: tuple[int, ...]
    taylor: tuple[int, ...]
    log2_wad: int

    def table_bytes(self) -> bytes:
        """The contract's ``FixedPoint.TABLES``: ``two`` then ``log2``, 8-byte entries
        (entry i at byte 8i: the log2 entry of the table point h/64 is entry h)."""
        return b"".join(v.to_bytes(ENTRY_BITS // 8, "big") for v in (*self.two, *self.log2))


def _pow_tables() -> PowTables:
    """Compute the power's constants from exact decimal logarithms (90 digits; floors)."""
    from decimal import Decimal, localcontext

    one = Decimal(1 << SCALE_BITS)
    with localcontext() as ctx:
        ctx.prec = 90
        ln2 = Decimal(2).ln()
        n = 1 << TABLE_BITS
        factorial = 1
        taylor = []
        for k in range(EXP_DEGREE + 1):
            factorial *= max(k, 1)
            taylor.append(int(ln2 ** k / factorial * one))
        return PowTables(
            two=tuple(int((Decimal(j) / n * ln2).exp() * (1 << (ENTRY_BITS - 1))) for j in range(n)),
            log2=tuple(int((Decimal(h) / n).ln() / ln2 * (1 << ENTRY_BITS)) for h in range(n, 2 * n)),
            atanh=tuple(int(2 / (Decimal(2 * i + 1) * ln2) * one) for i in range(ATANH_TERMS)),
            taylor=tuple(taylor),
            log2_wad=int(Decimal(WAD).ln() / ln2 * one),
        )


#: the power's constants (the contract's FixedPoint.TABLES and K*/C*/LOG2_WAD)
POW_TABLES = _pow_tables()


class FixedPointError(ArithmeticError):
    """An input the contract rejects (``AmountOverflow``, an out-of-range argument)."""


def mul_div_up(a: int, b: int, d: int) -> int:
    """``ceil(a·b/d)`` (FixedPoint.mulDivUp)."""
    p = a * b
    return 0 if p == 0 else (p - 1) // d + 1


def exponent(c: int) -> int:
    """The power's exponent ``1/c`` as stored at registration: ``floor(2^120·1e18/c)``
    (FixedPoint.exponent; c in wad)."""
    return (WAD << SCALE_BITS) // c


def log2_fixed(x: int) -> int:
    """``log2(x)·2^120`` from below for an integer ``1 ≤ x < 2^128`` (FixedPoint's ``log2``).

    ``x = 2^k·μ``, μ ∈ [1, 2) (μ kept to 121 bits); ``μ = β·(1+z)/(1−z)`` with
    ``β = h/64`` the table point below μ, so ``log2 μ = log2 β + Σ_{i<4} 2·z^(2i+1)/((2i+1)·ln 2)``
    (Horner in z², each step floored), z < 1/129. Error: ``ℓ − 8.8e-20 < log2_fixed/2^120 ≤ ℓ``
    (the contract's doc).
    """
    if not 1 <= x < 1 << 128:
        raise FixedPointError(f"log2 out of range: x={x}")
    tb = POW_TABLES
    s = SCALE_BITS
    low = s - TABLE_BITS
    k = x.bit_length() - 1
    m = (x << (255 - k)) >> (255 - s)  # μ·2^120, in [2^120, 2^121)
    h = m >> low  # 64 + j
    z = ((m & ((1 << low) - 1)) << s) // (m + (h << low))
    w = (z * z) >> s
    p = tb.atanh[-1]
    for coef in reversed(tb.atanh[:-1]):
        p = coef + ((p * w) >> s)
    return (k << s) + (tb.log2[h - (1 << TABLE_BITS)] << (s - ENTRY_BITS)) + ((z * p) >> s)


def log_offset(theta: int, a: int) -> int:
    """A c ≠ 1 producer's per-period offset ``D = log2(1e18) − floor(a·log2 θ)`` (at 2^120),
    computed once at registration (FixedPoint.setLogOffsets; θ in wad, ``1 ≤ θ ≤ MAX_AMOUNT``)."""
    if not 1 <= theta <= MAX_AMOUNT:
        raise FixedPointError(f"theta {theta} outside [1, {MAX_AMOUNT}]")
    return POW_TABLES.log2_wad - ((a * log2_fixed(theta)) >> SCALE_BITS)


def period_word(theta: int, a: int | None) -> int:
    """The producer's parameter word for a period: θ, with ``D`` above it for c ≠ 1
    (``a`` the exponent; None for c = 1)."""
    if a is None:
        return theta
    return (theta | (log_offset(theta, a) << THETA_BITS)) & UINT256_MAX


def pow_term(q: int, d: int, a: int) -> int:
    """One term of :func:`sum_pow_up` before the margin: ``(q/θ)^(a/2^120)`` in wad, from below,
    for ``1 ≤ q < 2^128`` and ``d = log_offset(θ, a)``.

    ``E = floor(a·log2 q) + D`` is the log2 of the wad result; ``E = k + j/64 + u``
    (k = floor, j the next 6 bits, u ∈ [0, 1/64)); ``2^E = 2^k·2^(j/64)·Σ_{n≤6} (u·ln 2)^n/n!``
    (table, Taylor by Horner in u), floored once at the end.

    Raises
    ------
    FixedPointError
        If ``k > 120`` (a term of 2^121 wad or more: the contract flags it, ``AmountOverflow``).
    """
    tb = POW_TABLES
    s = SCALE_BITS
    low = s - TABLE_BITS
    e = ((a * log2_fixed(q)) >> s) + d
    k = e >> s
    if k > MAX_TERM_LOG2:
        raise FixedPointError(f"a term of 2^{k} wad or more: above the contract's bound")
    u = e & ((1 << low) - 1)
    poly = tb.taylor[-1]
    for coef in reversed(tb.taylor[:-1]):
        poly = coef + ((poly * u) >> s)
    # the table at 2^63, the polynomial at 2^120: the product at 2^183
    return (tb.two[(e >> low) & ((1 << TABLE_BITS) - 1)] * poly) >> (s + ENTRY_BITS - 1 - k)


def sum_pow_up(qs: Sequence[int], words: Sequence[int], a: int) -> tuple[int, bool]:
    """Σ_t (q^t/θ^t)^(a/2^120) in wad over the ``q^t > 0``, never below the exact sum, and
    whether a term was flagged (FixedPoint.sumPowUp; ``words`` the period words of
    :func:`period_word`, each ``q < 2^128``).

    ``S = Σ (pow_term + 1)``; the charge is ``S + floor(S/2^57) + 1`` (0 when every q is 0).
    Every term is above ``exact·(1 − 4.3e-18) − 1`` (the contract's doc), so the charge
    exceeds the exact sum, by at most 7.6e-18 relative + 2 wei per term + 1.

    Returns
    -------
    (int, bool)
        The charge (meaningless when flagged) and whether a term of 2^121 wad or more
        was flagged instead of computed.
    """
    s = 0
    flagged = False
    for q, w in zip(qs, words):
        if q:
            d = w >> THETA_BITS
            if d >= 1 << (255 - THETA_BITS):  # the contract's sar: D is signed
                d -= 1 << (256 - THETA_BITS)
            try:
                s += pow_term(q, d, a) + 1
            except FixedPointError:
                flagged = True
    return (s + (s >> MARGIN_BITS) + 1 if s else 0), flagged


def _checked_input(qs: Sequence[int], words: Sequence[int], a: int) -> int:
    """:func:`sum_pow_up` as ``Market`` charges it: ``AmountOverflow`` for a flagged term or a
    sum above MAX_AMOUNT."""
    charge, flagged = sum_pow_up(qs, words, a)
    if flagged or charge > MAX_AMOUNT:
        raise FixedPointError(f"input {'of 2^121 wad or more' if flagged else charge} above the contract's bound")
    return charge


def phi(q: int, theta: int, c: int) -> int:
    """Input of the good for one offer ``q`` (wad) on a post with productivity θ:
    ``ceil(q·1e18/θ)`` for c = 1, else ``(q/θ)^{1/c}`` rounded up (:func:`sum_pow_up`
    over the one term).

    Raises
    ------
    FixedPointError
        If the result exceeds the contract's bound (``AmountOverflow``).
    """
    if c == WAD:
        return mul_div_up(q, WAD, theta)
    a = exponent(c)
    return _checked_input([q], [period_word(theta, a)], a)


def required_input(offers: Sequence[int], theta: Sequence[int], c: int, rho: int = 0) -> int:
    """A producer's input for offers ``[0, q^1..q^T]``: ``Σ_t φ^t + ceil(ρ·max_t q^t/1e18)``,
    the c ≠ 1 sum as one :func:`sum_pow_up` (one margin), as ``Market.order`` charges it.

    Parameters
    ----------
    offers : sequence of int
        ``[0, q^1, ..., q^T]`` (wad).
    theta : sequence of int
        θ^1..θ^T, or one θ for every period (wad).
    c : int
        Returns-to-scale exponent (wad).
    rho : int
        ρ (wad), long run only.
    """
    T = len(offers) - 1
    th = list(theta) * T if len(theta) == 1 else list(theta)
    qmax = 0
    for t in range(1, T + 1):
        q = offers[t]
        if q > MAX_AMOUNT:  # the contract's AmountOverflow(t, q)
            raise FixedPointError(f"offer {q} on post {t} above the contract's bound {MAX_AMOUNT}")
        qmax = max(qmax, q)
    if c == WAD:
        total = sum(mul_div_up(offers[t], WAD, th[t - 1]) for t in range(1, T + 1) if offers[t])
    else:
        a = exponent(c)
        total = _checked_input(offers[1:], [period_word(x, a) for x in th], a)
    if rho:
        total += mul_div_up(rho, qmax, WAD)
    return total


def price(B: int, Q: int) -> int:
    """``p = floor(B·1e18/Q)`` wei per unit; 0 on an inactive post."""
    return (B * WAD) // Q if B > 0 and Q > 0 else 0


@dataclass(frozen=True)
class FixedSettlement:
    """One agent's settlement of a closed round, exactly as the contract pays it:
    the Python forecast of the ``Settled`` event (:class:`agents.chain.events.Settled`).

    Attributes
    ----------
    allocations : tuple of int
        ``x^0..x^T`` (wad).
    revenue : int
        Wei from offers.
    refund : int
        Wei of bids returned from inactive posts.
    """

    allocations: tuple[int, ...]
    revenue: int
    refund: int

    def matches(self, settled: Settled) -> bool:
        """The chain's ``Settled`` event pays exactly this forecast (allocations, revenue, refund)."""
        return (self.allocations, self.revenue, self.refund) == (
            settled.allocations, settled.revenue, settled.refund)


def settle_order(B: Sequence[int], Q: Sequence[int], bids: Sequence[int],
                 offers: Sequence[int] = (), omega: int = 0) -> FixedSettlement:
    """Settle one order against a closed round's totals (Market._allocate).

    Parameters
    ----------
    B, Q : sequence of int
        The round's totals per post (wei, wad).
    bids : sequence of int
        The order's bids, posts 0..T (wei).
    offers : sequence of int
        Producer: ``[0, q^1..q^T]`` (wad); standard agent: empty.
    omega : int
        Standard agent's endowment (wad, > 0); 0 for a producer.

    Returns
    -------
    FixedSettlement
        ``x^t = floor(b^t·Q^t/B^t)`` (eqs (5)–(7)); revenue ``floor(ω·B^0/Q^0)``
        (standard, eq. (1)) or ``Σ_{t≥1} floor(q^t·B^t/Q^t)`` (producer, eq. (3));
        the refund of bids on inactive posts.
    """
    x = []
    revenue = 0
    refund = 0
    for t, b in enumerate(bids):
        if B[t] == 0 or Q[t] == 0:
            refund += b
            x.append(0)
            continue
        x.append((b * Q[t]) // B[t])
        if omega:
            if t == 0:
                revenue += (omega * B[0]) // Q[0]
        elif t:
            revenue += (offers[t] * B[t]) // Q[t]
    return FixedSettlement(tuple(x), revenue, refund)
