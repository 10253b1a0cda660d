"""Compile emg's Solidity contracts with py-solc-x, and cache the artifacts.

The compiler version is pinned in ONE place, ``package.json``
(``dependencies.solc``, installed by ``npm ci``); :data:`SOLC_VERSION` is read
from it. A native ``solc`` on ``PATH`` is used when its version matches;
otherwise ``scripts/solc``, a wrapper that presents npm's solcjs as a native
``solc`` to py-solc-x. Settings are explicit: ``evmVersion`` :data:`EVM_VERSION`
("cancun", the fork py-evm's eth-tester chain runs), optimizer on with
:data:`OPTIMIZER_RUNS` runs, no viaIR (see docs/chain.md for the measurements).

Artifacts are cached in ``build/contracts-<key>.json``, ``<key>`` a hash of the
sources, the settings and the compiler's full version string; ``emg compile``
(re)builds them and prints the contract sizes (:mod:`emg.compile`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ChainError
from market.io import atomic_write_text

REPO = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO / "contracts"
BUILD_DIR = REPO / "build"
WRAPPER = REPO / "scripts" / "solc"

#: The EVM fork the bytecode targets (py-evm 0.12's eth-tester runs Cancun).
EVM_VERSION = "cancun"
#: Optimizer runs: weights runtime gas over deployment size (orders dominate).
OPTIMIZER_RUNS = 10_000
#: The contracts emg deploys (source file, contract name).
CONTRACTS: tuple[tuple[str, str], ...] = (
    ("Bytecoin.sol", "Bytecoin"),
    ("Market.sol", "Market"),
    ("test/FixedPointHarness.sol", "FixedPointHarness"),  # tests only
)
#: EIP-170 runtime code size limit, bytes.
MAX_RUNTIME_SIZE = 24_576


def _read_pinned_version() -> str:
    try:
        package = json.loads((REPO / "package.json").read_text())
        return str(package["dependencies"]["solc"])
    except (OSError, KeyError, ValueError) as exc:  # pragma: no cover - broken checkout
        raise ChainError(f"cannot read the pinned solc version from package.json: {exc}") from exc


#: The pinned compiler version (package.json ``dependencies.solc``).
SOLC_VERSION: str = _read_pinned_version()


@dataclass(frozen=True)
class Artifact:
    """One compiled contract.

    Attributes
    ----------
    name : str
        Contract name.
    abi : list of dict
        The ABI (JSON).
    bytecode : bytes
        Creation code (constructor arguments are appended at deployment).
    runtime_size : int
        Deployed code size in bytes (EIP-170 limit 24,576).
    initcode_size : int
        Creation code size in bytes.
    """

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    runtime_size: int
    initcode_size: int


def _version_line(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False, timeout=60)
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise ChainError(f"{binary} --version printed no 'Version:' line: {out.stdout!r} {out.stderr!r}")


@lru_cache(maxsize=1)
def solc_binary() -> tuple[str, str]:
    """The compiler to use and its full version string.

    Returns
    -------
    (path, version) : tuple of str
        A native ``solc`` on ``PATH`` if its version is :data:`SOLC_VERSION`,
        else ``scripts/solc`` (npm's solcjs behind a native-solc CLI).

    Raises
    ------
    ChainError
        If neither is available at the pinned version.
    """
    native = shutil.which("solc")
    if native is not None:
        try:
            version = _version_line(native)
        except (ChainError, OSError, subprocess.SubprocessError):
            version = ""
        if version.startswith(SOLC_VERSION + "+"):
            return native, version
    if not (REPO / "node_modules" / "solc" / "solc.js").is_file():
        raise ChainError("no solc found: install the pinned solcjs with `npm ci` in the repo root")
    version = _version_line(str(WRAPPER))
    if not version.startswith(SOLC_VERSION + "+"):
        raise ChainError(f"scripts/solc reports {version}, but package.json pins {SOLC_VERSION}")
    return str(WRAPPER), version


def standard_input() -> dict[str, Any]:
    """The Standard JSON input: every ``contracts/**/*.sol`` inline, explicit settings."""
    sources = {
        str(p.relative_to(CONTRACTS_DIR)): {"content": p.read_text()}
        for p in sorted(CONTRACTS_DIR.rglob("*.sol"))
    }
    if not sources:
        raise ChainError(f"no Solidity sources under {CONTRACTS_DIR}")
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": False,
            "metadata": {"bytecodeHash": "none"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def cache_path(std_input: dict[str, Any], version: str) -> Path:
    """Where the artifacts of this input and compiler version are cached."""
    key = hashlib.sha256(
        json.dumps({"input": std_input, "solc": version}, sort_keys=True).encode()
    ).hexdigest()[:16]
    return BUILD_DIR / f"contracts-{key}.json"


def _messages(stdout: str) -> str:
    """The compiler's error messages from its Standard JSON output."""
    try:
        errors = json.loads(stdout).get("errors", [])
    except (ValueError, AttributeError):
        return ""
    return "\n".join(e.get("formattedMessage", str(e)) for e in errors if e.get("severity") == "error")


def _artifacts_from(data: dict[str, Any]) -> dict[str, Artifact]:
    out: dict[str, Artifact] = {}
    for source, name in CONTRACTS:
        c = data["contracts"][source][name]
        code = bytes.fromhex(c["evm"]["bytecode"]["object"])
        runtime = bytes.fromhex(c["evm"]["deployedBytecode"]["object"])
        out[name] = Artifact(name, c["abi"], code, len(runtime), len(code))
    return out


def compile_contracts(force: bool = False) -> dict[str, Artifact]:
    """Compile the contracts, or load them from the cache.

    Parameters
    ----------
    force : bool
        Recompile even when a cached build for the same sources, settings and
        compiler exists.

    Returns
    -------
    dict of str to Artifact
        ``{"Bytecoin": ..., "Market": ...}``.

    Raises
    ------
    ChainError
        On a compiler error (its messages are included) or a missing compiler.
    """
    std_input = standard_input()
    binary, version = solc_binary()
    path = cache_path(std_input, version)
    if path.is_file() and not force:
        return _artifacts_from(json.loads(path.read_text()))
    import solcx  # heavy-ish; only when compiling
    from solcx.exceptions import SolcError

    try:
        data = solcx.compile_standard(std_input, solc_binary=binary)
    except SolcError as exc:
        raise ChainError("solc failed:\n" + (_messages(exc.stdout_data or "") or str(exc))) from None
    errors = [e for e in data.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ChainError("solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    artifacts = _artifacts_from(data)
    for a in artifacts.values():
        if a.runtime_size > MAX_RUNTIME_SIZE:
            raise ChainError(f"{a.name} runtime code is {a.runtime_size} bytes, above EIP-170's {MAX_RUNTIME_SIZE}")
    atomic_write_text(path, json.dumps({"solc": version, "contracts": data["contracts"]}))
    return artifacts
