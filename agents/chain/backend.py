"""A chain to run the market on: a fresh in-process eth-tester (py-evm) chain
with many funded agent keys, or any Ethereum JSON-RPC node given by URL.

Agents sign their own type-2 transactions locally (explicit nonce tracked in
Python, explicit gas limit, zero fees: the local chain's base fee is 0) and
send them raw; receipts give ``gasUsed``, the figure that verification energy
is computed from (``v = κ · gasUsed``). On the local chain every transaction
is mined in its own block (eth-tester's auto-mine; turning it off is slower,
docs/chain.md).

web3 and eth-tester are imported when a chain is created, not at import time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ChainError

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Ether (wei) given to every account at genesis, for gas on a node that charges it.
DEFAULT_ETHER = 10**6 * 10**18


@dataclass(frozen=True)
class Account:
    """An agent's (or the keeper's) key pair.

    Attributes
    ----------
    address : str
        Checksummed address.
    key : bytes
        32-byte private key; the agent signs its own transactions with it.
    """

    address: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Receipt:
    """What a mined transaction left.

    Attributes
    ----------
    tx_hash : bytes
    status : bool
        True on success.
    gas_used : int
        The receipt's ``gasUsed``: the electricity figure (``v = κ · gas_used``).
    block_number : int
    logs : tuple
        Raw log entries (dicts with ``address``, ``topics`` (bytes), ``data`` (bytes)).
    """

    tx_hash: bytes
    status: bool
    gas_used: int
    block_number: int
    logs: tuple[dict[str, Any], ...] = field(repr=False)


class Reverted(ChainError):
    """A transaction or call reverted.

    Attributes
    ----------
    name : str
        The custom error's name (``"InsufficientBalance"``), ``"Error"`` for a
        string reason, ``""`` if the revert carried no data.
    args : tuple
        The custom error's decoded arguments.
    data : bytes
        The raw revert data.
    receipt : Receipt or None
        The failed transaction's receipt (None for a call).
    """

    def __init__(self, name: str, args: tuple[Any, ...], data: bytes, receipt: Receipt | None = None):
        self.name = name
        self.error_args = args
        self.data = data
        self.receipt = receipt
        super().__init__(f"reverted: {name}{args}" if name else f"reverted (data 0x{data.hex()})")


def _key_from_seed(seed: int | str, i: int) -> bytes:
    k = 0
    counter = 0
    while not 0 < k < SECP256K1_N:
        digest = hashlib.sha256(f"emg-agent-key:{seed}:{i}:{counter}".encode()).digest()
        k = int.from_bytes(digest, "big")
        counter += 1
    return k.to_bytes(32, "big")


def derive_accounts(n: int, seed: int | str = 0) -> list[Account]:
    """``n`` deterministic accounts from ``seed`` (sha256-derived private keys).

    Parameters
    ----------
    n : int
        Number of accounts (≥ 0).
    seed : int or str
        The same seed always gives the same keys.
    """
    if n < 0:
        raise ChainError(f"n_accounts must be >= 0, got {n}")
    from eth_keys import keys

    out = []
    for i in range(n):
        key = _key_from_seed(seed, i)
        out.append(Account(keys.PrivateKey(key).public_key.to_checksum_address(), key))
    return out


class Chain:
    """A chain with funded accounts that sign their own transactions.

    Create with :meth:`local` (fresh eth-tester chain) or :meth:`rpc`.

    Attributes
    ----------
    w3 : Web3
    chain_id : int
    accounts : list of Account
        The funded agent accounts.
    keeper : Account
        Deployer and default sender of ``close`` (not an agent).
    """

    w3: "Web3"
    chain_id: int
    accounts: list[Account]
    keeper: Account

    def __init__(self, w3: "Web3", accounts: Sequence[Account], keeper: Account, tester: Any = None):
        self.w3 = w3
        self.accounts = list(accounts)
        self.keeper = keeper
        self._tester = tester
        self.chain_id = int(w3.eth.chain_id)
        self._nonces: dict[str, int] = {}
        self._signers: dict[bytes, Any] = {}

    # ------------------------------------------------------------ construction

    @classmethod
    def local(cls, n_accounts: int, seed: int | str = 0, ether_per_account: int = DEFAULT_ETHER) -> "Chain":
        """A fresh in-process eth-tester chain (py-evm, base fee 0).

        Parameters
        ----------
        n_accounts : int
            Number of agent accounts funded at genesis (the keeper is extra).
        seed : int or str
            Seed of the deterministic keys (:func:`derive_accounts`).
        ether_per_account : int
            Wei of ether each account holds (gas is free here; a node may not be).
        """
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import Web3
        from web3.providers.eth_tester import EthereumTesterProvider

        accounts = derive_accounts(n_accounts, seed)
        keeper = derive_accounts(1, f"{seed}:keeper")[0]
        state = {
            bytes.fromhex(a.address[2:]): {"balance": ether_per_account, "nonce": 0, "code": b"", "storage": {}}
            for a in [keeper, *accounts]
        }
        params = {**PyEVMBackend.generate_genesis_params(), "base_fee_per_gas": 0}
        backend = _CachedKeysBackend(genesis_parameters=params, genesis_state=state)
        tester = EthereumTester(backend)
        w3 = Web3(EthereumTesterProvider(tester))
        return cls(w3, accounts, keeper, tester)

    @classmethod
    def rpc(cls, url: str, accounts: Sequence[Account], keeper: Account | None = None) -> "Chain":
        """A chain behind a JSON-RPC URL; ``accounts`` must already hold ether for gas."""
        from web3 import HTTPProvider, Web3

        w3 = Web3(HTTPProvider(url))
        if not w3.is_connected():
            raise ChainError(f"no Ethereum JSON-RPC node answers at {url}")
        if not accounts and keeper is None:
            raise ChainError("rpc chain: give at least one account")
        return cls(w3, accounts, keeper or accounts[0])

    # ------------------------------------------------------------ transactions

    def nonce(self, account: Account) -> int:
        """The next nonce of ``account`` (tracked in Python after the first query)."""
        n = self._nonces.get(account.address)
        if n is None:
            if self._tester is not None:  # the local chain: skip web3's request layers
                n = int(self._tester.get_nonce(account.address))
            else:
                n = int(self.w3.eth.get_transaction_count(account.address))  # type: ignore[arg-type]
            self._nonces[account.address] = n
        return n

    def sign(self, account: Account, to: str | None, data: bytes, gas: int, value: int = 0,
             nonce: int | None = None) -> bytes:
        """A raw signed type-2 transaction (fees 0, explicit nonce and gas limit)."""
        key = self._signers.get(account.key)
        if key is None:
            from coincurve import PrivateKey

            key = self._signers[account.key] = PrivateKey(account.key)
        return sign_type2(key, self.chain_id, self.nonce(account) if nonce is None else nonce,
                          to, data, gas, value)

    def send(self, account: Account, to: str | None, data: bytes, gas: int, value: int = 0) -> Receipt:
        """Sign, send and mine one transaction; return its receipt.

        Raises
        ------
        Reverted
            If it reverted (the receipt is attached; the custom error is decoded
            by :class:`~agents.chain.client.MarketClient`, which knows the ABI).
        """
        raw = self.sign(account, to, data, gas, value)
        return self._send_raw(account, raw, to, data, value)

    def send_many(self, txs: Sequence[tuple[Account, str, bytes, int]]) -> list[Receipt]:
        """Sign every transaction first, then send them in order (one round's orders).

        A transaction that reverts raises :class:`Reverted` after the ones
        before it were mined (their receipts are in the exception's
        ``completed`` attribute); the ones after it are not sent.
        """
        raws = []
        planned: dict[str, int] = {}
        for account, to, data, gas in txs:
            n = planned.get(account.address, self.nonce(account))
            raws.append((account, self.sign(account, to, data, gas, 0, nonce=n), to, data))
            planned[account.address] = n + 1
        done: list[Receipt] = []
        for account, raw, to, data in raws:
            try:
                done.append(self._send_raw(account, raw, to, data, 0))
            except ChainError as exc:
                exc.completed = list(done)  # type: ignore[attr-defined]
                raise
        return done

    def _send_raw(self, account: Account, raw: bytes, to: str | None, data: bytes, value: int) -> Receipt:
        try:
            if self._tester is not None:
                tx_hash = self._tester.send_raw_transaction("0x" + raw.hex())
                self._nonces[account.address] = self._nonces.get(account.address, 0) + 1
                receipt = self._tester.backend.last_receipt(bytes.fromhex(tx_hash[2:]))
                if receipt is None:  # not the only transaction of its block: ask eth-tester
                    r = self._tester.get_transaction_receipt(tx_hash)
                    receipt = Receipt(
                        bytes.fromhex(tx_hash[2:]),
                        bool(r["status"]),
                        int(r["gas_used"]),
                        int(r["block_number"]),
                        tuple(
                            {
                                "address": log["address"],
                                "topics": [bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t)
                                           for t in log["topics"]],
                                "data": bytes.fromhex(log["data"][2:]) if isinstance(log["data"], str)
                                else bytes(log["data"]),
                            }
                            for log in r["logs"]
                        ),
                    )
            else:
                h = self.w3.eth.send_raw_transaction(raw)
                self._nonces[account.address] = self._nonces.get(account.address, 0) + 1
                r = self.w3.eth.wait_for_transaction_receipt(h)
                receipt = Receipt(
                    bytes(h),
                    bool(r["status"]),
                    int(r["gasUsed"]),
                    int(r["blockNumber"]),
                    tuple({"address": lg["address"], "topics": [bytes(t) for t in lg["topics"]],
                           "data": bytes(lg["data"])} for lg in r["logs"]),
                )
        except Reverted:
            raise
        except Exception as exc:  # the node refused it before mining (nonce, gas, ...)
            self._nonces.pop(account.address, None)
            raise ChainError(f"transaction from {account.address} refused: {exc}") from exc
        if not receipt.status:
            if self._tester is not None:
                data_out = self._tester.backend.last_output
            else:
                data_out = self._revert_data(account.address, to, data, value, receipt.block_number)
            raise Reverted("", (), data_out, receipt)
        return receipt

    def _revert_data(self, sender: str, to: str | None, data: bytes, value: int, block: int) -> bytes:
        """Re-run a failed transaction as a call on the state before it, for its revert data."""
        if to is None:
            return b""
        try:
            self._call(sender, to, data, value, max(block - 1, 0))
        except Reverted as exc:
            return exc.data
        except ChainError:
            return b""
        return b""

    def _call(self, sender: str, to: str, data: bytes, value: int, block: int | str) -> bytes:
        if self._tester is not None:
            from eth_tester.exceptions import TransactionFailed

            tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": value, "gas": 30_000_000}
            try:
                out = self._tester.call(tx, block)
            except TransactionFailed as exc:
                raise Reverted("", (), _revert_bytes(exc)) from None
            return bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out)
        try:
            return bytes(self.w3.eth.call({"from": sender, "to": to, "data": data, "value": value},  # type: ignore[typeddict-item]
                                          block_identifier=block))  # type: ignore[arg-type]
        except Exception as exc:  # web3 raises ContractCustomError / ContractLogicError with .data
            raw = getattr(exc, "data", None)
            if isinstance(raw, str) and raw.startswith("0x"):
                raise Reverted("", (), bytes.fromhex(raw[2:])) from None
            raise ChainError(f"call to {to} failed: {exc}") from exc

    def call(self, to: str, data: bytes, sender: str | None = None) -> bytes:
        """``eth_call`` at the latest block; raises :class:`Reverted` (undecoded) on revert."""
        return self._call(sender or self.keeper.address, to, data, 0, "latest")

    # ------------------------------------------------------------ snapshots, time

    def snapshot(self) -> Any:
        """Take a snapshot of the chain state (local: eth-tester; rpc: ``evm_snapshot``)."""
        if self._tester is not None:
            return self._tester.take_snapshot()
        return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert(self, snapshot_id: Any) -> None:
        """Return to a snapshot; tracked nonces are re-read afterwards."""
        if self._tester is not None:
            self._tester.revert_to_snapshot(snapshot_id)
        else:
            self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        self._nonces.clear()

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def pending_time(self) -> int:
        """Timestamp the next transaction's block will carry (local chain)."""
        if self._tester is not None:
            return int(self._tester.get_block_by_number("pending")["timestamp"])
        return self.now() + 1

    def travel_to(self, timestamp: int) -> None:
        """Set the next block's timestamp (local chain; ``evm_setNextBlockTimestamp`` on a node)."""
        if self._tester is not None:
            if timestamp > self.pending_time():
                self._tester.time_travel(timestamp)
            return
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]


def sign_type2(key: Any, chain_id: int, nonce: int, to: str | None, data: bytes, gas: int,
               value: int = 0) -> bytes:
    """A raw signed EIP-1559 (type-2) transaction with zero fees and no access list.

    Byte-identical to ``eth_account.Account.sign_transaction`` of the same
    fields (both sign the same keccak digest with libsecp256k1's deterministic,
    low-s RFC 6979 nonces), at a fraction of its cost:
    ``0x02 || rlp([chainId, nonce, 0, 0, gas, to, value, data, [], yParity, r, s])``.

    Parameters
    ----------
    key : coincurve.PrivateKey
        The sender's key.
    to : str or None
        Hex address, or None for a contract creation.
    """
    import rlp
    from eth_hash.auto import keccak

    fields = [chain_id, nonce, 0, 0, gas, b"" if to is None else bytes.fromhex(to[2:]), value, data, []]
    sig = key.sign_recoverable(keccak(b"\x02" + rlp.encode(fields)), hasher=None)
    fields += [sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")]
    return b"\x02" + rlp.encode(fields)


def _revert_bytes(exc: Exception) -> bytes:
    """The revert data inside eth-tester's TransactionFailed (it holds the repr of the bytes)."""
    import ast

    raw: Any = exc.args[0] if exc.args else b""
    if isinstance(raw, Exception) and raw.args:
        raw = raw.args[0]
    if isinstance(raw, str):
        text = raw.removeprefix("execution reverted: ")
        if text[:2] in ("b'", 'b"'):
            try:
                raw = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return b""
    return bytes(raw) if isinstance(raw, (bytes, bytearray)) else b""


def _cached_keys_backend_class() -> type:
    from eth_tester import PyEVMBackend

    class CachedKeysBackend(PyEVMBackend):
        """PyEVMBackend whose key lookup is built once, not on every transaction.

        ``PyEVMBackend._key_lookup`` rebuilds a dict of every account key per
        transaction it signs (10–13 ms a transaction with 1,000 accounts,
        CHAIN-FACTS.md); the keys never change after genesis, so cache it.
        """

        _lookup_cache: dict[bytes, Any] | None = None
        #: output (return or revert data) of the last raw transaction applied
        last_output: bytes = b""
        #: (block, receipt) py-evm returned for the last raw transaction applied
        last_result: tuple[Any, Any] | None = None

        @property
        def _key_lookup(self) -> dict[bytes, Any]:
            if self._lookup_cache is None:
                self._lookup_cache = {k.public_key.to_canonical_address(): k for k in self.account_keys}
            return self._lookup_cache

        def send_raw_transaction(self, raw_transaction: bytes) -> Any:
            """As PyEVMBackend's, keeping the computation's output (a failed
            transaction's revert data, exactly as it ran)."""
            chain = self.chain
            apply = chain.apply_transaction

            def capture(tx: Any) -> Any:
                result = apply(tx)
                self.last_output = bytes(result[2].output)
                self.last_result = (result[0], result[1])
                return result

            chain.apply_transaction = capture
            self.last_result = None
            try:
                return super().send_raw_transaction(raw_transaction)
            finally:
                del chain.apply_transaction

        def last_receipt(self, tx_hash: bytes) -> "Receipt | None":
            """The :class:`Receipt` of the last raw transaction, built from what
            py-evm returned when applying it (as eth-tester's receipt would read:
            same status, gasUsed, block number and logs), without eth-tester's
            receipt lookup and serialisers; None unless it was the only
            transaction of its block (auto-mine) and is ``tx_hash``."""
            from eth_utils import to_checksum_address

            if self.last_result is None:
                return None
            block, rcpt = self.last_result
            txs = block.transactions
            if len(txs) != 1 or txs[0].hash != tx_hash:
                return None
            return Receipt(
                tx_hash,
                int.from_bytes(rcpt.state_root, "big") != 0,
                int(rcpt.gas_used),
                int(block.header.block_number),
                tuple({"address": to_checksum_address(log.address),
                       "topics": [t.to_bytes(32, "big") for t in log.topics],
                       "data": bytes(log.data)} for log in rcpt.logs),
            )

    return CachedKeysBackend


def _CachedKeysBackend(**kwargs: Any) -> Any:
    return _cached_keys_backend_class()(**kwargs)
