#!/usr/bin/env python3
"""``python scripts/bench.py chain``: orders per second through the simulation loop
against the floor of the same transactions replayed pre-signed.

For each ``T`` (default 1 and 24) it builds a 100-agent economy (98 standard
agents in two groups, 2 producers; proof-of-stake κ), then

* **simulation**: runs ``--rounds`` rounds of :class:`agents.simulation.Simulation`
  (observe, decide = a best response per agent, sign, send, read the receipt
  and its events, close, distance to the Nash equilibrium) and times the loop;
  every raw transaction the loop sends is recorded on the way;
* **floor**: a fresh chain from the same genesis, the same deployment, then the
  very same raw transactions (orders and closes, already signed: same calldata,
  same gas) sent straight to the same backend in a bare loop (eth-tester:
  ``send_raw_transaction`` on the tester; a node: one
  ``eth_sendRawTransactionSync`` per transaction, or send + receipt poll; on
  the managed Anvil each round's orders pipelined as the loop sends them,
  ``Chain.send_all``: automine off, sent in order, ``evm_mine``).

``--backend`` lists the backends to measure side by side (default
``eth-tester,anvil``): ``eth-tester``, ``anvil`` (a managed node, fresh for
the loop and for the floor, over IPC) or a node's URL / ``.ipc`` path (the
loop and the floor then share that node).

Both rates count orders only (closes are work both loops do). The target is
simulation ≥ 80% of the floor. ``--big`` adds one 1,000-agent, 10-round run in
a child process and reports its wall time and peak memory (``ru_maxrss``).
Timings only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_scenario(n: int, T: int, producers: int = 2, rounds: int = 5, seed: int = 1) -> Any:
    """A solvable ``n``-agent economy over ``T`` periods (two standard groups, ``producers`` plants)."""
    from market.scenario import scenario_from_dict

    alpha = [1.0 / T] * T
    theta = [40.0 + 20.0 * math.sin(math.pi * (t + 0.5) / T) for t in range(T)]
    m = n - producers
    doc = {
        "name": f"bench-{n}x{T}",
        "T": T,
        "verification": {"kappa": "pos"},
        "standard": [
            {"name": "big", "count": m // 2, "omega": 100.0, "alpha": alpha, "bytecoins": 1000.0},
            {"name": "small", "count": m - m // 2, "omega": 25.0, "alpha": alpha,
             "bytecoins": 250.0},
        ],
        "producer": [{"name": "plant", "count": producers, "theta": theta, "c": 0.8, "K": 1e6,
                      "alpha": alpha, "bytecoins": 1000.0, "stock": 50.0 * n}],
        "simulation": {"rounds": rounds, "seed": seed, "tolerance": 1e-12},
    }
    return scenario_from_dict(doc, f"bench-{n}x{T}.toml")


def measure(n: int, T: int, rounds: int, backend: str = "eth-tester") -> dict[str, Any]:
    """Simulation loop vs the pre-signed floor for one size and backend (see the module docstring)."""
    from agents.simulation import Simulation

    sc = bench_scenario(n, T, rounds=rounds)
    sc = replace(sc, simulation=replace(sc.simulation, backend=backend))
    sim = Simulation(sc)
    recorded: list[tuple[Any, bytes]] = []
    travels: dict[int, int] = {}
    sign = sim.chain.sign

    def recording_sign(account: Any, to: Any, data: bytes, gas: int, value: int = 0,
                       nonce: int | None = None) -> bytes:
        raw = sign(account, to, data, gas, value, nonce)
        recorded.append((account, raw))
        return raw

    travel = sim.chain.travel_to

    def recording_travel(ts: int) -> None:
        travels[len(recorded)] = ts
        travel(ts)

    sim.chain.sign = recording_sign  # type: ignore[method-assign]
    sim.chain.travel_to = recording_travel  # type: ignore[method-assign,assignment]
    try:
        res = sim.run()
    finally:
        sim.close()
    # the loop's transactions: every order and close, before the final claims
    n_loop = res.orders_total + len(res.log.rounds)
    loop = recorded[:n_loop]
    sim_rate = res.orders_total / res.wall_seconds
    floor_s, replay_gas, all_ok = floor(sc, sim.config, loop, travels, backend)
    replay_ok = all_ok and replay_gas == res.gas_total
    floor_rate = res.orders_total / floor_s
    return {
        "backend": backend, "agents": n, "T": T, "rounds": len(res.log.rounds), "orders": res.orders_total,
        "sim_seconds": round(res.wall_seconds, 3), "floor_seconds": round(floor_s, 3),
        "sim_orders_per_s": round(sim_rate, 2), "floor_orders_per_s": round(floor_rate, 2),
        "ratio": round(sim_rate / floor_rate, 3),
        "gas_per_round": round(res.gas_total / max(len(res.log.rounds), 1)),
        "phases_s": {k: round(v, 3) for k, v in res.timing.items()},
        "replay_gas": replay_gas, "replay_identical": replay_ok,
    }


def floor(sc: Any, sim_config: Any, loop: list[tuple[Any, bytes]], travels: dict[int, int],
          backend: str) -> tuple[float, int, bool]:
    """Seconds to send ``loop``'s raw transactions in a bare loop on a fresh chain of ``backend``
    (same genesis and deployment), their total gas, and whether all succeeded."""
    from agents.chain.backend import Chain
    from agents.chain.deploy import deploy_market

    node = None
    if backend == "anvil":
        from agents.chain.node import start_anvil

        node = start_anvil(ipc=True)
        chain = Chain.connect(node.endpoint, sc.economy.N, sc.simulation.seed, fixed_block_interval=True,
                              pipeline=True)
    else:
        chain = Chain.connect(backend, sc.economy.N, sc.simulation.seed)
    try:
        snap = None if chain.is_local or node is not None else chain.snapshot()
        config = replace(sim_config, standard=tuple(
            replace(s, address=a.address) for s, a in zip(sim_config.standard, chain.accounts)),
            producers=tuple(replace(p, address=a.address) for p, a in
                            zip(sim_config.producers, chain.accounts[len(sim_config.standard):])))
        client = deploy_market(chain, config)
        hexes = ["0x" + raw.hex() for _, raw in loop]
        if chain.is_local:
            tester = chain._tester
            send = tester.send_raw_transaction
        elif chain._sync_send:
            rpc = chain._rpc

            def send(h: str) -> Any:
                return rpc.request("eth_sendRawTransactionSync", [h])
        else:
            rpc = chain._rpc

            def send(h: str) -> Any:
                tx = rpc.request("eth_sendRawTransaction", [h])
                return chain._wait_receipt(bytes.fromhex(tx[2:]))
        floor_s = 0.0
        t0 = time.perf_counter()
        orders: list[tuple[Any, bytes, str, bytes]] = []  # a pipelined round's orders, sent at its close
        for k, ((account, raw), h) in enumerate(zip(loop, hexes)):
            if chain.pipeline and account.address != chain.keeper.address:
                orders.append((account, raw, client.market_address, b""))
                continue
            if orders:  # as the loop does: the round mined in blocks of many, then the close
                chain._send_all_rpc(orders, [client.order_gas] * len(orders))
                orders = []
            if k in travels:  # a round closed at its deadline: travel there too (untimed)
                floor_s += time.perf_counter() - t0
                chain.travel_to(client.current_round().deadline)
                t0 = time.perf_counter()
            send(h)
        floor_s += time.perf_counter() - t0
        if chain.is_local:
            receipts = [chain._tester.get_transaction_receipt(_tx_hash(raw)) for _, raw in loop]
            gas = [int(r["gas_used"]) for r in receipts]
            ok = all(int(r["status"]) == 1 for r in receipts)
        else:
            receipts = chain._rpc.batch([("eth_getTransactionReceipt", [_tx_hash(raw)]) for _, raw in loop])
            gas = [int(r["gasUsed"], 16) for r in receipts]
            ok = all(int(r["status"], 16) == 1 for r in receipts)
        if snap is not None:
            chain.revert(snap)
        return floor_s, sum(gas), ok
    finally:
        chain.close()
        if node is not None:
            node.stop()


#: what bounds the loop: (label, (file suffix, function name)) whose cumulative time is shown
PROFILE_PARTS = [
    ("node round trips (JSON-RPC send/recv)", ("agents/chain/rpc.py", "_exchange")),
    ("  of which JSON encode", ("json/__init__.py", "dumps")),
    ("  of which JSON decode", ("json/__init__.py", "loads")),
    ("eth-tester send_raw_transaction", ("eth_tester/main.py", "send_raw_transaction")),
    ("signing (sign_type2)", ("agents/chain/backend.py", "sign_type2")),
    ("calldata encode (encode_order)", ("agents/chain/client.py", "encode_order")),
    ("log decode (_decode)", ("agents/chain/client.py", "_decode")),
    ("observe + decide", ("agents/simulation.py", "_decide")),
    ("close", ("agents/simulation.py", "_close")),
    ("settle + measure (solver)", ("agents/simulation.py", "_measure")),
]


def profile(n: int, T: int, rounds: int, backend: str) -> list[tuple[str, float]]:
    """cProfile of the simulation loop: seconds in each part of :data:`PROFILE_PARTS`."""
    import cProfile
    import pstats

    from agents.simulation import Simulation

    sc = bench_scenario(n, T, rounds=rounds)
    sim = Simulation(replace(sc, simulation=replace(sc.simulation, backend=backend)))
    prof = cProfile.Profile()
    try:
        prof.enable()
        res = sim.run()
        prof.disable()
    finally:
        sim.close()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    out = [("loop (Simulation.run, profiled)", res.wall_seconds)]
    for label, (suffix, fn) in PROFILE_PARTS:
        cum = sum(v[3] for (file, _, name), v in stats.items() if name == fn and file.endswith(suffix))
        out.append((label, cum))
    out.append(("orders", float(res.orders_total)))
    return out


def _tx_hash(raw: bytes) -> str:
    from eth_utils import keccak

    return "0x" + keccak(raw).hex()


def big_child(n: int, rounds: int, backend: str = "eth-tester") -> int:
    """Run one ``n``-agent simulation; print wall time and peak memory as JSON (child process)."""
    from agents.simulation import Simulation

    t0 = time.perf_counter()
    sc = bench_scenario(n, 1, producers=4, rounds=rounds)
    sc = replace(sc, simulation=replace(sc.simulation, backend=backend))
    sim = Simulation(sc, progress=True)
    setup = time.perf_counter() - t0
    per_round: list[float] = []  # ms of the order phase per order, round by round
    step = sim.step

    def timed_step() -> Any:
        before, orders = sim.state.timing["order"], sim.state.orders_total
        record = step()
        per_round.append(1000 * (sim.state.timing["order"] - before) / max(sim.state.orders_total - orders, 1))
        return record

    sim.step = timed_step  # type: ignore[method-assign]
    try:
        res = sim.run()
    finally:
        sim.close()
    total = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"backend": backend, "agents": n, "T": 1, "rounds": len(res.log.rounds),
                      "orders": res.orders_total,
                      "setup_seconds": round(setup, 1), "loop_seconds": round(res.wall_seconds, 1),
                      "total_seconds": round(total, 1), "peak_rss_mib": round(peak_kib / 1024, 1),
                      "orders_per_s": round(res.orders_total / res.wall_seconds, 2),
                      "phases_s": {k: round(v, 1) for k, v in res.timing.items()},
                      "order_ms_per_order": [round(x, 2) for x in per_round],
                      "load_average": round(os.getloadavg()[0], 2)}))
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench.py chain", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--T", default="1,24", help="comma-separated periods (default 1,24)")
    p.add_argument("--backend", default="eth-tester,anvil",
                   help="comma-separated backends: eth-tester, anvil (managed), or a node's URL / .ipc path "
                   "(default eth-tester,anvil)")
    p.add_argument("--big", action="store_true", help="also the 1,000-agent, 10-round run")
    p.add_argument("--big-agents", type=int, default=1000)
    p.add_argument("--big-rounds", type=int, default=10)
    p.add_argument("--big-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--profile", action="store_true",
                   help="instead: profile the loop per backend (what bounds it: node, JSON, signing, ...)")
    a = p.parse_args(argv)
    backends = [b for b in a.backend.split(",") if b]
    if a.big_child:
        return big_child(a.big_agents, a.big_rounds, backends[0])
    if a.profile:
        for T in (int(x) for x in a.T.split(",") if x):
            cols = {}
            for b in backends:
                print(f"bench chain: profiling {b}: {a.agents} agents, T={T}, {a.rounds} rounds ...",
                      file=sys.stderr)
                cols[b] = profile(a.agents, T, a.rounds, b)
            print(f"\nT={T}, {a.agents} agents, {a.rounds} rounds: cumulative seconds (cProfile)")
            print(f"{'part':<40}" + "".join(f"{b[:14]:>15}" for b in backends))
            for k, (label, _) in enumerate(cols[backends[0]]):
                print(f"{label:<40}" + "".join(f"{cols[b][k][1]:>15.2f}" for b in backends))
        return 0
    rows = []
    for T in (int(x) for x in a.T.split(",") if x):
        for b in backends:
            print(f"bench chain: {b}: {a.agents} agents, T={T}, {a.rounds} rounds ...", file=sys.stderr)
            rows.append(measure(a.agents, T, a.rounds, b))
            print(json.dumps(rows[-1]), file=sys.stderr)  # each result as soon as it is measured
    bigs = []
    if a.big:
        for b in backends:
            print(f"bench chain: {b}: {a.big_agents} agents, {a.big_rounds} rounds (child process) ...",
                  file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--big-child", "--big-agents",
                                  str(a.big_agents), "--big-rounds", str(a.big_rounds), "--backend", b],
                                 stdout=subprocess.PIPE, text=True, check=True)  # progress on stderr
            bigs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(bigs[-1]), file=sys.stderr)
    if a.json:
        print(json.dumps({"runs": rows, "big": bigs}, indent=2))
        return 0
    print("floor = the loop's own signed orders and closes replayed on a fresh chain "
          "(same genesis, deployment, calldata and gas)")
    print(f"{'backend':>10} {'agents':>6} {'T':>3} {'orders':>6} | {'sim orders/s':>12} {'floor orders/s':>14} "
          f"{'sim/floor':>9} | {'gas/round':>10} | phases (s)")
    base = {r["T"]: r["sim_orders_per_s"] for r in rows if r["backend"] == "eth-tester"}
    for r in rows:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items())
        vs = (f"  loop {r['sim_orders_per_s'] / base[r['T']]:.2f}x eth-tester's"
              if r["backend"] != "eth-tester" and r["T"] in base else "")
        print(f"{r['backend'][:10]:>10} {r['agents']:>6} {r['T']:>3} {r['orders']:>6} | {r['sim_orders_per_s']:>12.1f} "
              f"{r['floor_orders_per_s']:>14.1f} {100 * r['ratio']:>8.1f}% | "
              f"{r['gas_per_round']:>10,} | {ph}"
              + ("" if r["replay_identical"] else "  (REPLAY DIFFERED)") + vs)
    for big in bigs:
        print(f"\n{big['backend']}: {big['agents']} agents x {big['rounds']} rounds (T=1): "
              f"total {big['total_seconds']} s "
              f"(set-up {big['setup_seconds']} s, loop {big['loop_seconds']} s, "
              f"{big['orders_per_s']} orders/s), peak memory {big['peak_rss_mib']} MiB, "
              f"load average {big['load_average']} at the end")
        print("  order phase, ms per order, round by round: "
              + " ".join(f"{x:.1f}" for x in big["order_ms_per_order"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
