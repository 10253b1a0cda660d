"""``market`` is the off-chain economics: importing all of it must not load web3 or ``agents``."""

from __future__ import annotations

import subprocess
import sys


def test_market_imports_no_chain_code() -> None:
    code = (
        "import sys, pkgutil, importlib, market\n"
        "for m in pkgutil.iter_modules(market.__path__):\n"
        "    importlib.import_module('market.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('web3', 'eth_tester', 'agents', 'solcx'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"market imported: {out.stdout.strip()}"
