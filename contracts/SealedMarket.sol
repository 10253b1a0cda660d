// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Market} from "./Market.sol";
import {ISealedMarket} from "./interfaces/ISealedMarket.sol";
import {IBytecoin} from "./interfaces/IBytecoin.sol";

/// @title The market with sealed bids: each round's orders are committed, then revealed.
/// @notice While a plain round is open every order and the running totals B^t, Q^t are
/// public, so the last mover best-responds to the others' actual bids. Here a round
/// of `roundDuration` seconds has two phases:
///   commit  (until the commit deadline = round deadline − `revealDuration`): an agent
///           settles its previous order (as `order` does), sends
///           sealedOrder = keccak256(market ‖ agent ‖ round ‖ salt ‖ bids ‖ offers) and
///           escrows `escrow` wei from its balance: the most its bids may total;
///   reveal  (from the commit deadline, or as soon as every agent has committed, until
///           the round deadline): the agent sends salt, bids and offers; they must hash
///           to its commitment and its bids must total at most its escrow; the order then
///           counts exactly as a plain `order` (prepaid from the escrow, the rest of the
///           escrow returned to the balance, totals, OrderPlaced, settlement next round).
/// `close` is the plain market's: at the round deadline, or once every agent has revealed.
///
/// An unrevealed commitment forfeits its escrow: the bytecoins stay in the market,
/// owed to nobody (they leave circulation). A refund would make not revealing a free
/// option: commit, watch the others reveal, then keep out if their bids are
/// unfavourable, which is the last-mover advantage sealing removes. Forfeiting to
/// anybody (the sellers, the keeper, the other agents) would reward whoever can stop a
/// reveal (by censoring or delaying its transaction); nobody gains from a burn.
contract SealedMarket is Market, ISealedMarket {
    /// @dev Mask of the escrow field of `_sealed` (bits 0–127); round + 1 is above it.
    uint256 private constant _BITMASK_ESCROW = (1 << 128) - 1;
    uint256 private constant _BITPOS_SEALED_ROUND = 128;
    uint256 private constant _BITPOS_COMMITS_ROUND = 32;
    uint256 private constant _BITMASK_COMMITS = 0xffffffff;

    /// @notice Seconds before a round's deadline in which its commitments are revealed.
    uint256 public immutable revealDuration;

    /// @dev Per agent: its escrow in wei (bits 0–127; 0 once revealed) | round + 1 of its
    /// last commitment (128–159).
    mapping(address => uint256) internal _sealed;
    /// @dev Per agent: its last commitment, keccak256(market ‖ agent ‖ round ‖ salt ‖ bids ‖ offers).
    mapping(address => bytes32) internal _sealedOrder;
    /// @dev Commitments in the open round: count (bits 0–31) | round + 1 (32–63).
    uint256 internal _commits;

    /// @param token_ the bytecoin
    /// @param periods the number of electricity periods T (1..700)
    /// @param roundDuration_ seconds from a round's opening to its deadline (1 s..365 days)
    /// @param producers the number of producers to be registered (0..65,535)
    /// @param revealDuration_ seconds of the reveal phase, at the end of each round (1..roundDuration_ − 1)
    constructor(IBytecoin token_, uint256 periods, uint256 roundDuration_, uint256 producers, uint256 revealDuration_)
        Market(token_, periods, roundDuration_, producers)
    {
        if (revealDuration_ == 0 || revealDuration_ >= roundDuration_) {
            revert InvalidRevealDuration(revealDuration_, roundDuration_);
        }
        revealDuration = revealDuration_;
    }

    /// @notice Not in this market: orders are sealed (`commit`, then `reveal`).
    function order(bytes calldata) external pure override {
        revert SealedOrdersOnly();
    }

    /// @notice Commit to this round's order and settle the previous one.
    /// @param expectedRound the round the agent means (WrongRound otherwise, as for `order`)
    /// @param prevBids the bids of the sender's unsettled order (empty if none), packed as in `order`
    /// (T + 1 values of VALUE_BYTES big-endian bytes)
    /// @param prevOffers its offers, packed likewise (producer: T + 1 values; standard: empty)
    /// @param sealedOrder keccak256(abi.encodePacked(market, sender, round, salt, bids, offers)),
    /// with `round` a uint256, `salt` a secret bytes32, bids and offers packed as in `order`
    /// @param escrow wei moved from the balance into escrow: the most the order's bids may total
    function commit(
        uint256 expectedRound,
        bytes calldata prevBids,
        bytes calldata prevOffers,
        bytes32 sealedOrder,
        uint256 escrow
    ) external {
        uint256 meta = _meta[msg.sender];
        if (meta == 0) revert UnknownAgent(msg.sender);
        uint256 rs = _openRound;
        uint256 r = _roundOf(rs);
        uint256 deadline = _deadlineOf(rs);
        if (deadline == 0) revert NotStarted();
        uint256 commitDeadline = deadline - revealDuration; // every deadline is ≥ roundDuration > revealDuration
        if (block.timestamp >= commitDeadline) revert CommitPhaseOver(r, commitDeadline, block.timestamp);
        if (expectedRound != r) revert WrongRound(expectedRound, r);
        uint256 s = _sealed[msg.sender];
        if (s >> _BITPOS_SEALED_ROUND == r + 1) revert AlreadyCommitted(msg.sender, r);
        // an escrow still held is an earlier round's commitment never revealed: forfeited
        if (s & _BITMASK_ESCROW != 0) emit Forfeited(msg.sender, (s >> _BITPOS_SEALED_ROUND) - 1, s & _BITMASK_ESCROW);
        uint256 acct = _acct[msg.sender];
        if (_pendingRoundOf(meta) != 0) {
            // its round is closed: an order is pending from a reveal, and this round has none yet
            _checkPrevious(meta, prevBids, prevOffers);
            acct = _settle(meta, acct, prevBids, prevOffers);
            _meta[msg.sender] = meta & _BITMASK_AGENT;
        } else if (prevBids.length != 0 || prevOffers.length != 0) {
            revert BadPrevious(msg.sender);
        }
        uint256 balance = acct & _BITMASK_BALANCE;
        if (escrow > balance) revert InsufficientBalance(msg.sender, balance, escrow);
        unchecked {
            acct -= escrow; // escrow ≤ the balance field, checked above: no borrow from the stock
        }
        _acct[msg.sender] = acct;
        _sealed[msg.sender] = escrow | ((r + 1) << _BITPOS_SEALED_ROUND);
        _sealedOrder[msg.sender] = sealedOrder;
        // count the commitment, the count restarting at a new round; branch-free, so that every
        // commitment costs the same gas whoever commits first (gas is v = κ·gas: no jitter)
        uint256 c = _commits;
        assembly ("memory-safe") {
            let tag := add(r, 1) // r < 2^32 − 1 (the round counter's bound): no overflow
            let same := eq(shr(_BITPOS_COMMITS_ROUND, c), tag)
            // at most one commitment per agent and round: the count stays below 2^32
            sstore(_commits.slot, or(shl(_BITPOS_COMMITS_ROUND, tag), add(mul(and(c, _BITMASK_COMMITS), same), 1)))
        }
        emit Committed(msg.sender, r, sealedOrder, escrow);
    }

    /// @notice Reveal this round's committed order: it is placed as `order` places it,
    /// prepaid from the escrow; the escrow's rest returns to the balance.
    /// @param expectedRound the round of the commitment (WrongRound if another is open)
    /// @param salt the secret of the commitment
    /// @param bids bids on posts 0..T in wei, packed as in `order`; their total ≤ the escrow
    /// @param offers producer: [0, q^1, ..., q^T] in wad, packed; standard: empty
    function reveal(uint256 expectedRound, bytes32 salt, bytes calldata bids, bytes calldata offers) external {
        uint256 meta = _meta[msg.sender];
        if (meta == 0) revert UnknownAgent(msg.sender);
        // started, before the round deadline (LateOrder), the round meant, not revealed yet (AlreadyOrdered)
        uint256 r = _roundOpenTo(meta, expectedRound);
        uint256 escrow = _unseal(r, salt, bids, offers);
        bool producer = _kindOf(meta) == PRODUCER;
        _checkLengths(bids, offers, producer); // BadLength
        uint256 acct = _acct[msg.sender];
        // place the order with the escrow as its balance (InsufficientBalance(agent, escrow,
        // bids) if they exceed it), then add back the balance outside the escrow
        _place(meta, r, (acct & ~_BITMASK_BALANCE) | escrow, bids, offers, producer);
        _acct[msg.sender] += acct & _BITMASK_BALANCE; // balance + escrow ≤ the market's holdings < 2^84: no carry
    }

    /// @dev Check the sender's reveal of round `r` (its commitment, the phase, the hash),
    /// release its escrow and return it.
    function _unseal(uint256 r, bytes32 salt, bytes calldata bids, bytes calldata offers)
        internal
        returns (uint256 escrow)
    {
        uint256 s = _sealed[msg.sender];
        if (s >> _BITPOS_SEALED_ROUND != r + 1) revert NoCommitment(msg.sender, r);
        uint256 commitDeadline = _deadlineOf(_openRound) - revealDuration;
        if (block.timestamp < commitDeadline && _commits != (((r + 1) << _BITPOS_COMMITS_ROUND) | _agents.length)) {
            revert RevealNotOpen(r, commitDeadline, block.timestamp);
        }
        bytes32 committed = _sealedOrder[msg.sender];
        bytes32 revealed = keccak256(abi.encodePacked(address(this), msg.sender, r, salt, bids, offers));
        if (revealed != committed) revert RevealMismatch(msg.sender, r, committed, revealed);
        _sealed[msg.sender] = s & ~_BITMASK_ESCROW; // the escrow is released (round kept)
        escrow = s & _BITMASK_ESCROW;
    }

    /// @notice An agent's last commitment.
    /// @param who the agent
    /// @return round its round (meaningless if `committed` is false)
    /// @return committed whether it ever committed
    /// @return escrow wei still escrowed (0 once revealed; if its round is closed, forfeited)
    /// @return sealedOrder the commitment
    function sealedState(address who)
        external
        view
        returns (uint256 round, bool committed, uint256 escrow, bytes32 sealedOrder)
    {
        uint256 s = _sealed[who];
        committed = s >> _BITPOS_SEALED_ROUND != 0;
        round = committed ? (s >> _BITPOS_SEALED_ROUND) - 1 : 0;
        escrow = s & _BITMASK_ESCROW;
        sealedOrder = _sealedOrder[who];
    }

    /// @notice The open round's commitments so far.
    /// @return the count
    function commitments() external view returns (uint256) {
        uint256 c = _commits;
        return c >> _BITPOS_COMMITS_ROUND == _roundOf(_openRound) + 1 ? c & _BITMASK_COMMITS : 0;
    }
}
