// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Data contracts: bytes stored as the code of a contract (the SSTORE2 pattern).
/// @notice A data contract's code is a STOP byte (so a call to it does nothing),
/// then the data. Writing costs a CREATE and 200 gas a byte; reading is one
/// EXTCODECOPY. The writer finds its data contracts again by address, without
/// storage: the k-th contract an account creates has the CREATE address of
/// (account, nonce k) (`addressOf`).
library DataStore {
    /// @notice CREATE returned the zero address: the data contract of `length` bytes was not deployed.
    error DataStoreWriteFailed(uint256 length);

    /// @notice Deploy `data` as the code (after a STOP byte) of a new contract.
    /// @dev Creation code: PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY,
    /// RETURNDATASIZE, RETURN — copies the code after its 10 bytes and returns it.
    /// @param data the bytes to store (fewer than 65,535)
    /// @return ptr the data contract's address
    function write(bytes memory data) internal returns (address ptr) {
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600a3d393df300", data);
        assembly ("memory-safe") {
            ptr := create(0, add(init, 32), mload(init))
        }
        if (ptr == address(0)) revert DataStoreWriteFailed(data.length);
    }

    /// @notice `len` bytes of the data stored at `ptr` (after its STOP byte).
    /// @param ptr a data contract's address
    /// @param len the number of bytes to read (bytes past the code read as zero)
    /// @return data the bytes, in new memory
    function read(address ptr, uint256 len) internal view returns (bytes memory data) {
        data = new bytes(len);
        assembly ("memory-safe") {
            extcodecopy(ptr, add(data, 32), 1, len)
        }
    }

    /// @notice The address of the contract this contract created with `nonce`
    /// (keccak256 of the RLP list [address(this), nonce], last 20 bytes).
    /// @param nonce the CREATE nonce (a contract's first is 1), below 2^32
    /// @return the created contract's address
    function addressOf(uint256 nonce) internal view returns (address) {
        if (nonce < 0x80) {
            // the usual case, hashed in scratch space: 0xd6 0x94 ‖ address ‖ nonce (23 bytes)
            address a;
            assembly ("memory-safe") {
                mstore(0, or(or(shl(248, 0xd6), shl(240, 0x94)), or(shl(80, address()), shl(72, nonce))))
                a := and(keccak256(0, 23), 0xffffffffffffffffffffffffffffffffffffffff)
            }
            return a;
        }
        bytes memory rlp;
        if (nonce < 0x100) {
            rlp = abi.encodePacked(bytes2(0xd794), address(this), bytes1(0x81), uint8(nonce));
        } else if (nonce < 0x10000) {
            rlp = abi.encodePacked(bytes2(0xd894), address(this), bytes1(0x82), uint16(nonce));
        } else if (nonce < 0x1000000) {
            rlp = abi.encodePacked(bytes2(0xd994), address(this), bytes1(0x83), uint24(nonce));
        } else {
            rlp = abi.encodePacked(bytes2(0xda94), address(this), bytes1(0x84), uint32(nonce));
        }
        return address(uint160(uint256(keccak256(rlp))));
    }
}
