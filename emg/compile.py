"""``emg compile``: (re)build the Solidity contracts and print their sizes.

The compiler and its cache are :mod:`agents.chain.compiler`; this is only the
command around them.
"""

from __future__ import annotations

import argparse

from agents.chain.compiler import (
    EVM_VERSION,
    MAX_RUNTIME_SIZE,
    OPTIMIZER_RUNS,
    REPO,
    cache_path,
    compile_contracts,
    solc_binary,
    standard_input,
)

def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg compile``."""
    parser.add_argument("--force", action="store_true", help="rebuild even if a cached build matches")


def run(args: argparse.Namespace) -> int:
    """``emg compile``: (re)build the artifacts and print the contract sizes."""
    binary, version = solc_binary()
    artifacts = compile_contracts(force=bool(args.force))
    print(f"solc {version} ({binary}), evmVersion {EVM_VERSION}, optimizer runs {OPTIMIZER_RUNS}")
    print(f"artifacts: {cache_path(standard_input(), version).relative_to(REPO)}")
    print(f"{'contract':<18} {'runtime bytes':>14} {'initcode bytes':>15} {'of EIP-170':>11}")
    for a in artifacts.values():
        print(f"{a.name:<18} {a.runtime_size:>14,} {a.initcode_size:>15,} {a.runtime_size / MAX_RUNTIME_SIZE:>10.0%}")
    return 0
