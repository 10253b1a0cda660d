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
#: Max fee per gas signed on the local chain. Its base fee starts at 0 and stays there while
#: blocks are at most half full; a fuller block (a deployment at large T) makes it 1 wei for
#: good (EIP-1559's minimum step, py-evm). Zero-fee transactions would then be refused, so
#: agents sign a cap far above that; with a priority fee of 0 they pay the base fee only (0,
#: or 1 wei a gas), and ``gasUsed`` is the same either way.
LOCAL_MAX_FEE = 10**9


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

    def __init__(self, w3: "Web3", accounts: Sequence[Account], keeper: Account, tester: Any = None,
                 transport: Any = None):
        self.w3 = w3
        self.accounts = list(accounts)
        self.keeper = keeper
        self._tester = tester
        self._rpc = transport
        self.chain_id = int(transport.request("eth_chainId"), 16) if transport is not None else int(w3.eth.chain_id)
        self._nonces: dict[str, int] = {}
        self._signers: dict[bytes, Any] = {}
        #: max fee per gas the agents sign with (a node whose base fee is 0: 0; the local
        #: chain: LOCAL_MAX_FEE); priority fee is 0
        self.max_fee = 0
        #: rpc: eth_sendRawTransactionSync works (None: not tried yet)
        self._sync_send: bool | None = None
        #: how a mined transaction's revert data is found: "exact" (eth-tester keeps it),
        #: "trace" (debug_traceTransaction: exact), "replay" (eth_call on the block before: not exact)
        self.revert_data_method = "exact" if tester is not None else ""
        #: rpc: emg snapshot id -> the node's current snapshot id (a node's snapshot is used up
        #: by evm_revert; emg re-takes it so an id can be reverted to again, as on eth-tester)
        self._snapshots: dict[int, str] = {}
        #: rpc: the timestamp set for the next block by travel_to (None: none set)
        self._next_time: int | None = None
        #: rpc: every block is 1 s after the previous one (anvil_setBlockTimestampInterval)
        self.fixed_block_interval = False
        #: rpc: send_all mines a round in blocks of many transactions (see send_all)
        self.pipeline = False
        self._block_gas_limit: int | None = None
        #: what the node is: "eth-tester", or its web3_clientVersion
        self.client_version = "eth-tester" if tester is not None else ""
        self.hardfork = "prague" if tester is not None else ""

    @property
    def is_local(self) -> bool:
        """True on the in-process eth-tester chain."""
        return self._tester is not None

    # ------------------------------------------------------------ construction

    @classmethod
    def local(cls, n_accounts: int, seed: int | str = 0, ether_per_account: int = DEFAULT_ETHER) -> "Chain":
        """A fresh in-process eth-tester chain (py-evm, Prague, base fee 0; agents sign
        :data:`LOCAL_MAX_FEE`, so a block more than half full does not lock them out).

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
        chain = cls(w3, accounts, keeper, tester)
        chain.max_fee = LOCAL_MAX_FEE
        return chain

    @classmethod
    def rpc(cls, url: str, accounts: Sequence[Account], keeper: Account | None = None,
            ether_per_account: int = DEFAULT_ETHER, fixed_block_interval: bool = False,
            pipeline: bool = False) -> "Chain":
        """A chain behind a JSON-RPC node: ``http(s)://`` or ``ws(s)://`` URL, or an ``.ipc`` path.

        With the node's base fee 0 (Anvil ``--base-fee 0``, Hardhat
        ``initialBaseFeePerGas: 0``) gas is free and accounts need no ether.
        Otherwise agents sign with a max fee of twice the base fee (priority
        fee 0: ``gasUsed`` is unaffected) and every account must hold ether:
        those that hold none are funded with ``anvil_setBalance`` /
        ``hardhat_setBalance`` where the node has it, else :class:`ChainError`
        names the first one (before anything is deployed).

        Parameters
        ----------
        fixed_block_interval : bool
            Make each block 1 s after the previous one
            (``anvil_setBlockTimestampInterval``), so block times do not follow
            the wall clock (a managed node; not done to a user's node).
        pipeline : bool
            :meth:`send_all` mines a round's transactions in blocks of many
            (``evm_setAutomine``/``evm_mine``; the managed node): see :attr:`pipeline`.
        """
        from web3 import Web3

        from .rpc import connect, provider

        if not accounts and keeper is None:
            raise ChainError("rpc chain: give at least one account")
        transport = connect(url)
        try:
            transport.request("eth_chainId")
        except ChainError as exc:
            transport.close()
            raise ChainError(f"no Ethereum JSON-RPC node answers at {url}: {exc}") from None
        chain = cls(Web3(provider(transport)), accounts, keeper or accounts[0], transport=transport)
        chain.url = url
        from .node import node_info

        info = node_info(transport)
        chain.client_version, chain.hardfork = info["client"], info["hardfork"]
        from .rpc import RpcError

        try:  # does the node trace transactions (exact revert data)? a made-up hash tells
            transport.request("debug_traceTransaction", ["0x" + "00" * 32, {"tracer": "callTracer"}])
            chain.revert_data_method = "trace"
        except RpcError as exc:
            chain.revert_data_method = "replay" if exc.unsupported else "trace"
        if fixed_block_interval:
            transport.request("anvil_setBlockTimestampInterval", [1])
            chain.fixed_block_interval = True
        chain.pipeline = pipeline
        chain._prepare_fees(ether_per_account)
        return chain

    @classmethod
    def connect(cls, backend: str, n_accounts: int, seed: int | str = 0, **rpc_options: Any) -> "Chain":
        """``"eth-tester"`` → :meth:`local`; a URL or ``.ipc`` path → :meth:`rpc` with the
        same deterministic agent and keeper keys as the local chain."""
        if backend == "eth-tester":
            return cls.local(n_accounts, seed)
        accounts = derive_accounts(n_accounts, seed)
        keeper = derive_accounts(1, f"{seed}:keeper")[0]
        return cls.rpc(backend, accounts, keeper, **rpc_options)

    url: str = "eth-tester"

    def close(self) -> None:
        """Close the connection to the node (rpc); nothing on the local chain."""
        if self._rpc is not None:
            self._rpc.close()

    def _prepare_fees(self, ether: int) -> None:
        """Sign above a non-zero base fee; make sure every account can pay for gas."""
        from .rpc import RpcError

        block = self._rpc.request("eth_getBlockByNumber", ["latest", False])
        base_fee = int(block.get("baseFeePerGas") or "0x0", 16)
        if base_fee == 0:
            return
        self.max_fee = 2 * base_fee
        everyone = [self.keeper, *self.accounts]
        balances = self._rpc.batch([("eth_getBalance", [a.address, "latest"]) for a in everyone])
        poor = [a for a, b in zip(everyone, balances) if isinstance(b, Exception) or int(b, 16) == 0]
        for a in poor:
            for method in ("anvil_setBalance", "hardhat_setBalance"):
                try:
                    self._rpc.request(method, [a.address, hex(ether)])
                    break
                except RpcError as exc:
                    if not exc.unsupported:
                        raise
            else:
                raise ChainError(
                    f"backend: the node's base fee is {base_fee} wei and account {a.address} holds no "
                    f"ether for gas (fund the accounts, or run the node with a zero base fee, "
                    f"e.g. anvil --base-fee 0)")

    # ------------------------------------------------------------ transactions

    def nonce(self, account: Account) -> int:
        """The next nonce of ``account`` (tracked in Python after the first query)."""
        n = self._nonces.get(account.address)
        if n is None:
            if self._tester is not None:  # the local chain: skip web3's request layers
                n = int(self._tester.get_nonce(account.address))
            else:
                n = int(self._rpc.request("eth_getTransactionCount", [account.address, "latest"]), 16)
            self._nonces[account.address] = n
        return n

    def sign(self, account: Account, to: str | None, data: bytes, gas: int, value: int = 0,
             nonce: int | None = None) -> bytes:
        """A raw signed type-2 transaction (explicit nonce and gas limit, max fee
        :attr:`max_fee` (0 unless the node's base fee is not), priority fee 0)."""
        key = self._signers.get(account.key)
        if key is None:
            from coincurve import PrivateKey

            key = self._signers[account.key] = PrivateKey(account.key)
        return sign_type2(key, self.chain_id, self.nonce(account) if nonce is None else nonce,
                          to, data, gas, value, self.max_fee)

    def send(self, account: Account, to: str | None, data: bytes, gas: int, value: int = 0) -> Receipt:
        """Sign, send and mine one transaction; return its receipt.

        Raises
        ------
        Reverted
            If it reverted (the receipt is attached; the custom error is decoded
            by :class:`~agents.chain.client.MarketClient`, which knows the ABI).
        ChainError
            If the node refused it (nothing was mined).
        """
        raw = self.sign(account, to, data, gas, value)
        return self._send_raw(account, raw, to, data, value)

    def send_many(self, txs: Sequence[tuple[Account, str, bytes, int]]) -> list[Receipt]:
        """Sign every transaction first, then send them in order (one round's orders).

        A transaction that reverts raises :class:`Reverted` after the ones
        before it were mined (their receipts are in the exception's
        ``completed`` attribute); the ones after it are not sent.
        """
        raws = self._sign_all(txs)
        done: list[Receipt] = []
        for account, raw, to, data in raws:
            try:
                done.append(self._send_raw(account, raw, to, data, 0))
            except ChainError as exc:
                exc.completed = list(done)  # type: ignore[attr-defined]
                raise
        return done

    def send_all(self, txs: Sequence[tuple[Account, str, bytes, int]]) -> list["Receipt | ChainError"]:
        """Sign every transaction first, send them all in order, then collect each outcome.

        Unlike :meth:`send_many`, a revert does not stop the ones after it
        (agents order independently): each item of the result is the
        transaction's :class:`Receipt`, its :class:`Reverted` (receipt
        attached) or the :class:`ChainError` of a node that refused it.

        With :attr:`pipeline` on (a development node with ``evm_setAutomine``
        and ``evm_mine``: Anvil, Hardhat), no receipt is awaited between sends:
        the transactions are mined in blocks of many, in the order sent (see
        :meth:`_send_all_rpc`), which gives each the gas it has when mined
        alone. On by default on the managed Anvil (``Chain.rpc(...,
        pipeline=True)``); off elsewhere (each transaction is then mined in
        its own block as it is sent).
        """
        raws = self._sign_all(txs)
        if self._rpc is None or not raws or not self.pipeline:
            out: list[Receipt | ChainError] = []
            for account, raw, to, data in raws:
                try:
                    out.append(self._send_raw(account, raw, to, data, 0))
                except ChainError as exc:
                    out.append(exc)
            return out
        return self._send_all_rpc(raws, [gas for _, _, _, gas in txs])

    def _sign_all(self, txs: Sequence[tuple[Account, str, bytes, int]]) -> list[tuple[Account, bytes, str, bytes]]:
        raws = []
        planned: dict[str, int] = {}
        for account, to, data, gas in txs:
            n = planned.get(account.address, self.nonce(account))
            raws.append((account, self.sign(account, to, data, gas, 0, nonce=n), to, data))
            planned[account.address] = n + 1
        return raws

    def _send_raw(self, account: Account, raw: bytes, to: str | None, data: bytes, value: int) -> Receipt:
        if self._tester is None:
            return self._send_raw_rpc(account, raw, to, data, value)
        try:
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
        except Exception as exc:  # the node refused it before mining (nonce, gas, ...)
            self._nonces.pop(account.address, None)
            raise ChainError(f"transaction from {account.address} refused: {exc}") from exc
        if not receipt.status:
            raise Reverted("", (), self._tester.backend.last_output, receipt)
        return receipt

    # ------------------------------------------------------------ the rpc path

    def _send_raw_rpc(self, account: Account, raw: bytes, to: str | None, data: bytes, value: int) -> Receipt:
        """Send one raw transaction to the node and wait for its receipt.

        ``eth_sendRawTransactionSync`` (EIP-7966; Anvil) answers with the
        receipt once mined; elsewhere ``eth_sendRawTransaction`` and a tight
        receipt poll. A node that mines a reverted transaction but answers its
        send with an error (Hardhat: -32603 with the revert data) still gives
        the receipt: the hash is ``keccak(raw)``, and a receipt under it means
        the transaction was mined.
        """
        from eth_hash.auto import keccak

        from .rpc import RpcError

        tx_hash = keccak(raw)
        hex_raw = "0x" + raw.hex()
        rcpt: Any = None
        error_data: bytes | None = None
        try:
            if self._sync_send is not False:
                try:
                    rcpt = self._rpc.request("eth_sendRawTransactionSync", [hex_raw])
                    self._sync_send = True
                except RpcError as exc:
                    if self._sync_send is None and exc.unsupported:
                        self._sync_send = False
                    else:
                        raise
            if rcpt is None:
                self._rpc.request("eth_sendRawTransaction", [hex_raw])
        except RpcError as exc:
            rcpt = self._rpc.request("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
            if rcpt is None:  # refused before mining (nonce, gas, fee, ...)
                self._nonces.pop(account.address, None)
                raise ChainError(f"transaction from {account.address} refused: {exc.message}") from None
            error_data = _hex_data(exc.data)
        self._nonces[account.address] = self._nonces.get(account.address, 0) + 1
        if rcpt is None:
            rcpt = self._wait_receipt(tx_hash)
        receipt = _receipt_of(tx_hash, rcpt)
        self._next_time = None
        if not receipt.status:
            raise Reverted("", (), self._revert_data(tx_hash, account.address, to, data, value,
                                                     receipt.block_number, error_data), receipt)
        return receipt

    def _send_all_rpc(self, raws: list[tuple[Account, bytes, str, bytes]],
                      gas_limits: list[int]) -> list["Receipt | ChainError"]:
        """A round mined in blocks of many transactions, in the order sent.

        Automine is turned off (``evm_setAutomine``) for the round; the
        transactions are cut into runs whose gas limits fit the block gas
        limit, each run is sent in order (``eth_sendRawTransaction``, one
        answer awaited before the next send: the node's pool receives them in
        that order) and mined as one block (``evm_mine``); then every receipt
        is read in one JSON-RPC batch. Per-transaction gas is that of one
        transaction a block (warm slots and refunds are per transaction), so
        only block numbers and timestamps differ. The order is checked: a node
        that mined them in another order (a pool sorted by fee with unequal
        fees) or left one out raises :class:`ChainError`. Automine is back on
        afterwards, also on errors.
        """
        from eth_hash.auto import keccak

        from .rpc import RpcError

        limit = self._gas_limit()
        runs: list[list[int]] = []
        used = limit
        for k, gas in enumerate(gas_limits):
            if used + gas > limit:
                runs.append([])
                used = 0
            runs[-1].append(k)
            used += gas
        hashes = [keccak(raw) for _, raw, _, _ in raws]
        refused: dict[int, ChainError] = {}
        self._rpc.request("evm_setAutomine", [False])
        try:
            for run in runs:
                sent = 0
                for k in run:
                    account, raw = raws[k][0], raws[k][1]
                    try:
                        self._rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
                    except RpcError as exc:  # refused before the pool: nothing mined
                        self._nonces.pop(account.address, None)
                        refused[k] = ChainError(f"transaction from {account.address} refused: {exc.message}")
                        continue
                    self._nonces[account.address] = self._nonces.get(account.address, 0) + 1
                    sent += 1
                if sent:
                    self._rpc.request("evm_mine")
                    self._next_time = None
        finally:
            self._rpc.request("evm_setAutomine", [True])
        mined = [k for k in range(len(raws)) if k not in refused]
        answers = self._rpc.batch([("eth_getTransactionReceipt", ["0x" + hashes[k].hex()]) for k in mined])
        rcpts: dict[int, Any] = {}
        last = (-1, -1)
        for k, ans in zip(mined, answers):
            if not isinstance(ans, dict) or ans.get("blockNumber") is None:
                raise ChainError(f"the node did not mine transaction 0x{hashes[k].hex()} of a round's "
                                 f"block ({ans!s:.200}): no parity with eth-tester; run it without pipelining")
            place = (int(ans["blockNumber"], 16), int(ans.get("transactionIndex") or "0x0", 16))
            if place <= last:
                raise ChainError(f"the node mined a round's transactions out of the order sent "
                                 f"({place} after {last}): no parity with eth-tester; run it without pipelining")
            last = place
            rcpts[k] = ans
        out: list[Receipt | ChainError] = []
        for k, (account, _, to, data) in enumerate(raws):
            if k in refused:
                out.append(refused[k])
                continue
            receipt = _receipt_of(hashes[k], rcpts[k])
            if receipt.status:
                out.append(receipt)
            else:
                out.append(Reverted("", (), self._revert_data(hashes[k], account.address, to, data, 0,
                                                              receipt.block_number, None), receipt))
        return out

    def _gas_limit(self) -> int:
        """The node's block gas limit (read once)."""
        if self._block_gas_limit is None:
            block = self._rpc.request("eth_getBlockByNumber", ["latest", False])
            self._block_gas_limit = int(block["gasLimit"], 16)
        return self._block_gas_limit

    def _wait_receipt(self, tx_hash: bytes, timeout: float = 120.0) -> Any:
        from .rpc import wait_until

        found: list[Any] = []
        h = "0x" + tx_hash.hex()

        def mined() -> bool:
            r = self._rpc.request("eth_getTransactionReceipt", [h])
            if r is not None and r.get("blockNumber") is not None:
                found.append(r)
                return True
            return False

        wait_until(mined, timeout, f"the receipt of {h}")
        return found[0]

    def _revert_data(self, tx_hash: bytes, sender: str, to: str | None, data: bytes, value: int,
                     block: int, error_data: bytes | None) -> bytes:
        """The exact revert data of a mined failed transaction.

        From its own trace (``debug_traceTransaction``: the call tracer's
        ``output``, else the struct logger's ``returnValue``), which holds what
        the transaction returned as it ran, block-dependent errors included;
        else the data the node's error answer carried; else (a node without
        traces) a replay as ``eth_call`` on the state before its block, which
        misses errors that depend on the block (a deadline) —
        :attr:`revert_data_method` then says ``"replay"``.
        """
        from .rpc import RpcError

        h = "0x" + tx_hash.hex()
        for opts, key in (({"tracer": "callTracer"}, "output"),
                          ({"disableStack": True, "disableMemory": True, "disableStorage": True},
                           "returnValue")):
            try:
                res = self._rpc.request("debug_traceTransaction", [h, opts])
            except RpcError:
                continue
            if isinstance(res, dict):
                out = res.get(key)
                if isinstance(out, str):
                    self.revert_data_method = "trace"
                    return bytes.fromhex(out.removeprefix("0x"))
                if key == "output" and "error" in res:  # reverted without data
                    self.revert_data_method = "trace"
                    return b""
        if error_data is not None:
            return error_data
        self.revert_data_method = "replay"
        try:
            self._call(sender, to, data, value, max(block - 1, 0))
        except Reverted as exc:
            return exc.data
        except ChainError:
            return b""
        return b""

    def _call(self, sender: str, to: str | None, data: bytes, value: int, block: int | str) -> bytes:
        if self._tester is not None:
            from eth_tester.exceptions import TransactionFailed

            tx: dict[str, Any] = {"from": sender, "data": "0x" + data.hex(), "value": value, "gas": 30_000_000}
            if to is not None:
                tx["to"] = to
            try:
                out = self._tester.call(tx, block)
            except TransactionFailed as exc:
                raise Reverted("", (), _revert_bytes(exc)) from None
            return bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out)
        from .rpc import RpcError

        call: dict[str, Any] = {"from": sender, "data": "0x" + data.hex(), "value": hex(value)}
        if to is not None:
            call["to"] = to
        tag = hex(block) if isinstance(block, int) else block
        try:
            out = self._rpc.request("eth_call", [call, tag])
        except RpcError as exc:
            raw = _hex_data(exc.data)
            if raw is not None or "revert" in exc.message.lower():
                raise Reverted("", (), raw or b"") from None
            raise ChainError(f"call to {to} failed: {exc.message}") from None
        return bytes.fromhex(str(out).removeprefix("0x"))

    def call(self, to: str, data: bytes, sender: str | None = None) -> bytes:
        """``eth_call`` at the latest block; raises :class:`Reverted` (undecoded) on revert."""
        return self._call(sender or self.keeper.address, to, data, 0, "latest")

    def logs(self, address: str, from_block: int = 0, to_block: int | None = None) -> list[dict[str, Any]]:
        """Raw logs of ``address`` in the block range (``to_block`` None: the latest), as
        dicts with ``topics`` (bytes), ``data`` (bytes), ``blockNumber`` (int); ``[]`` when
        ``from_block`` is past the head (a node would answer an error)."""
        head = self.block_number()
        if from_block > head or (to_block is not None and to_block < from_block):
            return []
        last = head if to_block is None else min(to_block, head)
        if self._rpc is None:
            raw = self.w3.eth.get_logs({"address": address, "fromBlock": from_block,  # type: ignore[typeddict-item]
                                        "toBlock": last})
            return [{"topics": [bytes(t) for t in lg["topics"]], "data": bytes(lg["data"]),
                     "blockNumber": int(lg["blockNumber"])} for lg in raw]
        return [{"topics": [bytes.fromhex(t[2:]) for t in lg["topics"]], "data": bytes.fromhex(lg["data"][2:]),
                 "blockNumber": int(lg["blockNumber"], 16)}
                for lg in self._rpc.request("eth_getLogs", [{"address": address, "fromBlock": hex(from_block),
                                                             "toBlock": hex(last)}])]

    def block_number(self) -> int:
        """Number of the latest block."""
        if self._rpc is None:
            return int(self.w3.eth.block_number)
        return int(self._rpc.request("eth_blockNumber"), 16)

    # ------------------------------------------------------------ snapshots, time

    def snapshot(self) -> Any:
        """Take a snapshot of the chain state (local: eth-tester; rpc: ``evm_snapshot``).

        On both, the id can be reverted to any number of times.

        Raises
        ------
        ChainError
            The node has no ``evm_snapshot`` (only development nodes have it).
        """
        if self._tester is not None:
            return self._tester.take_snapshot()
        node_id = self._node_snapshot()
        emg_id = len(self._snapshots) + 1
        self._snapshots[emg_id] = node_id
        return emg_id

    def _node_snapshot(self) -> str:
        from .rpc import RpcError

        try:
            return str(self._rpc.request("evm_snapshot"))
        except RpcError as exc:
            raise ChainError(f"the node at {self.url} cannot take snapshots (evm_snapshot: {exc.message}); "
                             f"use a development node such as Anvil or Hardhat") from None

    def revert(self, snapshot_id: Any) -> None:
        """Return to a snapshot; tracked nonces are re-read afterwards.

        Raises
        ------
        ChainError
            The node did not revert (it answered ``false``, e.g. the id is unknown).
        """
        if self._tester is not None:
            self._tester.revert_to_snapshot(snapshot_id)
        else:
            node_id = self._snapshots.get(snapshot_id)
            if node_id is None:
                raise ChainError(f"revert: unknown snapshot id {snapshot_id!r}")
            ok = self._rpc.request("evm_revert", [node_id])
            if ok is not True:
                raise ChainError(f"revert: the node did not revert to snapshot {snapshot_id!r} "
                                 f"(evm_revert answered {ok!r})")
            # the node's snapshot is used up: take it again, so the id stays valid
            self._snapshots[snapshot_id] = self._node_snapshot()
            self._next_time = None
        self._nonces.clear()

    def now(self) -> int:
        """Timestamp of the latest block."""
        if self._rpc is None:
            return int(self.w3.eth.get_block("latest")["timestamp"])
        return int(self._rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def pending_time(self) -> int:
        """Timestamp the next transaction's block will carry.

        Exact on the local chain and on a node with :attr:`fixed_block_interval`
        (or after :meth:`travel_to`); elsewhere the node follows the wall clock,
        and this is ``max(latest + 1, wall clock)``.
        """
        if self._tester is not None:
            return int(self._tester.get_block_by_number("pending")["timestamp"])
        if self._next_time is not None:
            return self._next_time
        latest = self.now()
        if self.fixed_block_interval:
            return latest + 1
        import time

        return max(latest + 1, int(time.time()))

    def travel_to(self, timestamp: int) -> None:
        """Make the next block's timestamp at least ``timestamp``.

        Time never runs backwards: if the next block would already be that
        late (the chain is past ``timestamp``), nothing happens, on both
        backends. A node that refuses ``evm_setNextBlockTimestamp`` raises.

        Raises
        ------
        ChainError
            The node refused to set the time (its answer is quoted).
        """
        from .rpc import RpcError

        if self._tester is not None:
            if timestamp > self.pending_time():
                self._tester.time_travel(timestamp)
            return
        latest = self.now()
        if timestamp <= latest or (timestamp <= self.pending_time()
                                   and (self._next_time is not None or self.fixed_block_interval)):
            return
        try:
            self._rpc.request("evm_setNextBlockTimestamp", [timestamp])
        except RpcError as exc:
            raise ChainError(f"travel_to: the node refused evm_setNextBlockTimestamp({timestamp}): "
                             f"{exc.message}") from None
        self._next_time = timestamp


def _hex_data(data: Any) -> bytes | None:
    """Revert data in a JSON-RPC error's ``data``: a hex string, or (Hardhat) a dict holding one."""
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def _receipt_of(tx_hash: bytes, r: dict[str, Any]) -> Receipt:
    """A :class:`Receipt` from a node's JSON receipt."""
    return Receipt(
        tx_hash,
        int(r["status"], 16) == 1,
        int(r["gasUsed"], 16),
        int(r["blockNumber"], 16),
        tuple({"address": lg["address"], "topics": [bytes.fromhex(t[2:]) for t in lg["topics"]],
               "data": bytes.fromhex(lg["data"][2:])} for lg in r.get("logs", ())),
    )


def sign_type2(key: Any, chain_id: int, nonce: int, to: str | None, data: bytes, gas: int,
               value: int = 0, max_fee: int = 0) -> bytes:
    """A raw signed EIP-1559 (type-2) transaction, priority fee 0, no access list.

    Byte-identical to ``eth_account.Account.sign_transaction`` of the same
    fields (both sign the same keccak digest with libsecp256k1's deterministic,
    low-s RFC 6979 nonces), at a fraction of its cost:
    ``0x02 || rlp([chainId, nonce, 0, maxFee, gas, to, value, data, [], yParity, r, s])``.

    Parameters
    ----------
    key : coincurve.PrivateKey
        The sender's key.
    to : str or None
        Hex address, or None for a contract creation.
    max_fee : int
        Max fee per gas (wei); 0 where the base fee is 0.
    """
    import rlp
    from eth_hash.auto import keccak

    fields = [chain_id, nonce, 0, max_fee, gas, b"" if to is None else bytes.fromhex(to[2:]), value, data, []]
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
        measured on a 2-core machine); the keys never change after genesis, so cache it.
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
