"""The contracts emg ships and the compiler that makes them: the shipped
artifacts are the production set and match ``contracts/``; pinned version in
one place, the solcjs wrapper's native-solc CLI, explicit settings, the
``build/`` cache, ``emg compile``.

Tests that run the compiler (node + solcjs, seconds each) are marked slow.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from agents.chain import compiler
from agents.chain.errors import ChainError
from emg import compile as emg_compile

REPO = Path(__file__).resolve().parents[2]
RUN_EMG_COMPILE = "contracts/ and the shipped artifacts differ: run `emg compile` (or `make compile`)"


# ---------------------------------------------------------------- shipped artifacts (fast)


def test_shipped_artifacts_are_the_production_set():  # type: ignore[no-untyped-def]
    shipped = json.loads(compiler.ARTIFACTS_FILE.read_text())
    assert set(shipped["contracts"]) == {"Bytecoin", "Market", "SealedMarket"}  # no test-only contract
    assert not [s for s in shipped["sources"] if s.startswith(compiler.TEST_DIR + "/")]
    artifacts = compiler.load_artifacts()
    assert list(artifacts) == ["Bytecoin", "Market", "SealedMarket"]
    for a in artifacts.values():
        assert 0 < a.runtime_size <= compiler.MAX_RUNTIME_SIZE and a.initcode_size >= a.runtime_size
        assert a.bytecode and isinstance(a.abi, list)


def test_shipped_artifacts_match_the_sources():  # type: ignore[no-untyped-def]
    """Cheap: the key and source hashes inside the file against contracts/ (no compile)."""
    assert compiler.stale_reasons() == [], RUN_EMG_COMPILE


def test_shipped_file_is_deterministic_json():  # type: ignore[no-untyped-def]
    text = compiler.ARTIFACTS_FILE.read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def test_stale_reasons_name_what_changed(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    shutil.copytree(compiler.CONTRACTS_DIR, tmp_path / "contracts")
    monkeypatch.setattr(compiler, "CONTRACTS_DIR", tmp_path / "contracts")
    harness = tmp_path / "contracts" / "test" / "FixedPointHarness.sol"
    harness.write_text(harness.read_text() + "\n// a test-only edit does not touch the shipped set\n")
    assert compiler.stale_reasons() == []
    market = tmp_path / "contracts" / "Market.sol"
    market.write_text(market.read_text() + "\n// edit\n")
    (tmp_path / "contracts" / "Extra.sol").write_text("pragma solidity 0.8.28;\n")
    assert compiler.stale_reasons() == ["contracts/Market.sol changed", "contracts/Extra.sol is new"]
    monkeypatch.setattr(compiler, "OPTIMIZER_RUNS", 1)
    assert "the compiler settings changed" in compiler.stale_reasons()


def test_compiling_outside_a_checkout_says_so(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(compiler, "CONTRACTS_DIR", tmp_path / "nowhere")
    with pytest.raises(ChainError, match="source checkout"):
        compiler.standard_input()


# ---------------------------------------------------------------- settings and cache keys (fast)


def test_settings_are_explicit():  # type: ignore[no-untyped-def]
    settings = compiler.standard_input()["settings"]
    assert settings["evmVersion"] == compiler.EVM_VERSION == "cancun"
    assert settings["optimizer"] == {"enabled": True, "runs": compiler.OPTIMIZER_RUNS}
    assert settings["viaIR"] is True


def test_test_sources_are_compiled_only_for_the_tests():  # type: ignore[no-untyped-def]
    assert "test/FixedPointHarness.sol" not in compiler.standard_input()["sources"]
    assert "test/FixedPointHarness.sol" in compiler.standard_input(test=True)["sources"]


def test_cache_is_keyed_by_sources_settings_and_compiler():  # type: ignore[no-untyped-def]
    std = compiler.standard_input()
    version = "0.8.28+commit.7893614a"
    path = compiler.cache_path(std, version)
    assert path.parent == compiler.BUILD_DIR
    changed = json.loads(json.dumps(std))
    changed["settings"]["optimizer"]["runs"] = 1
    assert compiler.cache_path(changed, version) != path
    changed = json.loads(json.dumps(std))
    changed["sources"]["Market.sol"]["content"] += "\n// edit\n"
    assert compiler.cache_path(changed, version) != path
    assert compiler.cache_path(std, version.replace("commit", "nightly")) != path
    assert compiler.cache_path(compiler.standard_input(test=True), version) != path


# ---------------------------------------------------------------- the compiler (slow)


@pytest.mark.slow
def test_the_pinned_version_is_package_json_and_the_compiler_reports_it():  # type: ignore[no-untyped-def]
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["solc"]
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert compiler.pinned_solc_version() == pinned
    assert lock["packages"]["node_modules/solc"]["version"] == pinned
    _, version = compiler.solc_binary()
    assert version.startswith(pinned + "+commit.")
    assert json.loads(compiler.ARTIFACTS_FILE.read_text())["solc"] == ".".join(version.split(".")[:4])


@pytest.mark.slow
def test_wrapper_presents_a_native_solc_cli():  # type: ignore[no-untyped-def]
    out = subprocess.run([str(compiler.WRAPPER), "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"Version: {compiler.pinned_solc_version()}+commit.")
    bad = subprocess.run([str(compiler.WRAPPER), "--bin", "x.sol"], capture_output=True, text=True)
    assert bad.returncode == 2 and "only --version and --standard-json" in bad.stderr


@pytest.mark.slow
def test_wrapper_output_is_whole_json_above_64_kib():  # type: ignore[no-untyped-def]
    """solcjs cuts a pipe at 64 KiB and prints a '>>>' line first: the wrapper must not."""
    std = compiler.standard_input(test=True)
    std["settings"]["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object",
                                                    "evm.methodIdentifiers"]}}
    out = subprocess.run([str(compiler.WRAPPER), "--standard-json"], input=json.dumps(std), capture_output=True,
                         text=True, check=True).stdout
    assert len(out) > 64 * 1024
    assert not any(line.startswith(">>>") for line in out.splitlines())
    data = json.loads(out)
    assert not [e for e in data.get("errors", []) if e["severity"] == "error"]
    assert set(data["contracts"]["Market.sol"]["Market"]["evm"]["methodIdentifiers"]) >= {
        "order(bytes)", "close()", "claim(bytes,bytes)"}


@pytest.mark.slow
def test_shipped_artifacts_equal_a_fresh_compile(artifacts):  # type: ignore[no-untyped-def]
    """Byte for byte, ABI and bytecode: a .sol edit without `emg compile` fails here."""
    fresh = compiler.compile_contracts(force=True)
    for name, a in fresh.items():
        assert a.bytecode == artifacts[name].bytecode, f"{name} bytecode: {RUN_EMG_COMPILE}"
        assert a.abi == artifacts[name].abi, f"{name} ABI: {RUN_EMG_COMPILE}"
        assert a == artifacts[name]
    _, version = compiler.solc_binary()
    text = compiler.artifacts_text(fresh, compiler.standard_input(), version)
    assert text == compiler.ARTIFACTS_FILE.read_text(), RUN_EMG_COMPILE
    assert compiler.compile_contracts() == fresh  # now from the build/ cache
    assert compiler.cache_path(compiler.standard_input(), version).is_file()
    # the test set compiles the same production contracts, plus the harness
    with_tests = compiler.compile_contracts(test=True)
    assert list(with_tests) == ["Bytecoin", "Market", "SealedMarket", "FixedPointHarness", "MarketHarness"]
    assert {k: with_tests[k] for k in fresh} == fresh


@pytest.mark.slow
def test_emg_compile_writes_the_shipped_file_and_prints_the_sizes(artifacts, tmp_path, monkeypatch,
                                                                  capsys):  # type: ignore[no-untyped-def]
    target = tmp_path / "artifacts" / "contracts.json"
    monkeypatch.setattr(compiler, "ARTIFACTS_FILE", target)
    parser = argparse.ArgumentParser()
    emg_compile.configure(parser)

    assert emg_compile.run(parser.parse_args(["--check"])) == 1  # no file yet
    assert "run `emg compile`" in capsys.readouterr().err
    assert emg_compile.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    assert "evmVersion cancun" in out and f"{target}: written" in out
    for name, a in artifacts.items():
        assert f"{a.runtime_size:,}" in next(line for line in out.splitlines() if line.startswith(name))
    assert target.read_bytes() == (REPO / "agents/chain/artifacts/contracts.json").read_bytes()
    assert compiler.load_artifacts() == artifacts
    assert emg_compile.run(parser.parse_args([])) == 0
    assert f"{target}: unchanged" in capsys.readouterr().out
    assert emg_compile.run(parser.parse_args(["--check"])) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_compile_errors_are_chain_errors_with_the_message(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "Market.sol").write_text("pragma solidity 0.8.28; contract Market { function f( }")
    monkeypatch.setattr(compiler, "CONTRACTS_DIR", tmp_path)
    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path / "build")
    with pytest.raises(ChainError, match="ParserError"):
        compiler.compile_contracts()
    assert not (tmp_path / "build").exists()  # nothing half-written
