"""emg's compiled contracts: the shipped artifacts, and the compiler that makes them.

**At run time** emg deploys the artifacts shipped inside the package,
``agents/chain/artifacts/contracts.json`` (:data:`ARTIFACTS_FILE`, read by
:func:`load_artifacts`): the ABI and creation code of ``Bytecoin`` and
``Market``. An installed emg needs neither ``contracts/`` nor a compiler.

**Contributors** who edit ``contracts/*.sol`` run ``emg compile``
(:mod:`emg.compile`): it compiles ``contracts/`` (:func:`compile_contracts`)
and rewrites the shipped file (:func:`write_artifacts`). The runtime never
compiles, so until then it keeps deploying the shipped contracts; the file
carries the hash of the sources, settings and compiler it was built from, and
:func:`stale_reasons` compares that with the checkout without compiling (the
tests do, and a slow test compares the file with a fresh compile byte for
byte). Test-only contracts (``contracts/test/``) are compiled by the tests
with ``compile_contracts(test=True)`` and never shipped.

The compiler version is pinned in ONE place, ``package.json``
(``dependencies.solc``, installed by ``npm ci``; :func:`pinned_solc_version`).
A native ``solc`` on ``PATH`` is used when its version matches; otherwise
``scripts/solc``, a wrapper that presents npm's solcjs as a native ``solc`` to
py-solc-x. Settings are explicit: ``evmVersion`` :data:`EVM_VERSION`
("cancun", the fork py-evm's eth-tester chain runs), optimizer on with
:data:`OPTIMIZER_RUNS` runs, viaIR (see docs/chain.md for the measurements).
Compiler output is cached in ``build/contracts-<key>.json`` (a checkout's
scratch space, git-ignored), ``<key>`` a hash of the sources, the settings and
the compiler's full version string.
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

#: The shipped artifacts (package data): ABI and creation code of :data:`CONTRACTS`.
ARTIFACTS_FILE = Path(__file__).resolve().parent / "artifacts" / "contracts.json"
#: The source checkout this module sits in (only ``emg compile`` and the tests use it).
REPO = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO / "contracts"
BUILD_DIR = REPO / "build"
WRAPPER = REPO / "scripts" / "solc"
#: Sources under this folder of ``contracts/`` are compiled by the tests only.
TEST_DIR = "test"

#: The EVM fork the bytecode targets (py-evm 0.12's eth-tester runs Cancun).
EVM_VERSION = "cancun"
#: Optimizer runs: weights runtime gas over deployment size (orders dominate).
OPTIMIZER_RUNS = 10_000
#: The contracts emg deploys and ships (source file, contract name).
CONTRACTS: tuple[tuple[str, str], ...] = (
    ("Bytecoin.sol", "Bytecoin"),
    ("Market.sol", "Market"),
    ("SealedMarket.sol", "SealedMarket"),
)
#: Contracts the tests deploy on top of :data:`CONTRACTS` (never shipped).
TEST_CONTRACTS: tuple[tuple[str, str], ...] = (
    (f"{TEST_DIR}/FixedPointHarness.sol", "FixedPointHarness"),
    (f"{TEST_DIR}/MarketHarness.sol", "MarketHarness"),
)
#: EIP-170 runtime code size limit, bytes.
MAX_RUNTIME_SIZE = 24_576
#: What the shipped file says about itself.
GENERATOR = "emg compile: compiled from contracts/ by agents/chain/compiler.py; do not edit"


@lru_cache(maxsize=1)
def pinned_solc_version() -> str:
    """The pinned compiler version, ``package.json`` ``dependencies.solc`` (e.g. ``"0.8.28"``).

    Raises
    ------
    ChainError
        Outside a source checkout (no ``package.json``), or if it is broken.
    """
    try:
        package = json.loads((REPO / "package.json").read_text())
        return str(package["dependencies"]["solc"])
    except (OSError, KeyError, ValueError) as exc:
        raise ChainError(f"cannot read the pinned solc version from {REPO / 'package.json'}: {exc}") from exc


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


# --------------------------------------------------------------------------
# the shipped artifacts (run time)


def _shipped() -> dict[str, Any]:
    return _read_shipped(ARTIFACTS_FILE)


@lru_cache(maxsize=2)
def _read_shipped(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot read the shipped contract artifacts {path}: {exc} "
                         "(in a source checkout, `emg compile` rebuilds them)") from exc
    return data


def load_artifacts() -> dict[str, Artifact]:
    """The shipped contracts, as emg deploys them.

    Returns
    -------
    dict of str to Artifact
        ``{"Bytecoin": ..., "Market": ...}``, read from :data:`ARTIFACTS_FILE`.

    Raises
    ------
    ChainError
        If the file is missing or unreadable.
    """
    contracts = _shipped()["contracts"]
    out: dict[str, Artifact] = {}
    for _, name in CONTRACTS:
        c = contracts[name]
        code = bytes.fromhex(c["bytecode"])
        out[name] = Artifact(name, c["abi"], code, int(c["runtime_size"]), len(code))
    return out


# --------------------------------------------------------------------------
# the compiler (contributors and tests)


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
        A native ``solc`` on ``PATH`` if its version is :func:`pinned_solc_version`,
        else ``scripts/solc`` (npm's solcjs behind a native-solc CLI).

    Raises
    ------
    ChainError
        If neither is available at the pinned version.
    """
    pinned = pinned_solc_version()
    native = shutil.which("solc")
    if native is not None:
        try:
            version = _version_line(native)
        except (ChainError, OSError, subprocess.SubprocessError):
            version = ""
        if version.startswith(pinned + "+"):
            return native, version
    if not (REPO / "node_modules" / "solc" / "solc.js").is_file():
        raise ChainError("no solc found: install the pinned solcjs with `npm ci` in the repo root")
    version = _version_line(str(WRAPPER))
    if not version.startswith(pinned + "+"):
        raise ChainError(f"scripts/solc reports {version}, but package.json pins {pinned}")
    return str(WRAPPER), version


def standard_input(test: bool = False) -> dict[str, Any]:
    """The Standard JSON input: ``contracts/**/*.sol`` inline, explicit settings.

    Parameters
    ----------
    test : bool
        Also include the test-only sources under ``contracts/test/``.
    """
    if not CONTRACTS_DIR.is_dir():
        raise ChainError(f"no {CONTRACTS_DIR}: compiling needs a source checkout "
                         "(an installed emg deploys the contracts it ships)")
    sources = {
        p.relative_to(CONTRACTS_DIR).as_posix(): {"content": p.read_text()}
        for p in sorted(CONTRACTS_DIR.rglob("*.sol"))
    }
    if not test:
        sources = {k: v for k, v in sources.items() if not k.startswith(TEST_DIR + "/")}
    if not sources:
        raise ChainError(f"no Solidity sources under {CONTRACTS_DIR}")
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": True,  # less gas for every order (docs/chain.md, "Settings")
            "metadata": {"bytecodeHash": "none"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def cache_path(std_input: dict[str, Any], version: str) -> Path:
    """Where the compiler output for this input and compiler version is cached."""
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


def _artifacts_from(data: dict[str, Any], contracts: tuple[tuple[str, str], ...]) -> dict[str, Artifact]:
    out: dict[str, Artifact] = {}
    for source, name in contracts:
        c = data["contracts"][source][name]
        code = bytes.fromhex(c["evm"]["bytecode"]["object"])
        runtime = bytes.fromhex(c["evm"]["deployedBytecode"]["object"])
        out[name] = Artifact(name, c["abi"], code, len(runtime), len(code))
    return out


def compile_contracts(test: bool = False, force: bool = False) -> dict[str, Artifact]:
    """Compile ``contracts/``, or load the compiler output from the ``build/`` cache.

    Parameters
    ----------
    test : bool
        Compile the test-only contracts too (``contracts/test/``, for the
        tests; never shipped).
    force : bool
        Recompile even when a cached build for the same sources, settings and
        compiler exists.

    Returns
    -------
    dict of str to Artifact
        ``{"Bytecoin": ..., "Market": ...}``, plus ``"FixedPointHarness"``
        if ``test``.

    Raises
    ------
    ChainError
        On a compiler error (its messages are included), a missing compiler,
        or outside a source checkout.
    """
    contracts = CONTRACTS + TEST_CONTRACTS if test else CONTRACTS
    std_input = standard_input(test)
    binary, version = solc_binary()
    path = cache_path(std_input, version)
    if path.is_file() and not force:
        return _artifacts_from(json.loads(path.read_text()), contracts)
    import solcx  # heavy-ish; only when compiling
    from solcx.exceptions import SolcError

    try:
        data = solcx.compile_standard(std_input, solc_binary=binary)
    except SolcError as exc:
        raise ChainError("solc failed:\n" + (_messages(exc.stdout_data or "") or str(exc))) from None
    errors = [e for e in data.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ChainError("solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    artifacts = _artifacts_from(data, contracts)
    for a in artifacts.values():
        if a.runtime_size > MAX_RUNTIME_SIZE:
            raise ChainError(f"{a.name} runtime code is {a.runtime_size} bytes, above EIP-170's {MAX_RUNTIME_SIZE}")
    atomic_write_text(path, json.dumps({"solc": version, "contracts": data["contracts"]}))
    return artifacts


# --------------------------------------------------------------------------
# the shipped file: its content, its key, and staleness


def _source_hashes(std_input: dict[str, Any]) -> dict[str, str]:
    return {name: hashlib.sha256(s["content"].encode()).hexdigest() for name, s in std_input["sources"].items()}


def artifacts_key(std_input: dict[str, Any], solc: str) -> str:
    """The key of a shipped file: sha256 of the sources, the settings and the compiler release.

    Parameters
    ----------
    std_input : dict
        The production Standard JSON input (:func:`standard_input`).
    solc : str
        The compiler release, ``x.y.z`` (the pin in ``package.json``).
    """
    blob = {"sources": _source_hashes(std_input), "settings": std_input["settings"], "solc": solc}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def artifacts_text(artifacts: dict[str, Artifact], std_input: dict[str, Any], version: str) -> str:
    """The shipped file's content for these artifacts: deterministic JSON (sorted keys, one-space indent).

    Parameters
    ----------
    artifacts : dict of str to Artifact
        :func:`compile_contracts` (production set).
    std_input : dict
        The Standard JSON input they were compiled from.
    version : str
        The compiler's full version string; only ``x.y.z+commit.<hash>`` is
        kept, so a native solc and solcjs of one release write the same file.
    """
    release = version.split("+", 1)[0]
    commit = ".".join(version.split("+", 1)[1].split(".")[:2]) if "+" in version else ""
    data = {
        "generator": GENERATOR,
        "key": artifacts_key(std_input, release),
        "solc": f"{release}+{commit}" if commit else release,
        "settings": std_input["settings"],
        "sources": _source_hashes(std_input),
        "contracts": {
            name: {"abi": artifacts[name].abi, "bytecode": artifacts[name].bytecode.hex(),
                   "runtime_size": artifacts[name].runtime_size}
            for _, name in CONTRACTS
        },
    }
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def write_artifacts(artifacts: dict[str, Artifact], std_input: dict[str, Any], version: str) -> bool:
    """Rewrite :data:`ARTIFACTS_FILE` (atomically) if its content changes.

    Returns
    -------
    bool
        True if the file was written, False if it already held these artifacts.
    """
    text = artifacts_text(artifacts, std_input, version)
    try:
        if ARTIFACTS_FILE.read_text() == text:
            return False
    except OSError:
        pass
    atomic_write_text(ARTIFACTS_FILE, text)
    _read_shipped.cache_clear()
    return True


def stale_reasons() -> list[str]:
    """Why the shipped artifacts do not match this checkout's sources, without compiling.

    Compares the key and source hashes stored in :data:`ARTIFACTS_FILE` with
    ``contracts/`` (test-only sources excluded), the settings and the pinned
    compiler release.

    Returns
    -------
    list of str
        Empty if the shipped artifacts are current; else one line per
        difference (a changed, added or removed source, the settings, the
        compiler).
    """
    shipped = _shipped()
    std_input = standard_input()
    release = pinned_solc_version()
    if shipped.get("key") == artifacts_key(std_input, release):
        return []
    reasons = []
    old, new = shipped.get("sources", {}), _source_hashes(std_input)
    reasons += [f"contracts/{s} changed" for s in sorted(set(old) & set(new)) if old[s] != new[s]]
    reasons += [f"contracts/{s} is new" for s in sorted(set(new) - set(old))]
    reasons += [f"contracts/{s} was removed" for s in sorted(set(old) - set(new))]
    if shipped.get("settings") != std_input["settings"]:
        reasons.append("the compiler settings changed")
    if str(shipped.get("solc", "")).split("+", 1)[0] != release:
        reasons.append(f"package.json pins solc {release}, the artifacts were built with {shipped.get('solc')}")
    return reasons or ["the key differs"]
