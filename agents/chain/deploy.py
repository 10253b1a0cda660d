"""Deploy the bytecoin token and the market for one economy.

The whole bytecoin supply ``Σ m_i`` is minted once, in the token's
constructor, into the market's custody (its address is known in advance: the
keeper's next-but-one contract), and the market credits each agent's internal
account at registration. Agents can `withdraw` to their own ERC-20 balance and
`deposit` back. The token's monetary authority (the only address that may mint
after genesis) is fixed here, at deployment: none by default (the supply is
then fixed forever). Why custody: an order then moves bytecoins between internal
accounts, not through a cross-contract ERC-20 call (docs/chain.md).
"""

from __future__ import annotations

from .backend import Chain
from .client import MarketClient, gas_limit
from .compiler import load_artifacts
from .config import MarketConfig

#: Standard agents registered per transaction (≈ 70k gas each).
REGISTER_BATCH = 100


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract ``sender`` creates with ``nonce`` (CREATE)."""
    import rlp
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


#: the zero address: a token without a monetary authority (nobody can mint after genesis)
ZERO_ADDRESS = "0x" + "00" * 20


def deploy_market(chain: Chain, config: MarketConfig, start: bool = True,
                  authority: str | None = None) -> MarketClient:
    """Deploy token and market for ``config``, register every agent, open round 0.

    The market is ``Market``, or ``SealedMarket`` when ``config.mode`` is "sealed".

    Parameters
    ----------
    chain : Chain
    config : MarketConfig
    start : bool
        False stops before ``start()`` (registration still open; for tests).
    authority : str, optional
        The token's monetary authority (an address; ``None``: the zero address,
        no mint after genesis, ever).

    Returns
    -------
    MarketClient
        The typed client (agents.chain.client).
    """
    from eth_abi import encode

    config.validate()
    art = load_artifacts()
    keeper = chain.keeper
    block_gas = int(chain.w3.eth.get_block("latest")["gasLimit"])
    supply = sum(s.bytecoins for s in config.standard) + sum(p.bytecoins for p in config.producers)
    nonce = chain.nonce(keeper)
    market_address = create_address(keeper.address, nonce + 1)
    token_address = create_address(keeper.address, nonce)
    chain.send(keeper, None,
               art["Bytecoin"].bytecode + encode(["address[]", "uint256[]", "address"],
                                                    [[market_address], [supply], authority or ZERO_ADDRESS]),
               gas=3_000_000)
    args = [token_address, config.T, config.round_duration, len(config.producers)]
    if config.sealed:  # SealedMarket: the reveal phase's length too
        args.append(config.reveal_duration)
    chain.send(keeper, None,
               art["SealedMarket" if config.sealed else "Market"].bytecode
               + encode(["address"] + ["uint256"] * (len(args) - 1), args),
               gas=gas_limit("deploy Market", config.T, block_gas))
    client = MarketClient(chain, config, market_address, token_address, art)
    for i in range(0, len(config.standard), REGISTER_BATCH):
        batch = config.standard[i:i + REGISTER_BATCH]
        client.transact(keeper, "registerStandard",
                        [[s.address for s in batch], [s.omega for s in batch], [s.bytecoins for s in batch]],
                        gas=200_000 + 100_000 * len(batch))
    for p in config.producers:
        client.transact(keeper, "registerProducer",
                        [p.address, p.bytecoins, p.stock, p.c, p.capacity or 0, p.rho, list(p.theta)],
                        gas=gas_limit("registerProducer", config.T, block_gas))
    # the agents were registered just now: none has an order to settle yet
    client.mark_fresh([s.address for s in config.standard] + [p.address for p in config.producers])
    if start:
        client.transact(keeper, "start", [], gas=200_000)
    return client
