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
    /// @notice An order, `order` = bids ‖ offers as sent: bids on posts 0..T (wei), then
    /// offers on posts 0..T (wad) for a producer, none for a standard agent (who offers ω on
    /// post 0); `input` the good the offers need, Σ_t (q^t/θ^t)^{1/c} + ρ·max_t q^t (wad),
    /// taken from stock. Packed (gas is electricity: a log byte costs 8): 11 big-endian bytes
    /// a value, so the bids are its first 11·(T + 1) bytes.
    event OrderPlaced(address indexed agent, uint256 indexed round, bytes order, uint256 input);
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
    /// @notice `agent` is not registered (or, for a producer's views, not a producer).
    error UnknownAgent(address agent);
    /// @notice Only the deployer registers agents and starts the market.
    error NotDeployer(address caller);
    /// @notice The market has not started (no round is open).
    error NotStarted();
    /// @notice Registration is over: the market has started.
    error AlreadyStarted();
    /// @notice `agent` is registered already.
    error AlreadyRegistered(address agent);
    /// @notice At `start`, the market holds `held` bytecoins, less than the `credited` to the agents.
    error Underfunded(uint256 held, uint256 credited);
    /// @notice The token's supply (at `start`), or the market's holdings (at a `deposit`),
    /// `amount` wei, is above 2^84 − 1: the bound every balance and total relies on.
    error SupplyTooLarge(uint256 amount);
    /// @notice The number of producers fixed at deployment must be in 0..65,535 (a 16-bit index).
    error InvalidProducerCount(uint256 producers);
    /// @notice The market registers at most `maxProducers` producers (fixed at deployment).
    error TooManyProducers(uint256 maxProducers);
    /// @notice Round `round` is the last the 32-bit round counter allows (2^32 − 2): it cannot close.
    error RoundLimit(uint256 round);
    /// @notice The number of periods T must be in 1..700.
    error InvalidPeriods(uint256 periods);
    /// @notice The round duration must be in 1 s..365 days.
    error InvalidRoundDuration(uint256 duration);
    /// @notice An agent's address must not be zero.
    error InvalidAgent(address agent);
    /// @notice A standard agent's endowment ω must be in (0, 2^84) wad.
    error InvalidOmega(uint256 omega);
    /// @notice Σ ω over the standard agents (Q^0 every round) must stay below 2^84 wad.
    error OmegaTotalTooLarge(uint256 total);
    /// @notice The bytecoins credited to all agents must stay below 2^84 wei.
    error CreditTooLarge(uint256 credited);
    /// @notice A producer's exponent c must be in [0.1, 100] wad.
    error InvalidExponent(uint256 c);
    /// @notice A producer's capacity K must be below 2^84 wad (0 = none).
    error InvalidCapacity(uint256 capacity);
    /// @notice A producer's ρ must be below 2^84 wad.
    error InvalidRho(uint256 rho);
    /// @notice A producer's initial stock must be below 2^84 wad.
    error InvalidStock(uint256 stock);
    /// @notice Each θ^t must be in (0, 2^84) wad.
    error InvalidTheta(uint256 theta);
    /// @notice `start` needs at least one registered agent.
    error NoAgents();
    /// @notice Array `field` has `length` values where `expected` are required (at registration,
    /// in `requiredInput` and in a sealed market's reveal; `order` reverts BadOrderLength instead).
    error BadLength(string field, uint256 length, uint256 expected);
    /// @notice The order's payload has `length` bytes where its sender's order takes `expected`:
    /// 4 (the round) + 11·(T + 1) per array: bids; offers for a producer; the previous
    /// order's bids (and a producer's offers) iff the sender has an unsettled order.
    error BadOrderLength(uint256 length, uint256 expected);
    /// @notice Round `round` closed to orders at `deadline` (now `timestamp`).
    error LateOrder(uint256 round, uint256 deadline, uint256 timestamp);
    /// @notice The order was meant for round `expectedRound`, but round `openRound` is open
    /// (a transaction signed for a round that closed before it was mined, or too early).
    error WrongRound(uint256 expectedRound, uint256 openRound);
    /// @notice `agent` has ordered in round `round` already.
    error AlreadyOrdered(address agent, uint256 round);
    /// @notice `agent` has `balance` wei, less than the `needed` amount.
    error InsufficientBalance(address agent, uint256 balance, uint256 needed);
    /// @notice A producer offers nothing on post 0 (the good): its offer there was `offer`.
    error OfferOnGood(address agent, uint256 offer);
    /// @notice `agent`'s offer on `post` is above `capacity`: the smaller of its K and
    /// `offerCap` = (2^84 − 1)/maxProducers (the cap alone without a K).
    error CapacityExceeded(address agent, uint256 post, uint256 offer, uint256 capacity);
    /// @notice `agent`'s offers need `required` wad of the good; it holds `stock`.
    error InsufficientInput(address agent, uint256 required, uint256 stock);
    /// @notice An amount on `post` (or a post's total) would reach 2^84.
    error AmountOverflow(uint256 post, uint256 amount);
    /// @notice Deposits and withdrawals must be nonzero.
    error ZeroAmount();
    /// @notice The re-sent previous order does not match `agent`'s commitment (or there is none),
    /// or a re-sent bid (offer) exceeds its post's B^t (Q^t) in the settled round.
    error BadPrevious(address agent);
    /// @notice `agent` has no unsettled order.
    error NothingToClaim(address agent);
    /// @notice Round `round` is still open: its orders cannot be settled yet.
    error RoundNotClosed(uint256 round);
    /// @notice Round `round` can close only at `deadline` or once all `agents` have ordered.
    error RoundStillOpen(uint256 round, uint256 deadline, uint256 orders, uint256 agents);
    /// @notice Round `round` has not closed.
    error UnknownRound(uint256 round);
    /// @notice Internal invariant: the data contract just written is not at the CREATE
    /// address of the market's nonce `nonce`, where the market will look for it.
    error DataContractMismatch(uint256 nonce);
}
