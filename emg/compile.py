"""``emg compile``: rebuild the shipped contract artifacts from ``contracts/``.

For contributors who edit the Solidity sources: it compiles ``contracts/``
(:func:`agents.chain.compiler.compile_contracts`, cached in ``build/``),
rewrites ``agents/chain/artifacts/contracts.json`` (the artifacts emg deploys
and ships) when they changed, and prints the contract sizes. ``--check``
compares instead of writing, and fails if the shipped file is out of date.
The compiler itself is :mod:`agents.chain.compiler`; this is only the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.chain import compiler


def _shown(path: Path) -> str:
    """``path`` relative to the checkout when it is inside it."""
    return str(path.relative_to(compiler.REPO)) if path.is_relative_to(compiler.REPO) else str(path)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``emg compile``."""
    parser.add_argument("--force", action="store_true", help="recompile even if a cached build in build/ matches")
    parser.add_argument("--check", action="store_true",
                        help="do not write: exit 1 if the shipped artifacts differ from a compile of contracts/")


def run(args: argparse.Namespace) -> int:
    """``emg compile``: rebuild the shipped artifacts and print the contract sizes."""
    std_input = compiler.standard_input()  # first: outside a source checkout, says so
    binary, version = compiler.solc_binary()
    artifacts = compiler.compile_contracts(force=bool(args.force))
    shipped = compiler.ARTIFACTS_FILE
    print(f"solc {version} ({binary}), evmVersion {compiler.EVM_VERSION}, optimizer runs {compiler.OPTIMIZER_RUNS}")
    print(f"{'contract':<18} {'runtime bytes':>14} {'initcode bytes':>15} {'of EIP-170':>11}")
    for a in artifacts.values():
        share = a.runtime_size / compiler.MAX_RUNTIME_SIZE
        print(f"{a.name:<18} {a.runtime_size:>14,} {a.initcode_size:>15,} {share:>10.0%}")
    if args.check:
        text = compiler.artifacts_text(artifacts, std_input, version)
        if not (shipped.is_file() and shipped.read_text() == text):
            print(f"{_shown(shipped)} is out of date: run `emg compile`", file=sys.stderr)
            return 1
        print(f"{_shown(shipped)}: up to date")
        return 0
    written = compiler.write_artifacts(artifacts, std_input, version)
    print(f"{_shown(shipped)}: {'written' if written else 'unchanged'}")
    return 0
