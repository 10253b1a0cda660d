"""The compiler set-up: pinned version in one place, the solcjs wrapper's
native-solc CLI, explicit settings, the artifact cache, `emg compile`."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from agents.chain import compiler

REPO = Path(__file__).resolve().parents[2]


def test_the_pinned_version_is_package_json_and_the_compiler_reports_it():  # type: ignore[no-untyped-def]
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["solc"]
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert compiler.SOLC_VERSION == pinned
    assert lock["packages"]["node_modules/solc"]["version"] == pinned
    _, version = compiler.solc_binary()
    assert version.startswith(pinned + "+commit.")


def test_wrapper_presents_a_native_solc_cli():  # type: ignore[no-untyped-def]
    out = subprocess.run([str(compiler.WRAPPER), "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"Version: {compiler.SOLC_VERSION}+commit.")
    bad = subprocess.run([str(compiler.WRAPPER), "--bin", "x.sol"], capture_output=True, text=True)
    assert bad.returncode == 2 and "only --version and --standard-json" in bad.stderr


def test_wrapper_output_is_whole_json_above_64_kib():  # type: ignore[no-untyped-def]
    """solcjs cuts a pipe at 64 KiB and prints a '>>>' line first: the wrapper must not."""
    std = compiler.standard_input()
    std["settings"]["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object",
                                                    "evm.methodIdentifiers"]}}
    out = subprocess.run([str(compiler.WRAPPER), "--standard-json"], input=json.dumps(std), capture_output=True,
                         text=True, check=True).stdout
    assert len(out) > 64 * 1024
    assert not any(line.startswith(">>>") for line in out.splitlines())
    data = json.loads(out)
    assert not [e for e in data.get("errors", []) if e["severity"] == "error"]
    assert set(data["contracts"]["Market.sol"]["Market"]["evm"]["methodIdentifiers"]) >= {
        "order(bytes,bytes,bytes,bytes)", "close()", "claim(bytes,bytes)"}


def test_settings_are_explicit():  # type: ignore[no-untyped-def]
    settings = compiler.standard_input()["settings"]
    assert settings["evmVersion"] == compiler.EVM_VERSION == "cancun"
    assert settings["optimizer"] == {"enabled": True, "runs": compiler.OPTIMIZER_RUNS}
    assert settings["viaIR"] is False


def test_artifacts_are_cached_by_sources_settings_and_compiler(artifacts, tmp_path):  # type: ignore[no-untyped-def]
    std = compiler.standard_input()
    _, version = compiler.solc_binary()
    path = compiler.cache_path(std, version)
    assert path.is_file() and path.parent == compiler.BUILD_DIR
    assert compiler.compile_contracts() == artifacts  # from the cache
    changed = json.loads(json.dumps(std))
    changed["settings"]["optimizer"]["runs"] = 1
    assert compiler.cache_path(changed, version) != path
    changed = json.loads(json.dumps(std))
    changed["sources"]["Market.sol"]["content"] += "\n// edit\n"
    assert compiler.cache_path(changed, version) != path
    assert compiler.cache_path(std, version.replace("commit", "nightly")) != path
    for a in artifacts.values():
        assert 0 < a.runtime_size <= compiler.MAX_RUNTIME_SIZE and a.initcode_size >= a.runtime_size
        assert a.bytecode and isinstance(a.abi, list)


def test_emg_compile_prints_the_sizes(artifacts, capsys):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    compiler.configure(parser)
    assert compiler.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    assert "evmVersion cancun" in out
    for name, a in artifacts.items():
        assert f"{a.runtime_size:,}" in next(line for line in out.splitlines() if line.startswith(name))


def test_compile_errors_are_chain_errors_with_the_message(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    import pytest

    from agents.chain.errors import ChainError

    (tmp_path / "Market.sol").write_text("pragma solidity 0.8.28; contract Market { function f( }")
    monkeypatch.setattr(compiler, "CONTRACTS_DIR", tmp_path)
    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path / "build")
    with pytest.raises(ChainError, match="ParserError"):
        compiler.compile_contracts()
    assert not (tmp_path / "build").exists()  # nothing half-written
