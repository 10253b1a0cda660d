"""The bytecoin ERC-20: genesis supply minted at construction, transfers,
allowances, custom errors by name and data, Transfer/Approval events; the
monetary authority fixed at deployment, the only address that may mint later
(none: nobody ever can), every mint an event, the supply bounded by 2^84 − 1."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from tests.conftest import WAD

ZERO = "0x" + "00" * 20


def _deploy(chain, artifacts, authority: str = ZERO):  # type: ignore[no-untyped-def]
    from agents.chain.deploy import create_address
    from agents.chain.events import AbiCodec

    holders = chain.accounts[-3:]
    address = create_address(chain.keeper.address, chain.nonce(chain.keeper))
    receipt = chain.send(chain.keeper, None, artifacts["Bytecoin"].bytecode + encode(
        ["address[]", "uint256[]", "address"], [[h.address for h in holders], [10 * WAD, 20 * WAD, 0], authority]),
        gas=3_000_000)
    return Token(chain, address, AbiCodec(artifacts["Bytecoin"].abi), holders, receipt)


@pytest.fixture
def token(chain, snapshot, artifacts):  # type: ignore[no-untyped-def]
    """A Bytecoin minted to three outsiders (10, 20, 0 bytecoins), no monetary authority, with a tiny client."""
    return _deploy(chain, artifacts)


@pytest.fixture
def minted(chain, snapshot, artifacts):  # type: ignore[no-untyped-def]
    """The same token with the third holder as its monetary authority."""
    return _deploy(chain, artifacts, chain.accounts[-1].address)


class Token:
    def __init__(self, chain, address, codec, holders, receipt):  # type: ignore[no-untyped-def]
        self.chain, self.address, self.codec, self.holders, self.deploy_receipt = chain, address, codec, holders, receipt

    def call(self, sig: str, types: list[str], args: list, out: list[str]):  # type: ignore[no-untyped-def]
        return decode(out, self.chain.call(self.address, keccak(text=sig)[:4] + encode(types, args)))

    def send(self, account, sig: str, types: list[str], args: list):  # type: ignore[no-untyped-def]
        from agents.chain.backend import Reverted

        try:
            return self.chain.send(account, self.address, keccak(text=sig)[:4] + encode(types, args), 100_000)
        except Reverted as exc:
            name, a = self.codec.decode_error(exc.data)
            raise Reverted(name, a, exc.data, exc.receipt) from None

    def balance(self, who: str) -> int:
        return self.call("balanceOf(address)", ["address"], [who], ["uint256"])[0]

    def logs(self, receipt):  # type: ignore[no-untyped-def]
        out = []
        for log in receipt.logs:
            item = self.codec.events[bytes(log["topics"][0])]
            idx = [to_checksum_address(t[12:]) for t in log["topics"][1:]]
            out.append((item["name"], *idx, *decode(["uint256"] * (len(log["data"]) // 32), log["data"])))
        return out


def expect(name: str, *args: object):  # type: ignore[no-untyped-def]
    from agents.chain.backend import Reverted

    class _Ctx:
        def __enter__(self):  # type: ignore[no-untyped-def]
            self.raises = pytest.raises(Reverted)
            self.info = self.raises.__enter__()
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            handled = self.raises.__exit__(*exc)
            assert self.info.value.name == name and self.info.value.error_args == args, self.info.value
            return handled

    return _Ctx()


def test_supply_is_minted_once_to_the_holders(token):  # type: ignore[no-untyped-def]
    a, b, c = token.holders
    assert token.call("totalSupply()", [], [], ["uint256"]) == (30 * WAD,)
    assert [token.balance(h.address) for h in token.holders] == [10 * WAD, 20 * WAD, 0]
    assert token.call("decimals()", [], [], ["uint8"]) == (18,)
    assert token.call("name()", [], [], ["string"]) == ("Bytecoin",)
    assert token.call("symbol()", [], [], ["string"]) == ("BYTE",)
    assert token.logs(token.deploy_receipt) == [
        ("Transfer", ZERO, a.address, 10 * WAD), ("Transfer", ZERO, b.address, 20 * WAD), ("Transfer", ZERO, c.address, 0)]


def test_transfer_moves_balances_and_emits(token):  # type: ignore[no-untyped-def]
    a, b, c = token.holders
    r = token.send(a, "transfer(address,uint256)", ["address", "uint256"], [c.address, 3 * WAD])
    assert token.logs(r) == [("Transfer", a.address, c.address, 3 * WAD)]
    assert (token.balance(a.address), token.balance(c.address)) == (7 * WAD, 3 * WAD)
    with expect("ERC20InsufficientBalance", a.address, 7 * WAD, 8 * WAD):
        token.send(a, "transfer(address,uint256)", ["address", "uint256"], [c.address, 8 * WAD])
    with expect("ERC20InvalidReceiver", ZERO):
        token.send(a, "transfer(address,uint256)", ["address", "uint256"], [ZERO, 1])
    assert sum(token.balance(h.address) for h in token.holders) == 30 * WAD


def test_allowances(token):  # type: ignore[no-untyped-def]
    a, b, c = token.holders
    r = token.send(a, "approve(address,uint256)", ["address", "uint256"], [c.address, 4 * WAD])
    assert token.logs(r) == [("Approval", a.address, c.address, 4 * WAD)]
    with expect("ERC20InsufficientAllowance", c.address, 4 * WAD, 5 * WAD):
        token.send(c, "transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                   [a.address, b.address, 5 * WAD])
    r = token.send(c, "transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                   [a.address, b.address, 3 * WAD])
    assert token.logs(r) == [("Transfer", a.address, b.address, 3 * WAD)]
    assert token.call("allowance(address,address)", ["address", "address"], [a.address, c.address],
                      ["uint256"]) == (WAD,)
    # an infinite allowance is not spent
    token.send(b, "approve(address,uint256)", ["address", "uint256"], [c.address, 2**256 - 1])
    token.send(c, "transferFrom(address,address,uint256)", ["address", "address", "uint256"],
               [b.address, c.address, WAD])
    assert token.call("allowance(address,address)", ["address", "address"], [b.address, c.address],
                      ["uint256"]) == (2**256 - 1,)
    with expect("ERC20InsufficientBalance", b.address, 22 * WAD, 23 * WAD):
        token.send(c, "transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                   [b.address, c.address, 23 * WAD])


def test_constructor_rejects_bad_holders(chain, snapshot, artifacts):  # type: ignore[no-untyped-def]
    from agents.chain.backend import Reverted
    from agents.chain.events import AbiCodec

    codec = AbiCodec(artifacts["Bytecoin"].abi)
    for holders, amounts, want in (
        ([chain.accounts[0].address], [1, 2], ("ERC20BadHolders", (1, 2))),
        ([ZERO], [1], ("ERC20InvalidReceiver", (ZERO,))),
    ):
        with pytest.raises(Reverted) as info:
            chain.send(chain.keeper, None, artifacts["Bytecoin"].bytecode + encode(
                ["address[]", "uint256[]", "address"], [holders, amounts, ZERO]), gas=3_000_000)
        assert codec.decode_error(info.value.data) == want


MAX_SUPPLY = (1 << 84) - 1


def _mint(token, sender, to: str, value: int):  # type: ignore[no-untyped-def]
    return token.send(sender, "mint(address,uint256)", ["address", "uint256"], [to, value])


def _supply(token) -> int:  # type: ignore[no-untyped-def]
    return token.call("totalSupply()", [], [], ["uint256"])[0]


def test_without_authority_nobody_can_mint(token, chain):  # type: ignore[no-untyped-def]
    """Zero authority: every caller (holders, the deployer, an outsider) is refused; supply fixed."""
    assert token.call("authority()", [], [], ["address"]) == (ZERO,)
    for who in (*token.holders, chain.keeper, chain.accounts[0]):
        with expect("NotAuthority", who.address, ZERO):
            _mint(token, who, who.address, 1)
    assert _supply(token) == 30 * WAD


def test_authority_alone_mints_and_each_mint_is_an_event(minted, chain):  # type: ignore[no-untyped-def]
    a, b, auth = minted.holders
    assert to_checksum_address(minted.call("authority()", [], [], ["address"])[0]) == auth.address
    for who in (a, b, chain.keeper, chain.accounts[0]):
        with expect("NotAuthority", who.address, auth.address):
            _mint(minted, who, a.address, WAD)
    r = _mint(minted, auth, a.address, 5 * WAD)
    assert minted.logs(r) == [("Transfer", ZERO, a.address, 5 * WAD), ("Minted", a.address, 5 * WAD, 35 * WAD)]
    assert (minted.balance(a.address), _supply(minted)) == (15 * WAD, 35 * WAD)
    with expect("ERC20InvalidReceiver", ZERO):
        _mint(minted, auth, ZERO, 1)
    # the supply may reach 2^84 - 1 and not one wei more
    with expect("SupplyCapExceeded", MAX_SUPPLY + 1, MAX_SUPPLY):
        _mint(minted, auth, b.address, MAX_SUPPLY - 35 * WAD + 1)
    _mint(minted, auth, b.address, MAX_SUPPLY - 35 * WAD)
    assert _supply(minted) == MAX_SUPPLY
    with expect("SupplyCapExceeded", MAX_SUPPLY + 1, MAX_SUPPLY):
        _mint(minted, auth, b.address, 1)
    assert sum(minted.balance(h.address) for h in minted.holders) == MAX_SUPPLY


@pytest.mark.parametrize("authority", [False, True])
def test_mint_before_and_after_the_market_starts(chain, snapshot, authority):  # type: ignore[no-untyped-def]
    """On a deployed market: nobody but the authority mints, before or after start; a minted
    and deposited bytecoin keeps the market's books (holdings = balances + escrow)."""
    from agents.chain.backend import Reverted
    from agents.chain.deploy import deploy_market
    from tests.conftest import make_config

    config = make_config(chain)
    auth = chain.accounts[-2] if authority else None
    m = deploy_market(chain, config, start=False, authority=auth.address if auth else None)
    agent = next(a for a in chain.accounts if a.address == config.standard[0].address)
    outsiders = [chain.keeper, agent, chain.accounts[-1]]
    supply = m.view("token.totalSupply")[0]
    for started in (False, True):
        if started:
            m.transact(chain.keeper, "start", [], gas=200_000)
        for who in outsiders:
            with pytest.raises(Reverted) as info:
                m.transact(who, "token.mint", [agent.address, WAD], gas=100_000)
            assert (info.value.name, info.value.error_args) == (
                "NotAuthority", (who.address, auth.address if auth else ZERO))
        if auth is not None:
            m.transact(auth, "token.mint", [agent.address, 7 * WAD], gas=100_000)
            supply += 7 * WAD
        assert m.view("token.totalSupply")[0] == supply
    if auth is None:
        return
    before = m.agent(agent.address).balance
    m.deposit(agent, 14 * WAD)
    assert m.agent(agent.address).balance == before + 14 * WAD
    balances = sum(m.agent(s.address).balance for s in config.standard) + sum(
        m.agent(p.address).balance for p in config.producers)
    assert m.token_balance(m.market_address) == balances + m.escrow() == supply
