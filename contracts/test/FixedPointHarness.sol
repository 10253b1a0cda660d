// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPoint} from "../FixedPoint.sol";

/// @title Test harness: exposes the market's fixed-point library (tests only; never deployed by emg).
contract FixedPointHarness {
    function exponent(uint256 c) external pure returns (uint256) {
        return FixedPoint.exponent(c);
    }

    /// @notice (x/1e18)^(a/2^120) rounded up, as the market charges one offer: FixedPoint.sumPowUp
    /// over the one term q = x read from this call's data (offset 4), with θ = 1e18 (so x = q);
    /// type(uint256).max for a result of 2^120 or more (flagged by sumPowUp, not computed).
    function powUp(uint256 x, uint256 a) external pure returns (uint256 y) {
        y = _powUpOfArgument(x, a);
    }

    /// @notice powUp and the gas it used (execution only, measured with gasleft, the tables'
    /// copy included: the market makes it once per order).
    function powUpGas(uint256 x, uint256 a) external view returns (uint256 result, uint256 gasUsed) {
        uint256 g = gasleft();
        result = _powUpOfArgument(x, a);
        gasUsed = g - gasleft();
    }

    /// @notice FixedPoint.sumPowUp over q_0..q_{n−1} (an ABI array) with θ_i = thetas[i].
    function sumPowUp(uint256[] calldata qs, uint256[] memory thetas, uint256 a)
        external
        pure
        returns (uint256 sum, uint256 hi)
    {
        require(thetas.length == qs.length);
        uint256 q0;
        uint256 t0;
        assembly {
            q0 := qs.offset
            t0 := add(thetas, 0x20)
        }
        return FixedPoint.sumPowUp(q0, 32, 0, t0, qs.length, a);
    }

    function _powUpOfArgument(uint256 x, uint256 a) private pure returns (uint256 y) {
        // the power of 0 is not taken (no offer: the sum skips it); x·1e18 must not overflow
        if (x == 0 || x >> 196 != 0) revert FixedPoint.PowOutOfRange(1, a);
        uint256[] memory wad = new uint256[](1);
        wad[0] = 1e18;
        uint256 thetas;
        assembly {
            thetas := add(wad, 0x20)
        }
        uint256 hi;
        (y, hi) = FixedPoint.sumPowUp(4, 32, 0, thetas, 1, a);
        if (hi >> 120 != 0) y = type(uint256).max;
    }

    function tables() external pure returns (bytes memory) {
        return FixedPoint.TABLES;
    }

    function mulDivUp(uint256 a, uint256 b, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivUp(a, b, d);
    }
}
