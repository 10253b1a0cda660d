#!/usr/bin/env python3
"""emg benchmarks: ``python scripts/bench.py {gas,solve,chain} [--json] [...]``.

Each benchmark prints a table (or JSON with ``--json``); none is a test. The
figures quoted in the README and in issue notes come from here.

* ``gas``   — gas per external function from receipts, and the headline gas of
  a steady-state order (``scripts/bench_gas.py``).
* ``solve`` — Nash solver time, iterations and residuals against ``M``
  (``scripts/bench_solve.py``).
* ``chain`` — orders per second through the simulation loop against a bare
  loop of pre-signed transactions (``scripts/bench_chain.py``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

BENCHES = {"gas": "bench_gas", "solve": "bench_solve", "chain": "bench_chain"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    module = importlib.import_module(BENCHES[argv[0]])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
