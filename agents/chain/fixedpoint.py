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
* producer's input (eq. (17) inverted): ``φ = (q/θ)^(1/c)`` with
  ``q/θ = ceil(q·1e18/θ)`` and the power :func:`pow_up`; the long run adds
  ``ceil(ρ·max_t q^t/1e18)``.

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
#: terms of the atanh series in log2 (z, z³/3, z⁵/5, z⁷/7)
ATANH_TERMS = 4
#: degree of the Taylor polynomial of 2^u, u ∈ [0, 1/64)
EXP_DEGREE = 7


@dataclass(frozen=True)
class PowTables:
    """The power's constants, each ``floor(value·2^120)`` of the exact real (90 digits).

    Attributes
    ----------
    two : tuple of int
        ``2^(j/64)``, j = 0..63.
    log2 : tuple of int
        ``log2(h/64)``, h = 64..127 (``log2`` of the table points 1 + j/64).
    atanh : tuple of int
        ``2/((2i+1)·ln 2)``, i = 0..ATANH_TERMS−1: ``log2((1+z)/(1−z)) = Σ atanh[i]·z^(2i+1)``.
    taylor : tuple of int
        ``(ln 2)^n/n!``, n = 0..EXP_DEGREE: ``2^u = Σ taylor[n]·u^n``.
    log2_wad : int
        ``log2(1e18)``.
    """

    two: tuple[int, ...]
    log2: tuple[int, ...]
    atanh: tuple[int, ...]
    taylor: tuple[int, ...]
    log2_wad: int

    def table_bytes(self) -> bytes:
        """The contract's ``FixedPoint.TABLES``: ``two`` then ``log2``, 16-byte entries."""
        return b"".join(v.to_bytes(16, "big") for v in (*self.two, *self.log2))


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
            two=tuple(int((Decimal(j) / n * ln2).exp() * one) for j in range(n)),
            log2=tuple(int((Decimal(h) / n).ln() / ln2 * one) for h in range(n, 2 * n)),
            atanh=tuple(int(2 / (Decimal(2 * i + 1) * ln2) * one) for i in range(ATANH_TERMS)),
            taylor=tuple(taylor),
            log2_wad=int(Decimal(WAD).ln() / ln2 * one),
        )


#: the constants of :func:`pow_down` (the contract's FixedPoint.TABLES and K*/C*/LOG2_WAD)
POW_TABLES = _pow_tables()


class FixedPointError(ArithmeticError):
    """An input the contract rejects (``PowOutOfRange``, ``AmountOverflow``)."""


def mul_div_up(a: int, b: int, d: int) -> int:
    """``ceil(a·b/d)`` (FixedPoint.mulDivUp)."""
    p = a * b
    return 0 if p == 0 else (p - 1) // d + 1


def exponent(c: int) -> int:
    """The power's exponent ``1/c`` as stored at registration: ``floor(2^120·1e18/c)``
    (FixedPoint.exponent; c in wad)."""
    return (WAD << SCALE_BITS) // c


def pow_down(x: int, a: int) -> int:
    """``(x/1e18)^(a/2^120)`` in wad, from below, for ``0 < x ≤ 2^160``, ``a < 2^124``: the
    contract's power before its margin (the r inside FixedPoint.sumPowUp; :func:`pow_up` adds it).

    ``log2(x/1e18)`` then ``2^(a·that)``, all at the binary scale 2^120:

    * ``x = 2^n·μ``, μ ∈ [1, 2) (bit length; μ truncated to 121 bits);
      ``μ = β·(1+z)/(1−z)`` with ``β = h/64`` the table point below μ, so
      ``log2 μ = log2 β + Σ_{i<4} 2·z^(2i+1)/((2i+1)·ln 2)`` (Horner in z²), z < 1/129;
    * ``E = floor(a·(log2 x − log2 1e18)) + log2 1e18`` (the wad result's log2);
      ``E = k + j/64 + u`` (k = floor, j the next 6 bits, u ∈ [0, 1/64));
      ``2^E = 2^k·2^(j/64)·Σ_{n≤7} (u·ln 2)^n/n!`` (table, Taylor by Horner in u).

    Every step floors; the error bound is proven in ``contracts/FixedPoint.sol``
    (its doc): ``exact·(1 − 3.8e-19) − 1 ≤ pow_down ≤ exact·(1 + 1e-34)``. Results of
    2^254 or more come back as ``2^256 − 1``.

    Raises
    ------
    FixedPointError
        ``x = 0``, ``x > 2^160`` or ``a ≥ 2^124`` (the contract's ``PowOutOfRange``).
    """
    if x <= 0 or x > 1 << 160 or not 0 <= a < 1 << 124:
        raise FixedPointError(f"power out of range: x={x}, a={a}")
    tb = POW_TABLES
    s = SCALE_BITS
    low = s - TABLE_BITS
    n = x.bit_length() - 1
    m = (x << (255 - n)) >> (255 - s)  # μ·2^120, in [2^120, 2^121)
    h = m >> low  # 64 + j
    z = ((m & ((1 << low) - 1)) << s) // (m + (h << low))
    w = (z * z) >> s
    p = tb.atanh[-1]
    for coef in reversed(tb.atanh[:-1]):
        p = coef + ((p * w) >> s)
    log2x = (n << s) + tb.log2[h - (1 << TABLE_BITS)] + ((z * p) >> s) - tb.log2_wad
    e = ((log2x * a) >> s) + tb.log2_wad
    k = e >> s
    if k > 253:
        return UINT256_MAX
    u = e & ((1 << low) - 1)
    poly = tb.taylor[-1]
    for coef in reversed(tb.taylor[:-1]):
        poly = coef + ((poly * u) >> s)
    mant = (poly * tb.two[(e >> low) & ((1 << TABLE_BITS) - 1)]) >> s  # 2^(E − k)·2^120
    return mant << (k - s) if k > s else mant >> (s - k)


def pow_up(x: int, a: int) -> int:
    """``pow_down(x, a)`` rounded up past the exact power (each term of FixedPoint.sumPowUp):
    ``+ floor(r/2^60) + 2`` (8.67e-19 relative covers the 3.8e-19 and the 1 wei below;
    see the contract's comment). ``2^256 − 1`` stays."""
    r = pow_down(x, a)
    return r if r == UINT256_MAX else r + (r >> 60) + 2


def phi(q: int, theta: int, c: int) -> int:
    """Input of the good for an offer ``q`` (wad): ``(ceil(q·1e18/θ))^(1/c)`` rounded up
    (a term of Market.requiredInput and of the order's FixedPoint.sumPowUp).

    Raises
    ------
    FixedPointError
        If the result exceeds the contract's bound (``AmountOverflow``).
    """
    x = mul_div_up(q, WAD, theta)
    if c == WAD:
        return x
    y = pow_up(x, exponent(c))  # rounded up: never below the exact (q/θ)^{1/c}
    if y > MAX_AMOUNT:
        raise FixedPointError(f"input {y} above the contract's bound")
    return y


def required_input(offers: Sequence[int], theta: Sequence[int], c: int, rho: int = 0) -> int:
    """A producer's input for offers ``[0, q^1..q^T]``: ``Σ_t φ^t + ceil(ρ·max_t q^t/1e18)``.

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
    total = 0
    qmax = 0
    for t in range(1, T + 1):
        q = offers[t]
        if q == 0:
            continue
        if q > MAX_AMOUNT:  # the contract's AmountOverflow(t, q)
            raise FixedPointError(f"offer {q} on post {t} above the contract's bound {MAX_AMOUNT}")
        total += phi(q, th[t - 1], c)
        qmax = max(qmax, q)
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
