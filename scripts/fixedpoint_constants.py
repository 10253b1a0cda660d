#!/usr/bin/env python3
"""Print the Solidity constants of ``contracts/FixedPoint.sol``'s power (``pow``).

Usage: ``python scripts/fixedpoint_constants.py``. The values come from
:data:`agents.chain.fixedpoint.POW_TABLES` (floors of 90-digit decimal
logarithms); paste the output over the constants block of FixedPoint.sol.
``tests/chain/test_fixedpoint.py`` checks the contract's tables against the
mirror's, so a stale paste fails the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.chain.fixedpoint import POW_TABLES  # noqa: E402


def main() -> int:
    tb = POW_TABLES
    for i, v in enumerate(tb.atanh):
        print(f"    uint256 internal constant K{2 * i + 1} = {v};")
    for n, v in enumerate(tb.taylor):
        print(f"    uint256 internal constant C{n} = {v};")
    print(f"    int256 internal constant LOG2_WAD = {tb.log2_wad};")
    data = tb.table_bytes().hex()
    print("    bytes internal constant TABLES =")
    for i in range(0, len(data), 64 * 2):
        end = ";" if i + 128 >= len(data) else ""
        print(f'        hex"{data[i:i + 128]}"{end}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
