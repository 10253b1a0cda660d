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
