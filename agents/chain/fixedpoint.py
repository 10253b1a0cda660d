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
  ``q/θ = ceil(q·1e18/θ)`` and the power :func:`pow_wad`; the long run adds
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
#: internal scale of ln/exp
ONE = 10**36
#: ln 2 · 1e36, floor
LN2 = 693147180559945309417232121458176568
#: bound on amounts and per-post totals (the contract's MAX_AMOUNT, 2^84 - 1)
MAX_AMOUNT = (1 << 84) - 1
UINT256_MAX = (1 << 256) - 1

#: ln(1 + j/16) · 1e36, floor (FixedPoint.lnTable)
LN_TABLE: tuple[int, ...] = (
    0,
    60624621816434842580606132040420263,
    117783035656383454538794109470521705,
    171850256926659222340098946055147264,
    223143551314209755766295090309834503,
    271933715483641758831669494532999161,
    318453731118534615810247213590599595,
    362905493689368453137824345977489846,
    405465108108164381978013115464349136,
    446287102628419511532590180619669006,
    485507815781700807801791077190788900,
    523248143764547836516807224934870841,
    559615787935422686270888500526826593,
    594707107746692789514343546529205333,
    628608659422374137744308205774183639,
    661398482245365008260235838709650938,
)
#: 2^(j/16) · 1e36, floor (FixedPoint.twoTable)
TWO_TABLE: tuple[int, ...] = (
    1000000000000000000000000000000000000,
    1044273782427413840321966478739929008,
    1090507732665257659207010655760707978,
    1138788634756691653703830283841511254,
    1189207115002721066717499970560475915,
    1241857812073484048593677468726595605,
    1296839554651009665933754117792451159,
    1354255546936892728298014740140702804,
    1414213562373095048801688724209698078,
    1476826145939499311386907480374049923,
    1542210825407940823612291862090734841,
    1610490331949254308179520667357400583,
    1681792830507429086062250952466429790,
    1756252160373299483112160619375313221,
    1834008086409342463487083189588288856,
    1915206561397147293872611270295830887,
)


class FixedPointError(ArithmeticError):
    """An input the contract rejects (``PowOutOfRange``, ``AmountOverflow``)."""


def _sdiv(a: int, b: int) -> int:
    """Solidity's signed division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _smod(a: int, b: int) -> int:
    """Solidity's signed remainder: takes the sign of the dividend."""
    return a - _sdiv(a, b) * b


def mul_div_up(a: int, b: int, d: int) -> int:
    """``ceil(a·b/d)`` (FixedPoint.mulDivUp)."""
    p = a * b
    return 0 if p == 0 else (p - 1) // d + 1


def ln36(x: int) -> int:
    """``ln(x/1e18)·1e36`` as the contract computes it (FixedPoint.ln36), ``0 < x < 2^160``.

    ``x = m·2^k`` with ``m ∈ [1, 2)``; ``m = b·y``, ``b = 1 + j/16`` (table),
    ``ln y = 2·atanh(z)``, ``z = (m − b)/(m + b) ≤ 1/32``, series to ``z^11``.
    """
    m = x * WAD
    k = m.bit_length() - 120
    m = m >> k if k > 0 else m << -k
    if m < ONE:
        m <<= 1
        k -= 1
    j = ((m - ONE) << 4) // ONE
    b = ONE + j * (ONE >> 4)
    z = ((m - b) * ONE) // (m + b)
    w = (z * z) // ONE
    p = ONE // 11
    for d in (9, 7, 5, 3):
        p = ONE // d + (p * w) // ONE
    p = ONE + (p * w) // ONE
    s = (z * p) // ONE
    return k * LN2 + (LN_TABLE[j] + 2 * s)


def exp36(e: int) -> int:
    """``e^(e/1e36)`` in wad, floor (FixedPoint.exp36); ``2^256 - 1`` when too large."""
    k = _sdiv(e, LN2)
    if _smod(e, LN2) < 0:
        k -= 1
    r = e - k * LN2
    j = (r << 4) // LN2
    s = r - (j * LN2) // 16
    total = ONE
    for n in range(10, 0, -1):
        total = ONE + (total * s) // (n * ONE)
    total = (total * TWO_TABLE[j]) // ONE
    if k >= 0:
        if k > 127:
            return UINT256_MAX
        return (total << k) // WAD
    if k < -200:
        return 0
    return (total >> -k) // WAD


def pow_wad(x: int, y: int) -> int:
    """``x^y`` for wad ``x > 0``, ``y ≥ 0`` (FixedPoint.powWad): ``exp36(ln36(x)·y/1e18)``.

    Raises
    ------
    FixedPointError
        ``x = 0``, ``x ≥ 2^160`` or ``y ≥ 2^64`` (the contract's ``PowOutOfRange``).
    """
    if x <= 0 or x >= 1 << 160 or not 0 <= y < 1 << 64:
        raise FixedPointError(f"pow_wad out of range: x={x}, y={y}")
    return exp36(_sdiv(ln36(x) * y, WAD))


def pow_wad_up(x: int, y: int) -> int:
    """``pow_wad(x, y)`` rounded up past the exact power (FixedPoint.powWadUp):
    ``+ floor(r/1e16) + 2`` (1e-16 relative covers the floors of the power and of the
    exponent ``1e36 // c``; see the contract's comment). Below ``2^250`` only."""
    r = pow_wad(x, y)
    if r < 1 << 250:
        r += r // 10**16 + 2
    return r


def inverse_c(c: int) -> int:
    """``1/c`` in wad, floor, as stored at registration (``1e36 // c``)."""
    return (WAD * WAD) // c


def phi(q: int, theta: int, c: int) -> int:
    """Input of the good for an offer ``q`` (wad): ``(ceil(q·1e18/θ))^(1/c)`` rounded up (Market._phi).

    Raises
    ------
    FixedPointError
        If the result exceeds the contract's bound (``AmountOverflow``).
    """
    x = mul_div_up(q, WAD, theta)
    if c == WAD:
        return x
    y = pow_wad_up(x, inverse_c(c))  # rounded up: never below the exact (q/θ)^{1/c}
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
