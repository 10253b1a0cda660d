"""The output layer: atomic writes, strict JSON, byte-identical plots, CSV
columns, and light imports for the command modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from emg import output

    target = tmp_path / "summary.json"
    output.atomic_write_text(target, "old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        output.atomic_write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temp file left


def test_json_is_strict_and_plots_are_byte_identical(tmp_path: Path) -> None:
    from emg.output import dumps_json, plot_prices
    from agents.records import RoundRecord

    text = dumps_json({"a": float("nan"), "b": np.float64(1.5), "c": np.arange(2)})
    assert text == '{\n  "a": null,\n  "b": 1.5,\n  "c": [\n    0,\n    1\n  ]\n}\n'
    rounds = [RoundRecord(r, (1.0 + 1 / (r + 1), 2.0), (1.0, 2.0), (1.0, 1.0), 0.1, 2, 0, 10,
                          (0.0,), (1.0,)) for r in range(5)]
    plot_prices(tmp_path / "a.png", rounds, [1.0, 2.0], [0.9, 1.8])
    plot_prices(tmp_path / "b.png", rounds, [1.0, 2.0], [0.9, 1.8])
    a, b = (tmp_path / "a.png").read_bytes(), (tmp_path / "b.png").read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_columns_follow_T() -> None:
    from emg.output import agents_header, rounds_header

    assert rounds_header(2)[:4] == ["round", "p0", "p1", "p2"]
    h = agents_header(2)
    assert h[:4] == ["round", "agent", "kind", "status"]
    assert "E2" in h and "V1" in h and "E0" not in h and h[-1] == "error"


def test_the_command_modules_do_not_load_web3_at_import() -> None:
    code = ("import sys, emg.cli, emg.simulate, emg.output, agents.strategies, "
            "agents.agent, agents.simulation; "
            "emg.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('web3', 'eth_tester')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
