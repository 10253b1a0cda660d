// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPoint} from "../FixedPoint.sol";

/// @title Test harness: exposes the market's fixed-point library (tests only; never deployed by emg).
contract FixedPointHarness {
    function exponent(uint256 c) external pure returns (uint256) {
        return FixedPoint.exponent(c);
    }

    /// @notice The period words a c ≠ 1 producer's registration stores: θ^t | D^t << 84
    /// (FixedPoint.setLogOffsets; each θ in [1, 2^84 − 1]).
    function periodWords(uint256[] memory thetas, uint256 a) external pure returns (uint256[] memory) {
        _setLogOffsets(thetas, a);
        return thetas;
    }

    /// @notice FixedPoint.sumPowUp over the packed offers `qs` (11 bytes a value, each < 2^84)
    /// with θ^t = thetas[t], as an order charges a c ≠ 1 producer: (input, flagged).
    function sumPowUp(bytes calldata qs, uint256[] memory thetas, uint256 a)
        external
        pure
        returns (uint256 input, uint256 flagged)
    {
        require(qs.length == 11 * thetas.length);
        _setLogOffsets(thetas, a);
        uint256 offset;
        uint256 words;
        assembly {
            offset := qs.offset
            words := add(thetas, 0x20)
        }
        return FixedPoint.sumPowUp(offset, words, thetas.length, a);
    }

    function tables() external pure returns (bytes memory) {
        return FixedPoint.TABLES;
    }

    function mulDivUp(uint256 a, uint256 b, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivUp(a, b, d);
    }

    function _setLogOffsets(uint256[] memory thetas, uint256 a) private pure {
        uint256 words;
        assembly {
            words := add(thetas, 0x20)
        }
        FixedPoint.setLogOffsets(words, thetas.length, a);
    }
}
