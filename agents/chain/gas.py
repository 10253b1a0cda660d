"""Gas measurements of the market's external functions (gas is electricity).

:func:`measure` runs a small fixed economy on a fresh local chain through
deployment, three rounds of orders, closes, claims, deposits and withdrawals,
and collects ``gasUsed`` from every receipt. The headline is the gas of a
*steady-state order*: an order in a round after the first, which also settles
the agent's previous round. ``scripts/bench.py gas`` prints it;
``.gas-snapshot.json`` stores it and ``tests/chain/test_gas_snapshot.py`` compares.

``measure(T, c, sealed=True)`` runs the same economy on the sealed-bid market
(``SealedMarket``): each order is a ``commit`` (which settles the previous order)
and a ``reveal``; its steady-state gas is the sum of the two.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .fixedpoint import WAD

#: The headline cases: (T, c) with c in wad; c = 1 skips the power function.
HEADLINE_CASES: tuple[tuple[int, int], ...] = ((1, WAD), (24, WAD), (1, 8 * WAD // 10), (24, 8 * WAD // 10))
#: The sealed-bid market's cases (the order path does not depend on c beyond the plain market's).
SEALED_CASES: tuple[tuple[int, int], ...] = ((1, WAD), (24, WAD))


@dataclass
class GasReport:
    """gasUsed per external function, and the steady-state order gas."""

    T: int
    c: int
    per_function: dict[str, list[int]] = field(default_factory=dict)
    #: measured on the sealed-bid market (a steady order = commit + reveal)
    sealed: bool = False
    steady_standard: int = 0
    steady_producer: int = 0

    def add(self, name: str, gas: int) -> None:
        self.per_function.setdefault(name, []).append(gas)

    def table(self) -> dict[str, dict[str, int]]:
        """{function: {min, median, max, n}} (median rounded down)."""
        return {
            k: {"min": min(v), "median": int(statistics.median(v)), "max": max(v), "n": len(v)}
            for k, v in sorted(self.per_function.items())
        }


def _bids(T: int, budget: int, salt: int) -> list[int]:
    """T + 1 bids summing to at most ``budget`` wei, with full-precision (realistic) digits."""
    weights = [(k + 2 + salt) * 7919 % 97 + 13 for k in range(T + 1)]
    total = sum(weights)
    return [budget * w // total for w in weights]


def measure(T: int, c: int = WAD, standard: int = 3, producers: int = 2, sealed: bool = False) -> GasReport:
    """Run the fixed gas economy with ``T`` periods and producers' exponent ``c`` (wad).

    ``sealed``: on the sealed-bid market, each order committed (escrow = its bids'
    total), then revealed once every agent has committed.

    Returns
    -------
    GasReport
        ``steady_standard`` / ``steady_producer`` are the medians of the
        orders of rounds 1 and 2 (each settles the previous round); sealed, of
        each agent's commit + reveal gas in those rounds.
    """
    from .backend import Account, Chain
    from .errors import ChainError
    from .config import MarketConfig, ProducerSpec, StandardSpec
    from .deploy import deploy_market
    from .events import pack_values

    chain = Chain.local(standard + producers, seed="gas")
    acc = chain.accounts
    theta = tuple(40 * WAD + 5 * WAD * t for t in range(T))
    config = MarketConfig(
        T=T,
        round_duration=3600,
        standard=tuple(StandardSpec(a.address, 100 * WAD + i * WAD // 3, 1000 * WAD) for i, a in enumerate(acc[:standard])),
        producers=tuple(
            ProducerSpec(a.address, theta, c, 2000 * WAD, 0, 100 * WAD, 1000 * WAD)
            for a in acc[standard:standard + producers]
        ),
        mode="sealed" if sealed else "plain", reveal_duration=1800 if sealed else 0,
    )
    start_block = chain.w3.eth.block_number
    market = deploy_market(chain, config)
    report = GasReport(T, c, sealed=sealed)
    # deployment receipts, in the order deploy_market sends them
    names = ["deploy Bytecoin", "deploy SealedMarket" if sealed else "deploy Market"] + ["registerStandard"] * (-(-standard // 100)) \
        + ["registerProducer"] * producers + ["start"]
    for name, number in zip(names, range(start_block + 1, chain.w3.eth.block_number + 1)):
        block = chain.w3.eth.get_block(number)
        for tx_hash in block["transactions"]:
            report.add(name, int(chain.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"]))  # type: ignore[arg-type]
    steady_s: list[int] = []
    steady_p: list[int] = []
    for r in range(3):
        orders: list[tuple[Account, list[int], list[int]]] = [
            (a, _bids(T, 90 * WAD, i + r), []) for i, a in enumerate(acc[:standard])]
        for j, a in enumerate(acc[standard:standard + producers]):
            # offers of 20 + j kWh per period: input Σ (q/θ^t)^{1/c} stays well inside the stock
            # (above T = 100 scaled by 100/T, so that it still does up to T = 700)
            offers = [0] + [(20 + j) * WAD + t * WAD // 7 for t in range(T)]
            if T > 100:
                offers = [q * 100 // T for q in offers]
            orders.append((a, _bids(T, 90 * WAD, 10 + j + r), offers))
        when = "first" if r == 0 else "settles previous"
        kinds = ["standard"] * standard + ["producer"] * producers
        if sealed:
            # every agent commits, then (all have: the reveal phase is open) reveals
            commits = market.commit_all(orders, r)
            reveals = market.reveal_all([a for a, _, _ in orders], r)
            gas = []
            for kind, com, rev in zip(kinds, commits, reveals):
                if isinstance(com, ChainError) or isinstance(rev, ChainError):
                    raise com if isinstance(com, ChainError) else rev  # type: ignore[misc]
                report.add(f"commit ({kind}, {when})", com.receipt.gas_used)
                report.add(f"reveal ({kind})", rev.receipt.gas_used)
                gas.append(com.receipt.gas_used + rev.receipt.gas_used)
        else:
            gas = []
            for kind, (a, b, o) in zip(kinds, orders):
                res = market.order(a, b, o, round=r)
                report.add(f"order ({kind}, {when})", res.receipt.gas_used)
                gas.append(res.receipt.gas_used)
        if r > 0:
            steady_s.extend(gas[:standard])
            steady_p.extend(gas[standard:])
        report.add("close", market.close().receipt.gas_used)
    for a in acc[:standard + producers]:
        pb, po = market.previous(a)
        report.add("claim", market.transact(a, "claim", [pack_values(pb), pack_values(po)],
                                            gas=market.order_gas).gas_used)
    a = acc[0]
    report.add("withdraw", market.withdraw(a, 10 * WAD).gas_used)
    report.add("token.approve", market.transact(a, "token.approve", [market.market_address, 5 * WAD], 100_000).gas_used)
    report.add("deposit", market.transact(a, "deposit", [5 * WAD], 200_000).gas_used)
    report.add("token.transfer", market.transact(a, "token.transfer", [acc[1].address, WAD], 100_000).gas_used)
    report.steady_standard = int(statistics.median(steady_s))
    report.steady_producer = int(statistics.median(steady_p))
    return report
