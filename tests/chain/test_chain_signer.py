"""The fast local signer (coincurve + rlp) gives eth_account's bytes exactly."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from eth_account import Account as EthAccount

from agents.chain.backend import derive_accounts, sign_type2


@pytest.mark.parametrize("k,to,data,gas,value,nonce,chain_id", [
    (0, "0x8ba1f109551bD432803012645Ac136ddd64DBA72", b"", 21_000, 0, 0, 131277322940537),
    (1, "0x5FbDB2315678afecb367f032d93F642f64180aa3", bytes(range(200)), 1_000_000, 7, 12, 1),
    (2, None, b"\x60\x80\x60\x40" * 50, 3_000_000, 0, 300, 131277322940537),
    (3, "0x" + "00" * 20, b"\x00\x01", 2**32, 10**18, 2**40, 5),
])
def test_sign_type2_matches_eth_account(k: int, to: str | None, data: bytes, gas: int, value: int,
                                        nonce: int, chain_id: int) -> None:
    acct = derive_accounts(4, seed=7)[k]
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "gas": gas, "maxFeePerGas": 0,
          "maxPriorityFeePerGas": 0, "value": value, "data": data}
    if to is not None:
        tx["to"] = to
    expected = bytes(EthAccount.sign_transaction(tx, acct.key).raw_transaction)
    assert sign_type2(PrivateKey(acct.key), chain_id, nonce, to, data, gas, value) == expected


def test_local_receipt_equals_eth_testers() -> None:
    """The receipt built from py-evm's result reads as eth-tester's own receipt
    (status, gasUsed, block number, logs), for a success with a log and a revert."""
    from agents.chain.backend import Chain, Reverted

    chain = Chain.local(2, seed=3)
    a, b = chain.accounts
    topic = bytes(range(32))
    emit = b"\x7f" + topic + b"\x60\x04\x60\x00\xa1\x00"  # LOG1(mem[0:4], topic); STOP
    got = [chain.send(a, None, emit, 200_000), chain.send(b, a.address, b"", 21_000, value=5)]
    with pytest.raises(Reverted) as info:
        chain.send(a, None, b"\x60\x00\x60\x00\xfd", 100_000)  # REVERT(0, 0)
    assert info.value.receipt is not None
    got.append(info.value.receipt)
    assert got[0].logs and got[0].logs[0]["topics"] == [topic] and got[0].logs[0]["data"] == bytes(4)
    assert [r.status for r in got] == [True, True, False]
    for rec in got:
        r = chain._tester.get_transaction_receipt("0x" + rec.tx_hash.hex())
        logs = tuple({"address": lg["address"], "topics": [bytes.fromhex(t[2:]) for t in lg["topics"]],
                      "data": bytes.fromhex(lg["data"][2:])} for lg in r["logs"])
        assert (rec.status, rec.gas_used, rec.block_number, rec.logs) == (
            bool(r["status"]), int(r["gas_used"]), int(r["block_number"]), logs)


def test_a_block_more_than_half_full_does_not_lock_the_local_chain_out() -> None:
    """py-evm raises the base fee from 0 to 1 wei for good after a block above half the gas
    limit (a deployment at large T comes close); agents sign LOCAL_MAX_FEE, so the next
    transactions still go through, with the same gas used, paying 1 wei a gas."""
    from agents.chain.backend import LOCAL_MAX_FEE, Chain, Reverted

    chain = Chain.local(2, seed=5)
    a, b = chain.accounts
    w3 = chain.w3
    limit = int(w3.eth.get_block("latest")["gasLimit"])
    before = chain.send(b, a.address, b"", 21_000, value=1)
    assert int(w3.eth.get_block(before.block_number)["baseFeePerGas"]) == 0
    with pytest.raises(Reverted):  # a creation that loops until out of gas: uses all its gas
        chain.send(a, None, b"\x5b\x60\x00\x56", limit // 2 + 100_000)  # JUMPDEST; PUSH1 0; JUMP
    assert int(w3.eth.get_block("pending")["baseFeePerGas"]) == 1
    balance = w3.eth.get_balance(b.address)
    after = chain.send(b, a.address, b"", 21_000, value=1)
    assert after.gas_used == before.gas_used == 21_000
    assert balance - w3.eth.get_balance(b.address) == 1 + 21_000 * 1  # the value, 1 wei a gas
    assert chain.max_fee == LOCAL_MAX_FEE
