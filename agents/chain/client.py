"""Typed client of the deployed market: orders, closes, claims, views, events.

Calls are encoded with eth_abi against cached selectors (no web3 contract
objects on the hot path); receipts' logs are decoded into the dataclasses of
:mod:`agents.chain.events`. The client remembers each account's previous order
and re-sends it with the next one, so that the contract can settle it (the
contract keeps only a commitment to it); a fresh client rebuilds that memory
from the ``OrderPlaced`` logs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from .errors import ChainError

from .backend import Account, Chain, Receipt, Reverted
from .compiler import Artifact
from .config import MarketConfig
from .events import AbiCodec, Committed, Event, OrderPlaced, RoundClosed, Settled, pack_order, pack_values

_R = TypeVar("_R")


#: Gas limits per function as ``(fixed, per post)``: limit = fixed + per post · (T + 1),
#: capped at the block gas limit. Fitted so that each covers 1.25 × the worst gas measured
#: + 100,000 at T = 1, 24, 100, 233, 350 and 700 (the gas economy of agents.chain.gas: a
#: c = 0.8 producer's order settling its previous one; close; claim; registration and
#: deployment); docs/chain.md, "Gas limits". tests/chain/test_gas_limits.py checks it.
GAS_MODEL: dict[str, tuple[int, int]] = {
    "order": (200_000, 9_000),
    "claim": (160_000, 1_000),
    "close": (250_000, 17_000),
    "registerProducer": (350_000, 9_500),
    "deploy Market": (6_000_000, 19_000),
}


def gas_limit(function: str, T: int, block_gas_limit: int) -> int:
    """The gas limit for ``function`` at ``T`` periods: :data:`GAS_MODEL`, at most the block's."""
    fixed, per_post = GAS_MODEL[function]
    return min(block_gas_limit, fixed + per_post * (T + 1))


@dataclass(frozen=True)
class OrderResult:
    """An order's receipt, round, input and the ``Settled`` event of its previous order
    (None if it had none). A sealed order's receipt is its reveal's, and ``commit`` its
    commitment's (whose transaction settled the previous order)."""

    receipt: Receipt
    round: int
    input: int
    settlement: Settled | None
    commit: "CommitResult | None" = None

    @property
    def gas_used(self) -> int:
        """The order's verification gas: its receipt's, plus its commitment's if sealed."""
        return self.receipt.gas_used + (self.commit.receipt.gas_used if self.commit is not None else 0)


@dataclass(frozen=True)
class CommitResult:
    """A sealed order's commitment: receipt, the escrow (wei) and the ``Settled`` event of
    the previous order (None if it had none)."""

    receipt: Receipt
    escrow: int
    settlement: Settled | None


@dataclass(frozen=True)
class CloseResult:
    """The close's receipt and its ``RoundClosed`` event."""

    receipt: Receipt
    closed: RoundClosed


@dataclass(frozen=True)
class RoundState:
    """The open round: number, deadline, orders so far, agents, running totals."""

    round: int
    deadline: int
    orders: int
    agents: int
    B: tuple[int, ...]
    Q: tuple[int, ...]


@dataclass(frozen=True)
class AgentState:
    """An agent's on-chain state.

    Attributes
    ----------
    kind : str
        "standard" or "producer" ("" if unknown).
    balance : int
        Wei in its market account (spendable on bids).
    stock : int
        Producer: good available as input (wad). Standard: 0.
    omega : int
        Standard: endowment per round (wad). Producer: 0.
    last_round : int or None
        Round of its unsettled order, None if there is none.
    """

    kind: str
    balance: int
    stock: int
    omega: int
    last_round: int | None


class MarketClient:
    """Client of one deployed market (see docs/chain-api.md)."""

    def __init__(self, chain: Chain, config: MarketConfig, market_address: str, token_address: str,
                 artifacts: dict[str, Artifact]):
        self.chain = chain
        self.config = config
        self.market_address = to_checksum_address(market_address)
        self.token_address = to_checksum_address(token_address)
        self.T = config.T
        market_abi = artifacts["SealedMarket" if config.sealed else "Market"].abi
        self.codec = AbiCodec(market_abi, artifacts["Bytecoin"].abi, T=self.T)
        self._fns: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for name, abi in (("", market_abi), ("token.", artifacts["Bytecoin"].abi)):
            for item in abi:
                if item["type"] == "function":
                    types = [i["type"] for i in item["inputs"]]
                    sel = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                    self._fns[name + item["name"]] = (sel, types, [o["type"] for o in item["outputs"]])
        self._prev: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        #: sealed mode: each account's committed order (round, salt, bids, offers) until revealed
        self._sealed: dict[str, tuple[int, bytes, tuple[int, ...], tuple[int, ...]]] = {}
        #: the block gas limit: no transaction asks for more
        self.block_gas_limit = int(chain.w3.eth.get_block("latest")["gasLimit"])
        self.order_gas = self.gas_limit("order")

    def gas_limit(self, function: str) -> int:
        """The gas limit this client gives ``function`` at its T: measured use with a margin,
        never above the block gas limit (see :data:`GAS_MODEL`)."""
        return gas_limit(function, self.T, self.block_gas_limit)

    # -------------------------------------------------------------- encoding

    def encode(self, name: str, args: Sequence[Any]) -> bytes:
        """Calldata of a market function (``token.<name>`` for the token)."""
        sel, types, _ = self._fns[name]
        return sel + abi_encode(types, list(args))

    def _to(self, name: str) -> str:
        return self.token_address if name.startswith("token.") else self.market_address

    def transact(self, account: Account, name: str, args: Sequence[Any], gas: int = 1_000_000) -> Receipt:
        """Send one market (or ``token.``) transaction; custom errors raise :class:`Reverted` by name."""
        try:
            return self.chain.send(account, self._to(name), self.encode(name, args), gas)
        except Reverted as exc:
            raise self._named(exc) from None

    def view(self, name: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        """Call a view function and decode its outputs."""
        _, _, outs = self._fns[name]
        try:
            raw = self.chain.call(self._to(name), self.encode(name, args))
        except Reverted as exc:
            raise self._named(exc) from None
        return tuple(to_checksum_address(v) if t == "address" else v for t, v in zip(outs, abi_decode(outs, raw)))

    def _named(self, exc: Reverted) -> Reverted:
        name, args = self.codec.decode_error(exc.data)
        return Reverted(name, args, exc.data, exc.receipt)

    # -------------------------------------------------------------- orders

    def forget(self) -> None:
        """Drop the remembered previous orders (after ``chain.revert``); they are
        rebuilt from the logs on demand."""
        self._prev.clear()

    def mark_fresh(self, addresses: Sequence[str]) -> None:
        """Record that ``addresses`` have no order yet (just registered by this client's
        deployer), so their first order needs no ``agentState`` view to find one."""
        for a in addresses:
            self._prev[to_checksum_address(a)] = ((), ())

    def previous(self, account: Account) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The (bids, offers) of ``account``'s unsettled order, ((), ()) if none."""
        prev = self._prev.get(account.address)
        if prev is not None:
            return prev
        state = self.agent(account.address)
        if state.last_round is None:
            return (), ()
        for e in reversed(self.events()):  # a fresh client: rebuild from the logs
            if isinstance(e, OrderPlaced) and e.agent == account.address and e.round == state.last_round:
                self._prev[account.address] = (e.bids, e.offers)
                return e.bids, e.offers
        raise ChainError(f"no OrderPlaced log for {account.address} in round {state.last_round}")

    def encode_order(self, account: Account, bids: Sequence[int], offers: Sequence[int] = (),
                     round: int | None = None) -> bytes:
        """Calldata of ``account``'s order for round ``round`` (None: the open round, read now),
        carrying its previous order for settlement."""
        if round is None:
            round = self.current_round().round
        return self.encode("order", [pack_order(round, bids, offers, previous=self.previous(account))])

    def order(self, account: Account, bids: Sequence[int], offers: Sequence[int] = (),
              round: int | None = None) -> OrderResult:
        """Place ``account``'s order for round ``round`` (and settle its previous one).

        Parameters
        ----------
        bids : sequence of int
            T + 1 bids in wei, posts 0..T; prepaid from the market balance.
        offers : sequence of int
            Producer: T + 1 offers [0, q^1, ..., q^T] in wad. Standard agent: empty
            (its endowment ω is offered on post 0 by the contract: sell-all).
        round : int or None
            The round the order is meant for; the contract rejects it
            (``WrongRound(expectedRound, openRound)``) if another round is open
            when it is mined. None: the round open now (one ``currentRound`` view).
        """
        return self.order_many([(account, bids, offers)], round=round)[0]

    def order_many(self, orders: Sequence[tuple[Account, Sequence[int], Sequence[int]]],
                   round: int | None = None) -> list[OrderResult]:
        """Several orders of one round (``round``: as in :meth:`order`), all signed first,
        then sent in order.

        If one reverts, the orders before it stand (the client remembers them)
        and :class:`Reverted` is raised with ``completed`` = their results.
        """
        if round is None:
            round = self.current_round().round
        txs = [(a, self.market_address, self.encode_order(a, b, o, round), self.order_gas) for a, b, o in orders]
        try:
            receipts = self.chain.send_many(txs)
        except ChainError as exc:
            done = [self._order_result(a, b, o, r)
                    for (a, b, o), r in zip(orders, getattr(exc, "completed", []))]
            err = self._named(exc) if isinstance(exc, Reverted) else exc
            err.completed = done  # type: ignore[attr-defined]
            raise err from None
        return [self._order_result(a, b, o, r) for (a, b, o), r in zip(orders, receipts)]

    def order_all(self, orders: Sequence[tuple[Account, Sequence[int], Sequence[int]]],
                  round: int | None = None) -> list["OrderResult | ChainError"]:
        """One round's orders, all signed, then sent together (:meth:`Chain.send_all`): on a
        node, without waiting for each receipt before the next send.

        Each item is the order's :class:`OrderResult`, or its error: :class:`Reverted`
        (by name, receipt attached) or the :class:`ChainError` of a refused
        transaction. A failed order does not stop the ones after it. ``round``: as in :meth:`order`.
        """
        if round is None and orders:
            round = self.current_round().round
        txs = [(a, self.market_address, self.encode_order(a, b, o, round), self.order_gas) for a, b, o in orders]
        return self._send_each(txs, lambda k, r: self._order_result(*orders[k], r))

    def _order_result(self, account: Account, bids: Sequence[int], offers: Sequence[int],
                      receipt: Receipt) -> OrderResult:
        self._prev[account.address] = (tuple(bids), tuple(offers))
        settlement = None
        placed: OrderPlaced | None = None
        for e in self._decode(receipt):
            if isinstance(e, Settled):
                settlement = e
            elif isinstance(e, OrderPlaced):
                placed = e
        if placed is None:
            raise ChainError("order mined without an OrderPlaced event")
        return OrderResult(receipt, placed.round, placed.input, settlement)

    # -------------------------------------------------------------- sealed orders

    def salt(self, account: Account, round: int, bids: Sequence[int] = (), offers: Sequence[int] = ()) -> bytes:
        """The secret salt of ``account``'s sealed order (bids, offers) in ``round``: derived
        from its key, the market, the round and a counter (unguessable without the key; the
        same in a rerun of the same seed). The counter takes the first value for which
        neither the salt nor the commitment has a zero byte: calldata costs 4 gas per zero
        byte and 16 per other byte, so a random hash would make each round's gas (hence
        ``v = κ·gas``, hence the equilibrium the agents aim at) jitter by a few dozen gas."""
        base = account.key + bytes.fromhex(self.market_address[2:]) + round.to_bytes(32, "big")
        for k in range(1 << 16):
            salt = keccak(base + k.to_bytes(4, "big"))
            if 0 not in salt and 0 not in self.sealed_order(account, round, salt, bids, offers):
                return salt
        return salt  # ~0.78 of the candidates qualify: never reached in practice

    def sealed_order(self, account: Account, round: int, salt: bytes, bids: Sequence[int],
                     offers: Sequence[int] = ()) -> bytes:
        """The commitment the sealed market checks a reveal against:
        keccak256(market ‖ agent ‖ round (32 bytes) ‖ salt ‖ bids ‖ offers), arrays packed."""
        return keccak(bytes.fromhex(self.market_address[2:]) + bytes.fromhex(account.address[2:])
                      + round.to_bytes(32, "big") + salt + pack_values(bids, "bids")
                      + pack_values(offers, "offers"))

    def _sealed_mode(self) -> None:
        if not self.config.sealed:
            raise ChainError("commit/reveal: this market is plain (MarketConfig.mode 'plain'): use order")

    def encode_commit(self, account: Account, round: int, bids: Sequence[int], offers: Sequence[int] = (),
                      escrow: int | None = None) -> bytes:
        """Calldata of ``account``'s commitment to (bids, offers) for ``round``, carrying its
        previous order for settlement; ``escrow`` defaults to the bids' total."""
        pb, po = self.previous(account)
        h = self.sealed_order(account, round, self.salt(account, round, bids, offers), bids, offers)
        return self.encode("commit", [round, pack_values(pb, "previous bids"), pack_values(po, "previous offers"),
                                      h, sum(bids) if escrow is None else escrow])

    def commit_all(self, orders: Sequence[tuple[Account, Sequence[int], Sequence[int]]],
                   round: int) -> list["CommitResult | ChainError"]:
        """Sealed mode: commit each order of round ``round`` (escrow = its bids' total), all
        signed, then sent together; each item the :class:`CommitResult` or the error (a failed
        commitment does not stop the ones after it). The orders are kept for :meth:`reveal_all`."""
        self._sealed_mode()
        txs = [(a, self.market_address, self.encode_commit(a, round, b, o), self.order_gas) for a, b, o in orders]
        return self._send_each(
            txs, lambda k, r: self._commit_result(orders[k][0], round, orders[k][1], orders[k][2], r))

    def _commit_result(self, account: Account, round: int, bids: Sequence[int], offers: Sequence[int],
                       receipt: Receipt) -> CommitResult:
        self._prev[account.address] = ((), ())  # the previous order is settled
        self._sealed[account.address] = (round, self.salt(account, round, bids, offers), tuple(bids), tuple(offers))
        settlement = None
        escrow = None
        for e in self._decode(receipt):
            if isinstance(e, Settled):
                settlement = e
            elif isinstance(e, Committed):
                escrow = e.escrow
        if escrow is None:
            raise ChainError("commit mined without a Committed event")
        return CommitResult(receipt, escrow, settlement)

    def reveal_all(self, accounts: Sequence[Account], round: int) -> list["OrderResult | ChainError"]:
        """Sealed mode: reveal each account's order committed for ``round`` (as :meth:`commit_all`
        kept it); each item the :class:`OrderResult` (without ``commit``) or the error."""
        self._sealed_mode()
        txs = []
        for a in accounts:
            r, salt, b, o = self._sealed[a.address]
            if r != round:
                raise ChainError(f"{a.address} committed in round {r}, not {round}: nothing to reveal")
            txs.append((a, self.market_address,
                        self.encode("reveal", [round, salt, pack_values(b, "bids"), pack_values(o, "offers")]),
                        self.order_gas))
        def revealed(k: int, r: Receipt) -> OrderResult:
            _, _, b, o = self._sealed.pop(accounts[k].address)
            return self._order_result(accounts[k], b, o, r)

        return self._send_each(txs, revealed)

    def _send_each(self, txs: Sequence[tuple[Account, str, bytes, int]],
                   result: Callable[[int, Receipt], _R]) -> list[_R | ChainError]:
        """Send ``txs`` together (:meth:`Chain.send_all`); item ``k`` is ``result(k, receipt)``
        for a mined success, the named :class:`Reverted` or the refusal's :class:`ChainError`
        otherwise (a failure does not stop the ones after it)."""
        out: list[_R | ChainError] = []
        for k, r in enumerate(self.chain.send_all(txs)):
            if isinstance(r, Reverted):
                out.append(self._named(r))
            elif isinstance(r, ChainError):
                out.append(r)
            else:
                out.append(result(k, r))
        return out

    def sealed_all(self, orders: Sequence[tuple[Account, Sequence[int], Sequence[int]]],
                   round: int | None = None) -> list["OrderResult | ChainError"]:
        """One sealed round's orders, as :meth:`order_all` places plain ones: every order
        committed, then (once every agent has committed, or at the commit deadline, to which
        the chain travels) every committed order revealed. Each item is the order's
        :class:`OrderResult` (``commit`` set; ``settlement`` from the commitment) or the error
        of its commitment or of its reveal; a reveal's error carries the mined commitment as
        its ``commit`` attribute (the previous order was settled, the escrow is forfeited)."""
        if round is None and orders:
            round = self.current_round().round
        if not orders or round is None:
            return []
        commits = self.commit_all(orders, round)
        ok = [(a, c) for (a, _, _), c in zip(orders, commits) if isinstance(c, CommitResult)]
        if int(self.view("commitments")[0]) < len(self.config.standard) + len(self.config.producers):
            deadline = self.current_round().deadline
            self.chain.travel_to(deadline - self.config.reveal_duration)
        reveals = iter(self.reveal_all([a for a, _ in ok], round))
        out: list[OrderResult | ChainError] = []
        for c in commits:
            if not isinstance(c, CommitResult):
                out.append(c)
                continue
            r = next(reveals)
            if isinstance(r, OrderResult):
                out.append(OrderResult(r.receipt, r.round, r.input, c.settlement, c))
            else:
                r.commit = c  # type: ignore[attr-defined]
                out.append(r)
        return out

    def sealed_state(self, address: str) -> tuple[int | None, int, bytes]:
        """Sealed mode: ``address``'s last commitment as (round or None, escrow wei still held,
        hash); an escrow held for a closed round is forfeited."""
        round, committed, escrow, h = self.view("sealedState", [address])
        return (round if committed else None), int(escrow), bytes(h)

    def close(self, sender: Account | None = None) -> CloseResult:
        """Close the open round (at its deadline, or once all agents ordered)."""
        receipt = self.transact(sender or self.chain.keeper, "close", [], gas=self.gas_limit("close"))
        for e in self._decode(receipt):
            if isinstance(e, RoundClosed):
                return CloseResult(receipt, e)
        raise ChainError("close mined without a RoundClosed event")

    def claim(self, account: Account) -> Settled:
        """Settle ``account``'s last order (its round must be closed)."""
        pb, po = self.previous(account)
        receipt = self.transact(account, "claim", [pack_values(pb), pack_values(po)], gas=self.gas_limit("claim"))
        self._prev.pop(account.address, None)
        for e in self._decode(receipt):
            if isinstance(e, Settled):
                return e
        raise ChainError("claim mined without a Settled event")

    def withdraw(self, account: Account, amount: int) -> Receipt:
        """Move ``amount`` wei from the market account to the agent's ERC-20 balance."""
        return self.transact(account, "withdraw", [amount], gas=200_000)

    def deposit(self, account: Account, amount: int) -> Receipt:
        """Approve the market and move ``amount`` wei of ERC-20 into the market account."""
        self.transact(account, "token.approve", [self.market_address, amount], gas=100_000)
        return self.transact(account, "deposit", [amount], gas=200_000)

    def _decode(self, receipt: Receipt) -> list[Event]:
        out = []
        for log in receipt.logs:
            if to_checksum_address(log["address"]) == self.market_address:
                e = self.codec.decode_log(log, receipt.block_number)
                if e is not None:
                    out.append(e)
        return out

    # -------------------------------------------------------------- views

    def current_round(self) -> RoundState:
        r, deadline, orders, agents = self.view("currentRound")
        b, q = self.view("openTotals")
        return RoundState(r, deadline, orders, agents, tuple(b), tuple(q))

    def closed_round(self, r: int) -> RoundClosed:
        """Round ``r``'s totals and prices from the ``closedRound`` view (no deadline, no block)."""
        b, q, p = self.view("closedRound", [r])
        return RoundClosed(r, tuple(b), tuple(q), tuple(p))

    def agent(self, address: str) -> AgentState:
        kind, balance, stock, omega, pending, last, _ = self.view("agentState", [address])
        return AgentState({1: "standard", 2: "producer"}.get(kind, ""), balance, stock, omega,
                          last if pending else None)

    def required_input(self, address: str, offers: Sequence[int]) -> int:
        """The input (wad) a producer's offers [0, q^1..q^T] need, as the contract computes it."""
        return int(self.view("requiredInput", [address, pack_values(offers)])[0])

    def escrow(self) -> int:
        """Wei held for bids not yet paid out (dust of settled rounds included)."""
        return int(self.view("escrow")[0])

    def token_balance(self, address: str) -> int:
        """ERC-20 bytecoin balance (outside the market) of ``address``."""
        return int(self.view("token.balanceOf", [address])[0])

    def events(self, from_block: int = 0, to_block: int | None = None) -> list[Event]:
        """Every market event in the block range, decoded, in chain order."""
        out = []
        for log in self.chain.logs(self.market_address, from_block, to_block):
            e = self.codec.decode_log(log, log["blockNumber"])
            if e is not None:
                out.append(e)
        return out
