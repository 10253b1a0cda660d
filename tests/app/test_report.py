"""HTML reports opened in headless Chromium: the plots render, no JavaScript error, nothing
loaded from the network (Plotly's JS is embedded)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from emg.cli import main
from market.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
CIA = str(ROOT / "scenarios" / "cia-money.toml")


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("EMG_REQUIRE_CHROMIUM") == "1":  # CI: the report test must run
            pytest.fail("headless Chromium is not installed (EMG_REQUIRE_CHROMIUM=1)")
        pytest.skip("headless Chromium is not installed (Debian package `chromium`; .ci/run and "
                    "`make test` install it with apt-get where they can)")
    return exe


def render(html_file: Path, tmp: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran (5 s of virtual time), and Chromium's console log."""
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=5000", "--dump-dom", html_file.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def check_rendered(dom: str, log: str, plots: int) -> None:
    assert re.search(r'<html[^>]*data-errors="0"', dom), re.findall(r'data-error-text="[^"]*"', dom)
    assert f'data-plot-divs="{plots}"' in dom
    assert f'data-plots="{plots}"' in dom  # every chart drawn: an SVG with its traces
    assert dom.count('class="main-svg"') >= plots
    console = [ln for ln in log.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console


def no_network(html: str) -> None:
    """No element loads anything (script src, link href, img src): Plotly's JS is inline."""
    from html.parser import HTMLParser

    loads: list[tuple[str, str]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            loads.extend((tag, str(v)) for k, v in attrs if k in ("src", "href"))

    Tags().feed(html)
    assert loads == []
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # the library itself is in the file


@pytest.mark.slow  # a 6-round simulation and Chromium, ~20 s
def test_run_report_in_chromium(tmp_path: Path) -> None:
    from agents.simulation import Simulation
    from emg.output import write_run

    scenario = load_scenario(CIA)
    result = Simulation(scenario, replace(scenario.simulation, rounds=6)).run()
    run_dir = tmp_path / "run"
    write_run(run_dir, result)
    assert main(["report", str(run_dir)]) == 0
    html = (run_dir / "report.html").read_text()
    no_network(html)
    assert "cia-money" in html and "Final round" in html
    first = html
    assert main(["report", str(run_dir), "--out", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text() == first  # deterministic
    dom, log = render(run_dir / "report.html", tmp_path)
    check_rendered(dom, log, plots=4)


def test_report_of_a_non_run_folder_is_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("no summary.json (expected an emg simulate --out folder)")


def test_study_report_in_chromium(tmp_path: Path) -> None:
    from emg.study.plots import statics
    from emg.study.runner import run_study
    from emg.study.spec import study_from_dict

    study = study_from_dict({"name": "small", "scenario": CIA, "mode": "solve", "combine": "grid",
                             "axes": {"producer[0].c": [0.5, 0.6, 0.7], "money": [1.0, 3.0]}})
    out = tmp_path / "study"
    run_study(study, out, workers=2, progress=False, say=lambda s: None)
    html = (out / "report.html").read_text()
    no_network(html)
    n = len(statics(study, out))
    assert n >= 2 * 4  # two numeric axes, at least four headline metrics
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(s.filename
                                                                       for s in statics(study, out))
    assert html.count("<tr>") >= 6 + 1  # the index table: a row per point
    dom, log = render(out / "report.html", tmp_path)
    check_rendered(dom, log, plots=n)
