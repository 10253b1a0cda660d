// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The sealed-bid (commit–reveal) market: its events and custom errors, on top of IMarket's.
/// @notice A round has a commit phase, then a reveal phase. An agent commits to its order
/// (a hash) and escrows bytecoins for it; once the commit phase is over (or every agent
/// has committed) it reveals the order, which then counts exactly as a plain `order`.
interface ISealedMarket {
    // ------------------------------------------------------------------ events
    /// @notice `agent` committed to a sealed order for `round`, escrowing `escrow` wei
    /// (the most its bids may total).
    event Committed(address indexed agent, uint256 indexed round, bytes32 sealedOrder, uint256 escrow);
    /// @notice `agent` never revealed its commitment of `round`: its `escrow` wei stay in the
    /// market, owed to nobody (logged when the agent next commits).
    event Forfeited(address indexed agent, uint256 indexed round, uint256 escrow);

    // ------------------------------------------------------------------ errors
    /// @notice The reveal phase must be shorter than the round: 1 ≤ `duration` < `roundDuration` s.
    error InvalidRevealDuration(uint256 duration, uint256 roundDuration);
    /// @notice This market takes sealed orders only (`commit`, then `reveal`), not `order`.
    error SealedOrdersOnly();
    /// @notice Round `round`'s commit phase ended at `commitDeadline` (now `timestamp`).
    error CommitPhaseOver(uint256 round, uint256 commitDeadline, uint256 timestamp);
    /// @notice `agent` has committed in round `round` already.
    error AlreadyCommitted(address agent, uint256 round);
    /// @notice Round `round`'s reveal phase opens at `commitDeadline`, or once every agent
    /// has committed (now `timestamp`).
    error RevealNotOpen(uint256 round, uint256 commitDeadline, uint256 timestamp);
    /// @notice `agent` has no commitment in round `round` to reveal.
    error NoCommitment(address agent, uint256 round);
    /// @notice The revealed order hashes to `revealed`, not to `agent`'s commitment `committed`
    /// of round `round`.
    error RevealMismatch(address agent, uint256 round, bytes32 committed, bytes32 revealed);
}
