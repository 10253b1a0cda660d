"""What the contract enforces, fixed at deployment: the market's configuration
in the contract's integer units (wad quantities, wei bytecoins).

Kept apart from :mod:`agents.chain.deploy` and :mod:`agents.chain.client`,
which both use it, so neither has to import the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ChainError
from .fixedpoint import MAX_AMOUNT

#: The contract's bound on the number of producers (its producer index is 16 bits).
MAX_PRODUCERS = 65_535
#: The last round the contract's 32-bit round counter opens (2^32 - 2).
MAX_ROUND = 2**32 - 2
#: The market modes: "plain" (Market: one public order per agent and round) and
#: "sealed" (SealedMarket: each round's orders committed, then revealed).
MARKET_MODES = ("plain", "sealed")

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
    #: "plain" or "sealed" (:data:`MARKET_MODES`)
    mode: str = "plain"
    #: sealed mode: seconds of the reveal phase at the end of each round (1 ≤ it < round_duration)
    reveal_duration: int = 0

    @property
    def sealed(self) -> bool:
        """Whether the market takes sealed (commit–reveal) orders."""
        return self.mode == "sealed"

    def validate(self) -> None:
        """Raise ChainError naming the field if the contract would reject the config."""
        if not 1 <= self.T <= 700:
            raise ChainError(f"MarketConfig.T must be in [1, 700], got {self.T}")
        if self.round_duration <= 0:
            raise ChainError(f"MarketConfig.round_duration must be > 0, got {self.round_duration}")
        if self.mode not in MARKET_MODES:
            raise ChainError(f"MarketConfig.mode must be one of {', '.join(MARKET_MODES)}, got {self.mode!r}")
        if self.sealed and not 1 <= self.reveal_duration < self.round_duration:
            raise ChainError(f"MarketConfig.reveal_duration must be in [1, round_duration) s in sealed mode, "
                             f"got {self.reveal_duration}")
        if not self.standard and not self.producers:
            raise ChainError("MarketConfig: no agents")
        if len(self.producers) > MAX_PRODUCERS:
            raise ChainError(f"MarketConfig.producers: at most {MAX_PRODUCERS} (a 16-bit index), "
                             f"got {len(self.producers)}")
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
