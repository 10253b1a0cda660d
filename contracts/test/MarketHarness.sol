// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Market} from "../Market.sol";
import {IBytecoin} from "../interfaces/IBytecoin.sol";
import {Packed} from "../libraries/Packed.sol";

/// @title Test harness: the market with a way to forge a commitment (tests only; never deployed by emg).
/// @notice `forgeCommitment` gives an agent the commitment of an order it did not place:
/// what a 160-bit collision (~2^80 work) would give an attacker, so that the tests can
/// show what settlement still refuses to trust.
contract MarketHarness is Market {
    constructor(IBytecoin token_, uint256 periods, uint256 roundDuration_, uint256 producers)
        Market(token_, periods, roundDuration_, producers)
    {}

    /// @notice Set the open round's number (its other fields unchanged): the round counter's bound.
    function setRound(uint256 r) external {
        _openRound = (_openRound >> 32 << 32) | r;
    }

    /// @notice Replace `who`'s commitment (its pending round unchanged) with that of (bids, offers).
    function forgeCommitment(address who, bytes calldata bids, bytes calldata offers) external {
        _meta[who] = ((_meta[who] >> 160) << 160) | Packed.commitment(bids, offers);
    }
}
