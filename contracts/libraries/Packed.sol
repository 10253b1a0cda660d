// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Packed encodings shared by the market and its events (file-level constants so
// that inline assembly can name them).

/// @dev Bytes a value takes in a packed array (orders' calldata, the events' `bytes`):
/// big-endian, every value < 2^84 < 2^88.
uint256 constant VALUE_BYTES = 11;
/// @dev Offset of the third value of a group of three in a packed array (2 · VALUE_BYTES).
uint256 constant VALUE2_OFFSET = 22;
/// @dev Shift that brings a value loaded as a 32-byte word down to its 11 bytes (256 − 8 · VALUE_BYTES).
uint256 constant VALUE_SHIFT = 168;
/// @dev Bytes of the round at the head of an order's payload (`Market.order`): big-endian,
/// every round ≤ 2^32 − 2.
uint256 constant ROUND_BYTES = 4;
/// @dev Shift that brings the payload's first word down to its round (256 − 8 · ROUND_BYTES).
uint256 constant ROUND_SHIFT = 224;
/// @dev Width of one running total in a totals slot; three totals (fields) per slot.
uint256 constant FIELD_BITS = 85;
/// @dev Bit position of a slot's third field (2 · FIELD_BITS).
uint256 constant FIELD2_SHIFT = 170;
/// @dev Mask of one field.
uint256 constant FIELD_MASK = (1 << 85) - 1;

/// @title Readers of packed arrays and of memory words, and the order commitment.
library Packed {
    /// @notice Value j of a packed array (VALUE_BYTES big-endian bytes a value).
    /// @param a the packed array, in calldata
    /// @param j the value's index, below the array's count (not checked)
    /// @return v the value
    function valueAt(bytes calldata a, uint256 j) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(VALUE_SHIFT, calldataload(add(a.offset, mul(j, VALUE_BYTES))))
        }
    }

    /// @notice The largest value of a packed array (0 if empty).
    /// @param a the packed array, in calldata (a whole number of values)
    /// @return m the maximum
    function maxValue(bytes calldata a) internal pure returns (uint256 m) {
        assembly ("memory-safe") {
            for { let o := a.offset let end := add(o, a.length) } lt(o, end) { o := add(o, VALUE_BYTES) } {
                let v := shr(VALUE_SHIFT, calldataload(o))
                if gt(v, m) { m := v }
            }
        }
    }

    /// @notice Word i (32 bytes) of a byte array in memory.
    /// @param data the array
    /// @param i the word's index, below length / 32 (not checked)
    /// @return w the word
    function wordAt(bytes memory data, uint256 i) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 32), mul(i, 32)))
        }
    }

    /// @notice Set word i (32 bytes) of a byte array in memory.
    /// @param data the array
    /// @param i the word's index, below length / 32 (not checked)
    /// @param w the word
    function setWordAt(bytes memory data, uint256 i, uint256 w) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(data, 32), mul(i, 32)), w)
        }
    }

    /// @notice The commitment to an order: keccak256(a ‖ b) of its two packed arrays
    /// (= keccak256(abi.encodePacked(a, b))), low 160 bits. Hashed straight from
    /// calldata, through unallocated memory past the free memory pointer.
    /// @param a the bids
    /// @param b the offers
    /// @return h the commitment, below 2^160
    function commitment(bytes calldata a, bytes calldata b) internal pure returns (uint256 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let la := a.length
            calldatacopy(p, a.offset, la)
            let lb := b.length
            calldatacopy(add(p, la), b.offset, lb)
            h := and(keccak256(p, add(la, lb)), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }
}
