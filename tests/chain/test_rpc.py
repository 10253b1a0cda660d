"""The JSON-RPC path of ``agents.chain.backend.Chain`` on a real node (a managed Anvil).

One test per defect of issue 12 (D2–D8), each against Anvil itself or, where
another node's behaviour is the point (Hardhat's -32603 on a mined revert, a
node without ``evm_snapshot``), against Anvil behind a transport that answers
as that node does. Everything here skips, saying why, only when the anvil
binary is absent (``npm ci`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agents.chain.backend import Chain, Reverted, derive_accounts
from agents.chain.errors import ChainError
from agents.chain.rpc import RpcError, Transport, connect
from tests.conftest import TEST_T, make_config, need_anvil

#: init code that reverts with the 4 bytes 0xdeadbeef: PUSH4 deadbeef PUSH1 0xe0 SHL
#: PUSH1 0 MSTORE PUSH1 4 PUSH1 0 REVERT
REVERTING_INIT = bytes.fromhex("63deadbeef60e01b60005260046000fd")


@pytest.fixture
def node(anvil_node):  # type: ignore[no-untyped-def]
    return anvil_node


def rpc_chain(endpoint: str, n: int = 8, seed: str = "rpc", **kw: Any) -> Chain:
    return Chain.rpc(endpoint, derive_accounts(n, seed), derive_accounts(1, f"{seed}:keeper")[0], **kw)


@pytest.fixture
def chain_rpc(node) -> Iterator[Chain]:  # type: ignore[no-untyped-def]
    c = rpc_chain(node.endpoint, fixed_block_interval=True)
    snap = c.snapshot()
    try:
        yield c
    finally:
        c.revert(snap)
        c.close()


class Pretend(Transport):
    """Anvil behind a transport that answers some methods as another node would."""

    def __init__(self, inner: Transport, refuse: tuple[str, ...] = (), hardhat: bool = False,
                 answers: dict[str, Any] | None = None) -> None:
        super().__init__(inner.url)
        self.inner, self.refuse, self.hardhat, self.answers = inner, refuse, hardhat, answers or {}
        self.calls: list[str] = []

    def raw(self, method: str, params: Any) -> dict[str, Any]:
        self.calls.append(method)
        if method in self.refuse:
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": f"Method {method} not found"}}
        if method in self.answers:
            return {"jsonrpc": "2.0", "id": 1, "result": self.answers[method]}
        out = self.inner.raw(method, params)
        if self.hardhat and method == "eth_sendRawTransaction" and "result" in out:
            # Hardhat 2 (throwOnTransactionFailures): the reverted transaction is mined, the
            # answer is error -32603 whose data is a dict holding the revert data
            rcpt = self.inner.request("eth_getTransactionReceipt", [out["result"]])
            if rcpt is not None and int(rcpt["status"], 16) == 0:
                trace = self.inner.request("debug_traceTransaction", [out["result"], {"tracer": "callTracer"}])
                return {"jsonrpc": "2.0", "id": 1, "error": {
                    "code": -32603, "message": "Error: VM Exception while processing transaction",
                    "data": {"message": "reverted", "data": trace.get("output", "0x")}}}
        if self.hardhat and method == "eth_call" and "error" in out:
            err = out["error"]
            out = {**out, "error": {**err, "data": {"message": err.get("message"), "data": err.get("data")}}}
        return out

    def request(self, method: str, params: Any = ()) -> Any:
        out = self.raw(method, list(params))
        if out.get("error") is not None:
            e = out["error"]
            raise RpcError(method, e["code"], e["message"], e.get("data"))
        return out.get("result")

    def batch(self, calls: Any) -> list[Any]:
        out: list[Any] = []
        for m, params in calls:
            try:
                out.append(self.request(m, params))
            except RpcError as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        self.inner.close()


def pretend_chain(node, **kw: Any) -> tuple[Chain, Pretend]:  # type: ignore[no-untyped-def]
    from web3 import Web3

    from agents.chain.rpc import provider

    tr = Pretend(connect(node.url), **kw)
    accounts = derive_accounts(8, "rpc")
    c = Chain(Web3(provider(tr)), accounts, derive_accounts(1, "rpc:keeper")[0], transport=tr)
    c.url = node.url
    c.revert_data_method = "trace"
    return c, tr


# ---------------------------------------------------------------- the node itself

def test_managed_anvil_is_the_pinned_prague_zero_fee_node(node) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    pinned = json.loads((Path(__file__).resolve().parents[2] / "package.json").read_text())
    assert node.version == pinned["dependencies"]["@foundry-rs/anvil"]
    c = rpc_chain(node.url)
    assert c.hardfork == "prague" and c.client_version.startswith("anvil/")
    assert c.max_fee == 0 and c.revert_data_method == "trace"
    c.close()


def test_a_stopped_node_is_gone() -> None:
    from agents.chain.node import start_anvil

    need_anvil()
    with start_anvil() as n:
        url = n.url
        assert connect(url).request("eth_blockNumber") == "0x0"
    assert not n.running()
    with pytest.raises(ChainError, match="no Ethereum JSON-RPC node answers"):
        rpc_chain(url)


@pytest.mark.parametrize("scheme", ["http", "ws", "ipc"])
def test_every_transport_gives_the_same_gas(node, scheme: str, artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    endpoint = {"http": node.url, "ws": node.url.replace("http://", "ws://"), "ipc": node.ipc_path}[scheme]
    c = rpc_chain(endpoint, fixed_block_interval=True)
    snap = c.snapshot()
    try:
        m = deploy_market(c, make_config(c))
        r = m.order(c.accounts[0], [10**18] * (TEST_T + 1))
        local = Chain.local(8, seed="rpc")
        ml = deploy_market(local, make_config(local))
        assert r.receipt.gas_used == ml.order(local.accounts[0], [10**18] * (TEST_T + 1)).receipt.gas_used
    finally:
        c.revert(snap)
        c.close()


# ---------------------------------------------------------------- D2: the receipt wait

def test_d2_anvil_sends_synchronously_and_a_node_without_it_is_polled(node, artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    c = rpc_chain(node.endpoint, fixed_block_interval=True)
    snap = c.snapshot()
    deploy_market(c, make_config(c))
    assert c._sync_send is True
    c.revert(snap)
    c.close()
    p, tr = pretend_chain(node, refuse=("eth_sendRawTransactionSync",))
    snap = p.snapshot()
    m = deploy_market(p, make_config(p))
    assert p._sync_send is False and "eth_getTransactionReceipt" in tr.calls
    assert m.order(p.accounts[0], [10**18] * (TEST_T + 1)).receipt.status
    p.revert(snap)


# ---------------------------------------------------------------- D3, D4: exact revert data

def test_d3_a_block_dependent_error_is_named_from_the_transactions_trace(chain_rpc, artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    m = deploy_market(chain_rpc, make_config(chain_rpc))
    chain_rpc.travel_to(m.current_round().deadline)
    with pytest.raises(Reverted) as exc:
        m.order(chain_rpc.accounts[0], [10**18] * (TEST_T + 1))
    # a replay at block - 1 would run with an earlier timestamp and not revert at all
    assert exc.value.name == "LateOrder" and exc.value.receipt is not None
    assert exc.value.receipt.gas_used > 21_000


@pytest.mark.parametrize("backend", ["eth-tester", "anvil"])
def test_d4_a_failed_creation_carries_its_revert_data(backend: str, request) -> None:  # type: ignore[no-untyped-def]
    c = (Chain.local(2, seed="rpc") if backend == "eth-tester"
         else rpc_chain(request.getfixturevalue("anvil_node").endpoint))
    with pytest.raises(Reverted) as exc:
        c.send(c.keeper, None, REVERTING_INIT, gas=200_000)
    assert exc.value.data == bytes.fromhex("deadbeef") and exc.value.receipt is not None
    c.close()


# ---------------------------------------------------------------- D5: Hardhat's answers

def test_d5_a_mined_revert_answered_with_an_error_keeps_receipt_gas_and_name(node, artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    p, tr = pretend_chain(node, refuse=("eth_sendRawTransactionSync", "debug_traceTransaction"), hardhat=True)
    snap = p.snapshot()
    try:
        m = deploy_market(p, make_config(p))
        outsider = p.accounts[7]
        nonce = p.nonce(outsider)
        with pytest.raises(Reverted) as exc:
            m.order(outsider, [0] * (TEST_T + 1))
        assert exc.value.name == "UnknownAgent" and exc.value.receipt is not None
        assert exc.value.receipt.gas_used > 21_000 and p.nonce(outsider) == nonce + 1
        # a reverting view: the error's data is a dict holding the revert data
        with pytest.raises(Reverted) as view:
            m.view("closedRound", [99])
        assert view.value.data[:4] != b"" and view.value.name
    finally:
        p.revert(snap)


def test_d5_a_refused_transaction_is_a_chain_error_and_its_nonce_is_reread(chain_rpc) -> None:  # type: ignore[no-untyped-def]
    a = chain_rpc.accounts[0]
    with pytest.raises(ChainError, match="refused") as exc:
        chain_rpc.send(a, a.address, b"", 1_000)  # gas below the intrinsic 21,000: never mined
    assert not isinstance(exc.value, Reverted)
    assert chain_rpc.nonce(a) == 0
    assert chain_rpc.send(a, a.address, b"", 21_000).status


# ---------------------------------------------------------------- D6: node answers checked

def test_d6_a_snapshot_id_reverts_twice_and_a_used_node_snapshot_is_an_error(chain_rpc) -> None:  # type: ignore[no-untyped-def]
    a = chain_rpc.accounts[0]
    snap = chain_rpc.snapshot()
    for _ in range(2):
        chain_rpc.send(a, a.address, b"", 21_000)
        assert chain_rpc.nonce(a) == 1
        chain_rpc.revert(snap)
        assert chain_rpc.nonce(a) == 0
    # the node's own id, used up: it answers false, and emg says so
    chain_rpc._snapshots[999] = chain_rpc._snapshots[snap]
    chain_rpc.revert(snap)
    with pytest.raises(ChainError, match="evm_revert answered False"):
        chain_rpc.revert(999)
    with pytest.raises(ChainError, match="unknown snapshot"):
        chain_rpc.revert(12345)


def test_d6_a_node_without_evm_snapshot_is_a_clear_error(node) -> None:  # type: ignore[no-untyped-def]
    p, _ = pretend_chain(node, refuse=("evm_snapshot",))
    with pytest.raises(ChainError, match="cannot take snapshots.*evm_snapshot"):
        p.snapshot()


def test_d6_time_travel_moves_forward_and_a_refusal_is_an_error(chain_rpc, node) -> None:  # type: ignore[no-untyped-def]
    a = chain_rpc.accounts[0]
    now = chain_rpc.now()
    chain_rpc.travel_to(now + 1000)
    assert chain_rpc.pending_time() == now + 1000
    chain_rpc.send(a, a.address, b"", 21_000)
    assert chain_rpc.now() == now + 1000
    chain_rpc.travel_to(now)  # the past: the chain is already later, nothing happens
    chain_rpc.send(a, a.address, b"", 21_000)
    assert chain_rpc.now() == now + 1001
    p, _ = pretend_chain(node, refuse=("evm_setNextBlockTimestamp",))
    with pytest.raises(ChainError, match="refused evm_setNextBlockTimestamp"):
        p.travel_to(p.now() + 10_000)


# ---------------------------------------------------------------- D8: logs past the head

@pytest.mark.parametrize("backend", ["eth-tester", "anvil"])
def test_d8_events_past_the_head_are_empty(backend: str, request, artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market

    c = (Chain.local(8, seed="rpc") if backend == "eth-tester"
         else rpc_chain(request.getfixturevalue("anvil_node").endpoint))
    snap = c.snapshot()
    m = deploy_market(c, make_config(c))
    head = c.block_number()
    assert m.events(head + 5) == []
    assert len(m.events(0)) > 0
    c.revert(snap)
    c.close()


# ---------------------------------------------------------------- base fee

def test_a_node_with_a_base_fee_is_signed_above_it_with_the_same_gas(artifacts) -> None:  # type: ignore[no-untyped-def]
    from agents.chain.deploy import deploy_market
    from agents.chain.node import start_anvil

    need_anvil()
    with start_anvil(base_fee=10**9) as n:
        c = rpc_chain(n.url)
        assert c.max_fee >= 2 * 10**9 - 1  # twice the base fee (it moves down on empty blocks)
        m = deploy_market(c, make_config(c))
        got = m.order(c.accounts[0], [10**18] * (TEST_T + 1)).receipt.gas_used
        local = Chain.local(8, seed="rpc")
        want = deploy_market(local, make_config(local)).order(local.accounts[0], [10**18] * (TEST_T + 1))
        assert got == want.receipt.gas_used
        c.close()


def test_a_base_fee_without_a_way_to_fund_fails_before_deploying(node) -> None:  # type: ignore[no-untyped-def]
    p, tr = pretend_chain(node, refuse=("anvil_setBalance", "hardhat_setBalance"),
                          answers={"eth_getBlockByNumber": {"baseFeePerGas": "0x7", "timestamp": "0x1"}})
    with pytest.raises(ChainError, match=r"^backend: the node's base fee is 7 wei and account 0x\w+ holds no ether"):
        p._prepare_fees(10**18)
    assert "eth_sendRawTransaction" not in tr.calls and "eth_sendRawTransactionSync" not in tr.calls


# ---------------------------------------------------------------- a round pipelined

def _play_rounds(c: Chain, small_blocks: int | None = None) -> tuple[list[Any], list[list[int]]]:
    """Two rounds of ``order_all`` with reverts (unknown agent, second order, late order) on ``c``:
    each outcome (error name or None, gas) and each round's block numbers."""
    from agents.chain.deploy import deploy_market

    m = deploy_market(c, make_config(c))
    acc = c.accounts
    bids = [10**18] * (TEST_T + 1)
    outcomes: list[Any] = []
    blocks: list[list[int]] = []

    def play(orders: list[Any]) -> None:
        res = m.order_all([(a, bids, ()) for a in orders])
        outcomes.extend((getattr(r, "name", None), (r.receipt.gas_used if r.receipt is not None else None))
                        for r in res)
        blocks.append([r.receipt.block_number for r in res if r.receipt is not None])

    play([acc[0], acc[1], acc[5], acc[0], acc[2]])  # UnknownAgent, AlreadyOrdered
    c.travel_to(m.current_round().deadline)
    m.close()
    if small_blocks is not None and not c.is_local:
        c._block_gas_limit = small_blocks * m.order_gas  # two orders a block: runs cut in blocks
    play([acc[1], acc[0], acc[6]])  # the first two settle their previous orders; UnknownAgent
    c.travel_to(m.current_round().deadline)
    play([acc[2], acc[1]])  # LateOrder, block-dependent: named from the transaction's own trace
    return outcomes, blocks


def test_a_pipelined_round_is_mined_in_blocks_of_many_with_one_by_one_gas(node, artifacts) -> None:  # type: ignore[no-untyped-def]
    local = Chain.local(8, seed="rpc")
    want, local_blocks = _play_rounds(local)
    assert [n for n, _ in want] == [None, None, "UnknownAgent", "AlreadyOrdered", None,
                                    None, None, "UnknownAgent", "LateOrder", "LateOrder"]
    assert want[5][1] != want[6][1]  # order matters: the round's first order pays more
    assert all(len(set(b)) == len(b) for b in local_blocks)  # eth-tester: one transaction a block
    c = rpc_chain(node.endpoint, fixed_block_interval=True, pipeline=True)
    snap = c.snapshot()
    try:
        got, blocks = _play_rounds(c, small_blocks=2)
    finally:
        c.revert(snap)
        c.close()
    assert got == want  # the same outcome and the same gas, transaction by transaction
    first = blocks[0][0]
    assert blocks[0] == [first] * 5  # round 0 in one block
    # round 1 cut into blocks of two orders' gas limits; the late orders after the time travel
    assert blocks[1] == [first + 2, first + 2, first + 3] and blocks[2] == [first + 4] * 2


class Swapping(Pretend):
    """Anvil behind a transport that delivers the first two sends in reverse order (a pool that
    sorts a block's transactions its own way)."""

    held: Any = None

    def raw(self, method: str, params: Any) -> dict[str, Any]:
        if method == "eth_sendRawTransaction" and self.held is None and params != ["sent"]:
            self.held = params
            from eth_hash.auto import keccak

            return {"jsonrpc": "2.0", "id": 1, "result": "0x" + keccak(bytes.fromhex(params[0][2:])).hex()}
        out = super().raw(method, params)
        if method == "eth_sendRawTransaction" and self.held not in (None, "sent"):
            super().raw(method, self.held)
            self.held = "sent"
        return out


def test_a_round_mined_out_of_the_order_sent_is_an_error(node, artifacts) -> None:  # type: ignore[no-untyped-def]
    from web3 import Web3

    from agents.chain.deploy import deploy_market
    from agents.chain.rpc import provider

    c = rpc_chain(node.endpoint, fixed_block_interval=True)
    snap = c.snapshot()
    try:
        m = deploy_market(c, make_config(c))
        tr = Swapping(connect(node.endpoint))
        s = Chain(Web3(provider(tr)), c.accounts, c.keeper, transport=tr)
        s.pipeline, s.revert_data_method = True, "trace"
        with pytest.raises(ChainError, match="out of the order sent"):
            s.send_all([(a, m.market_address, m.encode_order(a, [10**18] * (TEST_T + 1), (), 0), m.order_gas)
                        for a in c.accounts[:3]])
        assert c._rpc.request("anvil_getAutomine") is True  # automine is back on after the error
        tr.close()
    finally:
        c.revert(snap)
        c.close()
