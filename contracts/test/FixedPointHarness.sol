// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPoint} from "../FixedPoint.sol";

/// @title Test harness: exposes the market's fixed-point library (tests only; never deployed by emg).
contract FixedPointHarness {
    function exponent(uint256 c) external pure returns (uint256) {
        return FixedPoint.exponent(c);
    }

    /// @notice powUp and the gas it used (execution only, measured with gasleft; the tables'
    /// copy to memory excluded: the market makes it once per order).
    function powUpGas(uint256 x, uint256 a) external view returns (uint256 result, uint256 gasUsed) {
        bytes memory tables = FixedPoint.TABLES;
        uint256 g = gasleft();
        result = FixedPoint.powUp(x, a, tables);
        gasUsed = g - gasleft();
    }

    function powUp(uint256 x, uint256 a) external pure returns (uint256) {
        return FixedPoint.powUp(x, a, FixedPoint.TABLES);
    }

    function tables() external pure returns (bytes memory) {
        return FixedPoint.TABLES;
    }

    function mulDivUp(uint256 a, uint256 b, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivUp(a, b, d);
    }
}
