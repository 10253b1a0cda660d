// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The electricity market game's trading posts: events and custom errors.
/// @notice Posts are indexed 0..T (0 = the consumption good, t = electricity in
/// period t). Bids are bytecoin wei, quantities wad (1.0 = 1e18).
interface IMarket {
    // ------------------------------------------------------------------ events
    /// @notice An agent was registered with its initial balance (wei) and, for a
    /// standard agent (kind 1), its endowment ω per round, for a producer (kind 2),
    /// its initial stock of the good (wad).
    event Registered(address indexed agent, uint256 kind, uint256 bytecoins, uint256 omegaOrStock);
    /// @notice Registration is over; round 0 is open until `deadline`.
    event Started(uint256 agents, uint256 deadline);
    /// @notice An order: bids on posts 0..T (wei); offers on posts 0..T (wad) for a
    /// producer, empty for a standard agent (who offers ω on post 0); `input` the
    /// good the offers need, Σ_t (q^t/θ^t)^{1/c} + ρ·max_t q^t (wad), taken from stock.
    /// Arrays are packed (gas is electricity: a log byte costs 8): 11 big-endian bytes a value.
    event OrderPlaced(address indexed agent, uint256 indexed round, bytes bids, bytes offers, uint256 input);
    /// @notice A previous order settled: allocations x^0..x^T (wad; x^t for t ≥ 1 is the
    /// electricity delivered in period t, x^0 the good bought), revenue from offers and
    /// refunds of bids on inactive posts (wei, credited to the balance), the good consumed
    /// (standard: x^0; producer: its stock left after the input) and the stock after (wad).
    /// `allocations` is packed: 11 big-endian bytes a value.
    event Settled(
        address indexed agent,
        uint256 indexed round,
        bytes allocations,
        uint256 revenue,
        uint256 refund,
        uint256 consumed,
        uint256 stock
    );
    /// @notice Round `round` closed with totals B^t (wei) and Q^t (wad) and prices
    /// p^t = floor(B^t·1e18/Q^t) (wei per unit; 0 where the post is inactive);
    /// round `round + 1` is open until `nextDeadline`.
    event RoundClosed(uint256 indexed round, uint256[] totalBids, uint256[] totalOffers, uint256[] prices, uint256 nextDeadline);
    /// @notice Bytecoins moved from the ERC-20 balance into the agent's market account.
    event Deposited(address indexed agent, uint256 amount);
    /// @notice Bytecoins moved from the agent's market account to its ERC-20 balance.
    event Withdrawn(address indexed agent, uint256 amount);

    // ------------------------------------------------------------------ errors
    error UnknownAgent(address agent);
    error NotDeployer(address caller);
    error NotStarted();
    error AlreadyStarted();
    error AlreadyRegistered(address agent);
    error Underfunded(uint256 held, uint256 credited);
    error BadParameter(string name, uint256 value);
    error BadLength(string field, uint256 length, uint256 expected);
    error LateOrder(uint256 round, uint256 deadline, uint256 timestamp);
    error AlreadyOrdered(address agent, uint256 round);
    error InsufficientBalance(address agent, uint256 balance, uint256 needed);
    error CapacityExceeded(address agent, uint256 post, uint256 offer, uint256 capacity);
    error InsufficientInput(address agent, uint256 required, uint256 stock);
    error AmountOverflow(uint256 post, uint256 amount);
    error ZeroAmount();
    error BadPrevious(address agent);
    error NothingToClaim(address agent);
    error RoundNotClosed(uint256 round);
    error RoundStillOpen(uint256 round, uint256 deadline, uint256 orders, uint256 agents);
    error UnknownRound(uint256 round);
}
