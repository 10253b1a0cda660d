"""Decoded market events and custom errors (eth_abi, no contract objects).

Every state change of the market emits one of these; from them alone an
observer can rebuild every balance, stock, total and price.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from .errors import ChainError


@dataclass(frozen=True)
class Registered:
    """An agent registered: kind 1 standard (``omega_or_stock`` = ω), 2 producer (= initial stock)."""

    agent: str
    kind: int
    bytecoins: int
    omega_or_stock: int
    block: int


@dataclass(frozen=True)
class Started:
    """Registration closed; round 0 open until ``deadline``."""

    agents: int
    deadline: int
    block: int


@dataclass(frozen=True)
class OrderPlaced:
    """An order: bids (wei) and offers (wad; empty for a standard agent) per post, input used (wad).

    The event carries them as one packed ``order`` = bids ‖ offers (:func:`split_order`)."""

    agent: str
    round: int
    bids: tuple[int, ...]
    offers: tuple[int, ...]
    input: int
    block: int


@dataclass(frozen=True)
class Settled:
    """A settled order (the client returns this event from ``order`` and ``claim``).

    Attributes
    ----------
    agent : str
    round : int
        The round of the order settled.
    allocations : tuple of int
        x^0..x^T (wad): x^0 the good bought, x^t the electricity delivered in period t.
    revenue : int
        Wei credited from offers: standard ω·B^0/Q^0, producer Σ_t q^t·B^t/Q^t (floors).
    refund : int
        Wei of bids returned from inactive posts.
    consumed : int
        Good consumed (wad): standard x^0; producer the stock left after its input.
    stock : int
        Producer's stock after settlement (= x^0), wad; 0 for a standard agent.
    block : int

    Its Python forecast is :class:`agents.chain.fixedpoint.FixedSettlement`
    (compared with :meth:`~agents.chain.fixedpoint.FixedSettlement.matches`).
    """

    agent: str
    round: int
    allocations: tuple[int, ...]
    revenue: int
    refund: int
    consumed: int
    stock: int
    block: int


@dataclass(frozen=True)
class RoundClosed:
    """A closed round: the event, and what the ``closedRound`` view returns.

    Attributes
    ----------
    round : int
    B : tuple of int
        Total bids B^t per post (wei).
    Q : tuple of int
        Total offers Q^t per post (wad; Q^0 = Ω of the standard agents who ordered).
    prices : tuple of int
        ``floor(B^t·1e18/Q^t)`` wei per unit, 0 on an inactive post (the
        simulation's float records keep 0.0 there too, see :mod:`agents.records`).
    next_deadline, block : int or None
        The next round's deadline and the block, from the event; None when read
        from the ``closedRound`` view. Not compared: two records of the same
        closed round are equal.
    """

    round: int
    B: tuple[int, ...]
    Q: tuple[int, ...]
    prices: tuple[int, ...]
    next_deadline: int | None = field(default=None, compare=False)
    block: int | None = field(default=None, compare=False)

    @property
    def active(self) -> tuple[bool, ...]:
        """Per post: ``B^t > 0`` and ``Q^t > 0``."""
        return tuple(b > 0 and q > 0 for b, q in zip(self.B, self.Q))


@dataclass(frozen=True)
class Deposited:
    agent: str
    amount: int
    block: int


@dataclass(frozen=True)
class Withdrawn:
    agent: str
    amount: int
    block: int


@dataclass(frozen=True)
class Committed:
    """A sealed order committed (sealed market): its hash and the wei escrowed for it."""

    agent: str
    round: int
    sealed_order: bytes
    escrow: int
    block: int


@dataclass(frozen=True)
class Forfeited:
    """A sealed commitment of ``round`` never revealed: its escrow (wei) stays in the market."""

    agent: str
    round: int
    escrow: int
    block: int


Event = Union[Registered, Started, OrderPlaced, Settled, RoundClosed, Deposited, Withdrawn, Committed, Forfeited]


def _addr(x: str) -> str:
    return to_checksum_address(x)


def _order_placed(v: dict[str, Any], block: int, T: int | None) -> OrderPlaced:
    if T is None:
        raise ChainError("decoding OrderPlaced needs the market's T (AbiCodec(..., T=T))")
    bids, offers = split_order(v["order"], T)
    return OrderPlaced(_addr(v["agent"]), v["round"], bids, offers, v["input"], block)


#: the one mapping of a market event's name to its dataclass, built from the decoded
#: arguments (by their ABI names), the block number and the market's T
_EVENTS: dict[str, Callable[[dict[str, Any], int, int | None], Event]] = {
    "Registered": lambda v, block, T: Registered(_addr(v["agent"]), v["kind"], v["bytecoins"],
                                                 v["omegaOrStock"], block),
    "Started": lambda v, block, T: Started(v["agents"], v["deadline"], block),
    "OrderPlaced": _order_placed,
    "Settled": lambda v, block, T: Settled(_addr(v["agent"]), v["round"], unpack_values(v["allocations"]),
                                           v["revenue"], v["refund"], v["consumed"], v["stock"], block),
    "RoundClosed": lambda v, block, T: RoundClosed(v["round"], tuple(v["totalBids"]), tuple(v["totalOffers"]),
                                                   tuple(v["prices"]), v["nextDeadline"], block),
    "Deposited": lambda v, block, T: Deposited(_addr(v["agent"]), v["amount"], block),
    "Withdrawn": lambda v, block, T: Withdrawn(_addr(v["agent"]), v["amount"], block),
    "Committed": lambda v, block, T: Committed(_addr(v["agent"]), v["round"], bytes(v["sealedOrder"]),
                                               v["escrow"], block),
    "Forfeited": lambda v, block, T: Forfeited(_addr(v["agent"]), v["round"], v["escrow"], block),
}


#: Bytes a value takes in the packed arrays of ``order``'s payload, ``OrderPlaced`` and
#: ``Settled`` (big-endian; VALUE_BYTES in contracts/libraries/Packed.sol): every amount is below 2^84.
VALUE_BYTES = 11
#: Bytes of the round at the head of ``order``'s payload (big-endian; ROUND_BYTES in
#: contracts/libraries/Packed.sol): every round is below 2^32 − 1.
ROUND_BYTES = 4


def unpack_values(data: bytes) -> tuple[int, ...]:
    """The values of an event's packed array (``VALUE_BYTES`` big-endian bytes each)."""
    if len(data) % VALUE_BYTES:
        raise ValueError(f"packed array of {len(data)} bytes is not a multiple of {VALUE_BYTES}")
    return tuple(int.from_bytes(data[i:i + VALUE_BYTES], "big") for i in range(0, len(data), VALUE_BYTES))


def pack_values(values: Sequence[int], field: str = "values") -> bytes:
    """``values`` packed as the market's calldata and events carry arrays: ``VALUE_BYTES``
    big-endian bytes each (the contract bounds amounts by 2^84 − 1; larger ones up to
    2^88 − 1 still reach it and revert ``AmountOverflow``).

    Raises
    ------
    ChainError
        If a value is negative or needs more than ``VALUE_BYTES`` bytes (names the field and index).
    """
    try:
        return b"".join(int(v).to_bytes(VALUE_BYTES, "big") for v in values)
    except OverflowError:
        for i, v in enumerate(values):
            if not 0 <= int(v) < 1 << (8 * VALUE_BYTES):
                raise ChainError(f"{field}[{i}] = {v} is outside [0, 2^{8 * VALUE_BYTES})") from None
        raise


def pack_order(round: int, bids: Sequence[int], offers: Sequence[int] = (),
               previous: tuple[Sequence[int], Sequence[int]] = ((), ())) -> bytes:
    """The payload of ``Market.order``: round ‖ previous bids ‖ previous offers ‖ bids ‖ offers.

    Parameters
    ----------
    round : int
        The round the order is meant for, ``ROUND_BYTES`` big-endian bytes.
    bids, offers : sequence of int
        The order, packed by :func:`pack_values` (offers empty for a standard agent).
    previous : (bids, offers)
        The sender's unsettled order, re-sent for settlement; ``((), ())`` if it has none.

    Returns
    -------
    bytes
        The payload (its length is what the contract checks: ``BadOrderLength``).

    Raises
    ------
    ChainError
        If the round is not in [0, 2^32) or a value cannot be packed (see :func:`pack_values`).
    """
    if isinstance(round, bool) or not isinstance(round, int) or not 0 <= round < 1 << (8 * ROUND_BYTES):
        raise ChainError(f"round: expected a round number in [0, 2^{8 * ROUND_BYTES}), got {round!r}")
    return (round.to_bytes(ROUND_BYTES, "big") + pack_values(previous[0], "previous bids")
            + pack_values(previous[1], "previous offers") + pack_values(bids, "bids") + pack_values(offers, "offers"))


def split_order(order: bytes, T: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(bids, offers) of an ``OrderPlaced`` event's ``order`` = bids ‖ offers: the bids are
    its first ``VALUE_BYTES·(T + 1)`` bytes, the offers the rest (none for a standard agent)."""
    n = VALUE_BYTES * (T + 1)
    if len(order) < n:
        raise ValueError(f"order of {len(order)} bytes is shorter than the {n} bytes of its bids")
    return unpack_values(order[:n]), unpack_values(order[n:])


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"


class AbiCodec:
    """Topic → event and selector → error tables built once from the ABIs; ``T`` (the
    market's periods) splits ``OrderPlaced``'s order into bids and offers."""

    def __init__(self, *abis: list[dict[str, Any]], T: int | None = None):
        self.T = T
        self.events: dict[bytes, dict[str, Any]] = {}
        self.errors: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for item in abi:
                if item["type"] == "event":
                    self.events[keccak(text=_signature(item))] = item
                elif item["type"] == "error":
                    self.errors[keccak(text=_signature(item))[:4]] = item

    def decode_error(self, data: bytes) -> tuple[str, tuple[Any, ...]]:
        """(name, args) of revert data: a custom error, ``Error(string)``, ``Panic(uint256)``."""
        if len(data) < 4:
            return "", ()
        sel = data[:4]
        if sel == bytes.fromhex("08c379a0"):
            return "Error", tuple(abi_decode(["string"], data[4:]))
        if sel == bytes.fromhex("4e487b71"):
            return "Panic", tuple(abi_decode(["uint256"], data[4:]))
        item = self.errors.get(sel)
        if item is None:
            return f"0x{sel.hex()}", ()
        args = abi_decode([i["type"] for i in item["inputs"]], data[4:])
        return item["name"], tuple(to_checksum_address(a) if i["type"] == "address" else a
                                   for a, i in zip(args, item["inputs"]))

    def decode_log(self, log: dict[str, Any], block: int) -> Event | None:
        """The event dataclass of a raw log (topics/data as bytes), None if not a market event."""
        topics = log["topics"]
        if not topics:
            return None
        item = self.events.get(bytes(topics[0]))
        if item is None or item["name"] not in _EVENTS:
            return None
        indexed = [i for i in item["inputs"] if i["indexed"]]
        plain = [i for i in item["inputs"] if not i["indexed"]]
        values: dict[str, Any] = {}
        for inp, topic in zip(indexed, topics[1:]):
            (v,) = abi_decode([inp["type"]], bytes(topic))
            values[inp["name"]] = v
        for inp, v in zip(plain, abi_decode([i["type"] for i in plain], bytes(log["data"]))):
            values[inp["name"]] = v
        return _EVENTS[item["name"]](values, block, self.T)

