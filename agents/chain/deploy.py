"""Deploy the bytecoin token and the market for one economy.

The whole bytecoin supply ``Σ m_i`` is minted once, in the token's
constructor, into the market's custody (its address is known in advance: the
keeper's next-but-one contract), and the market credits each agent's internal
account at registration. Agents can `withdraw` to their own ERC-20 balance and
`deposit` back. Why custody: an order then moves bytecoins between internal
accounts, not through a cross-contract ERC-20 call (docs/chain.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from market.errors import ChainError

from .backend import Chain

if TYPE_CHECKING:  # pragma: no cover
    from .market import MarketClient

#: Standard agents registered per transaction (≈ 70k gas each).
REGISTER_BATCH = 100
#: Bound on bytecoin amounts, quantities and per-post totals enforced by the contract (2^84 - 1).
MAX_AMOUNT = (1 << 84) - 1


@dataclass(frozen=True)
class StandardSpec:
    """A standard agent: ω (wad) sold whole on post 0 with every order; m (wei)."""

    address: str
    omega: int
    bytecoins: int


@dataclass(frozen=True)
class ProducerSpec:
    """A producer: technology q = θ^t·φ^c (wad), capacity K (None: long run), ρ, stock, m.

    Attributes
    ----------
    theta : tuple of int
        θ_j (one value) or θ_j^t for t = 1..T, wad.
    c : int
        Returns-to-scale exponent, wad, in [0.1, 100].
    capacity : int or None
        K_j (wad) in the short run; None in the long run (no exogenous K).
    rho : int
        ρ_j (wad): the long-run input adds ρ·max_t q^t; 0 in the short run.
    stock : int
        Initial stock of the good (wad).
    bytecoins : int
        Initial balance (wei).
    """

    address: str
    theta: tuple[int, ...]
    c: int
    capacity: int | None
    rho: int
    stock: int
    bytecoins: int


@dataclass(frozen=True)
class MarketConfig:
    """Everything the contract enforces, fixed at deployment."""

    T: int
    round_duration: int
    standard: tuple[StandardSpec, ...]
    producers: tuple[ProducerSpec, ...]

    def validate(self) -> None:
        """Raise ChainError naming the field if the contract would reject the config."""
        if not 1 <= self.T <= 700:
            raise ChainError(f"MarketConfig.T must be in [1, 700], got {self.T}")
        if self.round_duration <= 0:
            raise ChainError(f"MarketConfig.round_duration must be > 0, got {self.round_duration}")
        if not self.standard and not self.producers:
            raise ChainError("MarketConfig: no agents")
        seen: set[str] = set()
        for i, s in enumerate(self.standard):
            if not 0 < s.omega <= MAX_AMOUNT:
                raise ChainError(f"standard[{i}].omega must be in (0, 2^84] wad, got {s.omega}")
            if s.bytecoins < 0:
                raise ChainError(f"standard[{i}].bytecoins must be >= 0, got {s.bytecoins}")
            seen.add(s.address.lower())
        for i, p in enumerate(self.producers):
            if len(p.theta) not in (1, self.T) or any(not 0 < th <= MAX_AMOUNT for th in p.theta):
                raise ChainError(f"producers[{i}].theta must be 1 or T values in (0, 2^84], got {p.theta}")
            if not 10**17 <= p.c <= 100 * 10**18:
                raise ChainError(f"producers[{i}].c must be in [0.1, 100] wad, got {p.c}")
            if p.capacity is not None and not 0 < p.capacity <= MAX_AMOUNT:
                raise ChainError(f"producers[{i}].capacity must be in (0, 2^84] or None, got {p.capacity}")
            if p.capacity is None and p.rho <= 0:
                raise ChainError(f"producers[{i}].rho must be > 0 in the long run (capacity None)")
            for name in ("rho", "stock", "bytecoins"):
                v = getattr(p, name)
                if not 0 <= v <= MAX_AMOUNT:
                    raise ChainError(f"producers[{i}].{name} must be in [0, 2^84], got {v}")
            if p.address.lower() in seen:
                raise ChainError(f"producers[{i}].address {p.address} is registered twice")
            seen.add(p.address.lower())
        if len(seen) != len(self.standard) + len(self.producers):
            raise ChainError("MarketConfig: an address is registered twice")
        supply = sum(s.bytecoins for s in self.standard) + sum(p.bytecoins for p in self.producers)
        if supply > MAX_AMOUNT:
            raise ChainError(f"MarketConfig: bytecoin supply {supply} wei is above 2^84")


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract ``sender`` creates with ``nonce`` (CREATE)."""
    import rlp
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def deploy_market(chain: Chain, config: MarketConfig, start: bool = True) -> "MarketClient":
    """Deploy token and market for ``config``, register every agent, open round 0.

    Parameters
    ----------
    chain : Chain
    config : MarketConfig
    start : bool
        False stops before ``start()`` (registration still open; for tests).

    Returns
    -------
    MarketClient
        The typed client (agents.chain.market).
    """
    from eth_abi import encode

    from .compiler import compile_contracts
    from .market import MarketClient

    config.validate()
    art = compile_contracts()
    keeper = chain.keeper
    supply = sum(s.bytecoins for s in config.standard) + sum(p.bytecoins for p in config.producers)
    nonce = chain.nonce(keeper)
    market_address = create_address(keeper.address, nonce + 1)
    token_address = create_address(keeper.address, nonce)
    chain.send(keeper, None,
               art["Bytecoin"].bytecode + encode(["address[]", "uint256[]"], [[market_address], [supply]]),
               gas=3_000_000)
    chain.send(keeper, None,
               art["Market"].bytecode + encode(["address", "uint256", "uint256"],
                                               [token_address, config.T, config.round_duration]),
               gas=min(29_000_000, 6_000_000 + 23_000 * (config.T + 2)))
    client = MarketClient(chain, config, market_address, token_address, art)
    for i in range(0, len(config.standard), REGISTER_BATCH):
        batch = config.standard[i:i + REGISTER_BATCH]
        client.transact(keeper, "registerStandard",
                        [[s.address for s in batch], [s.omega for s in batch], [s.bytecoins for s in batch]],
                        gas=200_000 + 100_000 * len(batch))
    for p in config.producers:
        client.transact(keeper, "registerProducer",
                        [p.address, p.bytecoins, p.stock, p.c, p.capacity or 0, p.rho, list(p.theta)],
                        gas=1_000_000 + 30_000 * config.T)
    # the agents were registered just now: none has an order to settle yet
    client.mark_fresh([s.address for s in config.standard] + [p.address for p in config.producers])
    if start:
        client.transact(keeper, "start", [], gas=200_000)
    return client
