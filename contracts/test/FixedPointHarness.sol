// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPoint} from "../FixedPoint.sol";

/// @title Test harness: exposes the market's fixed-point library (tests only; never deployed by emg).
contract FixedPointHarness {
    function powWad(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPoint.powWad(x, y);
    }

    /// @notice powWad and the gas it used (execution only, measured with gasleft).
    function powWadGas(uint256 x, uint256 y) external view returns (uint256 result, uint256 gasUsed) {
        uint256 g = gasleft();
        result = FixedPoint.powWad(x, y);
        gasUsed = g - gasleft();
    }

    function powWadUp(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPoint.powWadUp(x, y);
    }

    function ln36(uint256 x) external pure returns (int256) {
        return FixedPoint.ln36(x);
    }

    function exp36(int256 e) external pure returns (uint256) {
        return FixedPoint.exp36(e);
    }

    function mulDivUp(uint256 a, uint256 b, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivUp(a, b, d);
    }
}
