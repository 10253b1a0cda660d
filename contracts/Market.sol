// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarket} from "./interfaces/IMarket.sol";
import {IBytecoin} from "./interfaces/IBytecoin.sol";
import {FixedPoint} from "./FixedPoint.sol";
import {DataStore} from "./libraries/DataStore.sol";
import {
    Packed,
    VALUE_BYTES,
    VALUE2_OFFSET,
    VALUE_SHIFT,
    FIELD_BITS,
    FIELD2_SHIFT,
    FIELD_MASK,
    ROUND_BYTES,
    ROUND_SHIFT
} from "./libraries/Packed.sol";

/// @title The electricity market game (Spear 2003; Peck–Shell–Spear bids in a
/// unit of account) with crypto-in-advance, as T + 1 trading posts.
/// @notice Rounds r = 0, 1, 2, ...: each registered agent sends at most one
/// `order` per round, which prepays its bids (bytecoins into escrow), adds its
/// bids and offers to the open round's totals B^t, Q^t, and settles the
/// agent's previous order (pull settlement). A round closes (anyone may call
/// `close`) at its deadline or once every agent has ordered; closing fixes the
/// round's totals, from which each settlement computes, rounding down,
///   x^t = b^t·Q^t/B^t   (allocations, eqs. (5)–(7))
///   revenue = Σ_t q^t·B^t/Q^t   (the right-hand sides of (1) and (3))
/// and prices p^t = B^t/Q^t are reported (in the RoundClosed event). A post
/// with B^t = 0 or Q^t = 0 is inactive: bids are refunded, offers returned.
///
/// Gas design (docs/chain.md): bytecoins live in internal accounts (no token
/// call per order); the previous order is re-sent in calldata and checked
/// against a 160-bit commitment instead of being stored; the open round's
/// totals sit three per slot, stored as value + 1 so that they are never zero
/// (no 20k zero-to-nonzero writes); a closed round's totals are written once
/// into the code of a data contract (SSTORE2 pattern, libraries/DataStore.sol),
/// which a settlement reads with one EXTCODECOPY.
contract Market is IMarket {
    uint256 internal constant WAD = 1e18;
    /// @dev All three fields of a totals slot hold "zero" (stored as value + 1).
    uint256 internal constant SENTINEL = 1 | (1 << FIELD_BITS) | (1 << FIELD2_SHIFT);
    /// @dev Bound on the bytecoin supply (wei), on every amount and on every per-post
    /// total (2^84 − 1 ≈ 1.9e25: 19 million bytecoins or units); a field (85 bits)
    /// holds total + 1 ≤ 2^84, so adding one amount never carries into the next field.
    uint256 internal constant MAX_AMOUNT = (1 << 84) - 1;
    /// @dev Agent kinds (`_meta`, `Registered`, `agentState`).
    uint256 internal constant STANDARD = 1;
    uint256 internal constant PRODUCER = 2;
    /// @dev Bound on the number of periods T (a round's history is 32·(T + 1) bytes of code).
    uint256 internal constant MAX_T = 700;
    /// @dev Bound on the number of producers (the producer index is a 16-bit field).
    uint256 internal constant MAX_PRODUCERS = 65_535;
    /// @dev Bound on the round counter (a 32-bit field; an order stores round + 1 in 32 bits).
    uint256 internal constant MAX_ROUND = 0xfffffffe;

    // ----------------------------------------------- layout of the packed words
    // Gas is pinned exactly (.gas-snapshot.json, deployment included), so the names are
    // chosen to compile as the raw literals did: a field is read mask first,
    // `_BITMASK_X & (word >> _BITPOS_X)` (the other order compiles differently), a
    // constant used whole is a literal (`_ONE_ORDER`, not `1 << _BITPOS_ORDERS`), and
    // `1 << 160` stays a literal where a round opens. The getters below keep the gas too.
    // `_openRound`: round | deadline | orders | history base | Q^0 + 1.
    uint256 private constant _BITMASK_ROUND = 0xffffffff;
    uint256 private constant _BITPOS_DEADLINE = 32;
    uint256 private constant _BITMASK_DEADLINE = 0xffffffffffffffff;
    uint256 private constant _BITPOS_ORDERS = 96;
    uint256 private constant _BITMASK_ORDERS = 0xffffffff;
    uint256 private constant _BITPOS_HISTORY_BASE = 128;
    uint256 private constant _BITMASK_HISTORY_BASE = 0xffffffff;
    uint256 private constant _BITPOS_OFFERS0 = 160;
    /// @dev One order in the orders field (1 << _BITPOS_ORDERS).
    uint256 private constant _ONE_ORDER = 0x1000000000000000000000000;
    // `_meta`: commitment (the low 160 bits: `uint160(meta)`) | pending round + 1 | kind | producer index.
    uint256 private constant _BITPOS_PENDING = 160;
    uint256 private constant _BITMASK_PENDING = 0xffffffff;
    uint256 private constant _BITPOS_KIND = 192;
    uint256 private constant _BITMASK_KIND = 0xff;
    uint256 private constant _BITPOS_PRODUCER_INDEX = 200;
    uint256 private constant _BITMASK_PRODUCER_INDEX = 0xffff;
    /// @dev Kind and producer index: `_meta` without its order part (commitment and pending
    /// round, bits 0–191), which a claim clears and an order replaces.
    uint256 internal constant _BITMASK_AGENT = ~uint256(type(uint192).max);
    // `_acct`: balance | stock or ω.
    uint256 internal constant _BITMASK_BALANCE = (1 << 128) - 1;
    uint256 private constant _BITPOS_STOCK_OR_OMEGA = 128;
    // A closed round's history word for post t: B^t | Q^t.
    uint256 private constant _BITMASK_HISTORY_BIDS = (1 << 128) - 1;
    uint256 private constant _BITPOS_HISTORY_OFFERS = 128;
    // A producer's data contract: words c, 1/c (FixedPoint.exponent: 2^120/c), K, ρ, then θ^t is
    // word _PARAM_THETA + t (t ≥ 1): θ^t in its low FixedPoint.THETA_BITS, and for c ≠ 1 the
    // offset D^t of FixedPoint.setLogOffsets above it (for c = 1 the word is θ^t).
    uint256 private constant _PARAM_C = 0;
    uint256 private constant _PARAM_INV_C = 1;
    uint256 private constant _PARAM_CAPACITY = 2;
    uint256 private constant _PARAM_RHO = 3;
    uint256 private constant _PARAM_THETA = 3;
    /// @dev Memory offset of θ^t in the producer's parameters `p`: p + _THETA_AT + 32·t
    /// (a length word, then word _PARAM_THETA + t).
    uint256 private constant _THETA_AT = 0x80;

    // ------------------------------------------- ABI data of the hand-built logs
    // OrderPlaced(bytes order, uint256 input): a head of two words (offset of the order,
    // input), then the order (length word, bids ‖ offers, zero padding).
    uint256 private constant _ORDER_HEAD = 0x40;
    uint256 private constant _ORDER_DATA = 0x60;
    // Settled(bytes allocations, revenue, refund, consumed, stock): a head of five
    // words, then the allocations (length word at 0xa0, data from 0xc0).
    uint256 private constant _SETTLED_REVENUE = 0x20;
    uint256 private constant _SETTLED_REFUND = 0x40;
    uint256 private constant _SETTLED_CONSUMED = 0x60;
    uint256 private constant _SETTLED_STOCK = 0x80;
    uint256 private constant _SETTLED_HEAD = 0xa0;
    uint256 private constant _SETTLED_DATA = 0xc0;

    /// @notice The bytecoin (unit of account) this market holds in custody.
    IBytecoin public immutable token;
    /// @notice Number of electricity periods; posts are 0..T.
    uint256 public immutable T;
    /// @notice Seconds from a round's opening to its deadline.
    uint256 public immutable roundDuration;
    /// @notice The account that registers the agents and starts the market.
    address public immutable deployer;
    /// @notice The number of producers the market registers (at most; fixed at deployment).
    uint256 public immutable maxProducers;
    /// @notice Bound on each producer's offer on a post, wad: floor((2^84 − 1)/maxProducers),
    /// so that the sum of every producer's largest offers fits a post's total: no producer
    /// can fill Q^t and shut the others' offers out.
    uint256 public immutable offerCap;

    /// @dev The open round, packed: round (bits 0–31) | deadline (32–95) |
    /// orders so far (96–127) | the market's CREATE nonce of round 0's history
    /// (128–159) | Q^0 + 1 (160–255). Zero until `start`.
    uint256 internal _openRound;
    /// @dev B^t + 1 for the open round, three 85-bit fields per slot: slot i holds
    /// posts 3i (bits 0–84), 3i+1 (85–169), 3i+2 (170–254).
    mapping(uint256 => uint256) internal _openBids;
    /// @dev Q^t + 1 for t ≥ 1, likewise: slot i holds posts 3i+1, 3i+2, 3i+3.
    mapping(uint256 => uint256) internal _openOffers;
    /// @dev Per agent: balance in wei (bits 0–127) | producer's stock of the good,
    /// or standard agent's endowment ω, in wad (128–255).
    mapping(address => uint256) internal _acct;
    /// @dev Per agent: commitment to its unsettled order, keccak256(bids ‖ offers)
    /// truncated to 160 bits (0–159) | its round + 1, 0 if none (160–191) |
    /// kind (192–199) | producer index (200–215). Nonzero iff registered.
    mapping(address => uint256) internal _meta;
    /// @dev Number of producers. Data contracts (libraries/DataStore.sol) are found
    /// by address without storage reads: the market creates them, so the k-th has
    /// the CREATE address of (market, nonce k), k = 1, 2, ...
    ///   producer i's parameters: nonce 1 + i, words (c, 1/c, K (0 = no cap), ρ, θ^1..θ^T), wad;
    ///   round r's final totals: nonce (history base) + r, per post t = 0..T the
    ///   word B^t | Q^t << 128.
    uint256 internal _producers;
    /// @dev The registered agents, in registration order.
    address[] internal _agents;
    /// @dev Bytecoins credited at registration (the market must hold them at `start`).
    uint256 internal _credited;
    /// @dev Σ ω over the standard agents (bounded so that Q^0 fits its field).
    uint256 internal _omegaTotal;

    /// @param token_ the bytecoin
    /// @param periods the number of electricity periods T (1..700)
    /// @param roundDuration_ seconds from a round's opening to its deadline (1 s..365 days)
    /// @param producers the number of producers to be registered (0..65,535)
    constructor(IBytecoin token_, uint256 periods, uint256 roundDuration_, uint256 producers) {
        if (periods == 0 || periods > MAX_T) revert InvalidPeriods(periods);
        if (roundDuration_ == 0 || roundDuration_ > 365 days) revert InvalidRoundDuration(roundDuration_);
        if (producers > MAX_PRODUCERS) revert InvalidProducerCount(producers);
        maxProducers = producers;
        offerCap = MAX_AMOUNT / (producers == 0 ? 1 : producers);
        token = token_;
        T = periods;
        roundDuration = roundDuration_;
        deployer = msg.sender;
        for (uint256 i; i < (periods + 3) / 3; ++i) _openBids[i] = SENTINEL;
        for (uint256 i; i < (periods + 2) / 3; ++i) _openOffers[i] = SENTINEL;
    }

    // ------------------------------------------------------- packed-word getters

    /// @dev The open round's number.
    function _roundOf(uint256 rs) internal pure returns (uint256) {
        return _BITMASK_ROUND & rs;
    }

    /// @dev The open round's deadline (0 before `start`).
    function _deadlineOf(uint256 rs) internal pure returns (uint256) {
        return _BITMASK_DEADLINE & (rs >> _BITPOS_DEADLINE);
    }

    /// @dev The orders placed in the open round so far.
    function _ordersOf(uint256 rs) internal pure returns (uint256) {
        return _BITMASK_ORDERS & (rs >> _BITPOS_ORDERS);
    }

    /// @dev An agent's kind: 0 unknown, STANDARD or PRODUCER.
    function _kindOf(uint256 meta) internal pure returns (uint256) {
        return _BITMASK_KIND & (meta >> _BITPOS_KIND);
    }

    /// @dev 1 + the round of the agent's unsettled order; 0 if none.
    function _pendingRoundOf(uint256 meta) internal pure returns (uint256) {
        return _BITMASK_PENDING & (meta >> _BITPOS_PENDING);
    }

    // ------------------------------------------------------------ registration

    /// @dev Registration: only the deployer, only before `start`.
    modifier onlyDeployerBeforeStart() {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (_openRound != 0) revert AlreadyStarted();
        _;
    }

    /// @notice Register standard agents: endowment ω (wad) offered on post 0 with
    /// every order, and initial bytecoins (wei) credited to their accounts.
    /// @param who the agents' addresses (new, nonzero)
    /// @param omega each agent's endowment ω per round, wad (0 < ω; Σ ω ≤ MAX_AMOUNT)
    /// @param bytecoins each agent's initial balance, wei (Σ over all agents ≤ MAX_AMOUNT)
    function registerStandard(address[] calldata who, uint256[] calldata omega, uint256[] calldata bytecoins)
        external
        onlyDeployerBeforeStart
    {
        if (omega.length != who.length) revert BadLength("omega", omega.length, who.length);
        if (bytecoins.length != who.length) revert BadLength("bytecoins", bytecoins.length, who.length);
        for (uint256 i; i < who.length; ++i) {
            uint256 w = omega[i];
            if (w == 0 || w > MAX_AMOUNT) revert InvalidOmega(w);
            _omegaTotal += w;
            if (_omegaTotal > MAX_AMOUNT) revert OmegaTotalTooLarge(_omegaTotal);
            _register(who[i], STANDARD, 0, bytecoins[i], w);
        }
    }

    /// @notice Register a producer: technology q = θ^t·φ^c, capacity K (0 = none:
    /// long run, where the input also carries ρ·max_t q^t), initial stock of the
    /// good and initial bytecoins.
    /// @param who the producer's address (new, nonzero)
    /// @param bytecoins its initial balance, wei
    /// @param stock its initial stock of the good, wad (≤ MAX_AMOUNT)
    /// @param c the exponent, wad (0.1 ≤ c ≤ 100)
    /// @param capacity K, wad (0 = no capacity limit; ≤ MAX_AMOUNT)
    /// @param rho ρ, the input per unit of max_t q^t, wad (≤ MAX_AMOUNT)
    /// @param theta θ^1..θ^T, wad (one value: the same in every period; each 0 < θ ≤ MAX_AMOUNT)
    function registerProducer(
        address who,
        uint256 bytecoins,
        uint256 stock,
        uint256 c,
        uint256 capacity,
        uint256 rho,
        uint256[] calldata theta
    ) external onlyDeployerBeforeStart {
        uint256 periods = T;
        if (theta.length != 1 && theta.length != periods) revert BadLength("theta", theta.length, periods);
        if (c < WAD / 10 || c > 100 * WAD) revert InvalidExponent(c);
        if (capacity > MAX_AMOUNT) revert InvalidCapacity(capacity);
        if (rho > MAX_AMOUNT) revert InvalidRho(rho);
        if (stock > MAX_AMOUNT) revert InvalidStock(stock);
        // the words (c, 1/c as FixedPoint.exponent, K, ρ, θ^1..θ^T) written in place: one allocation, linear in T
        // (re-encoding the blob per period was quadratic in memory: T ≈ 358 at most)
        bytes memory blob = new bytes(32 * (_PARAM_THETA + 1 + periods));
        Packed.setWordAt(blob, _PARAM_C, c);
        Packed.setWordAt(blob, _PARAM_INV_C, FixedPoint.exponent(c));
        Packed.setWordAt(blob, _PARAM_CAPACITY, capacity);
        Packed.setWordAt(blob, _PARAM_RHO, rho);
        for (uint256 t; t < periods; ++t) {
            uint256 th = theta.length == 1 ? theta[0] : theta[t];
            if (th == 0 || th > MAX_AMOUNT) revert InvalidTheta(th);
            Packed.setWordAt(blob, _PARAM_THETA + 1 + t, th);
        }
        if (c != WAD) {
            // θ^t gets D^t = log2(1e18) − floor(log2(θ^t)/c) above it: an order's powers need no division
            uint256 words;
            assembly ("memory-safe") {
                words := add(blob, add(0x20, shl(5, add(_PARAM_THETA, 1)))) // word _PARAM_THETA + 1: θ^1
            }
            FixedPoint.setLogOffsets(words, periods, Packed.wordAt(blob, _PARAM_INV_C));
        }
        uint256 index = _producers++;
        if (index >= maxProducers) revert TooManyProducers(maxProducers);
        if (DataStore.write(blob) != DataStore.addressOf(1 + index)) revert DataContractMismatch(1 + index);
        _register(who, PRODUCER, index, bytecoins, stock);
    }

    /// @dev Record an agent: its kind and producer index, balance and stock or ω.
    function _register(address who, uint256 kind, uint256 index, uint256 bytecoins, uint256 stockOrOmega) internal {
        if (who == address(0)) revert InvalidAgent(who);
        if (_meta[who] != 0) revert AlreadyRegistered(who);
        _credited += bytecoins;
        if (_credited > MAX_AMOUNT) revert CreditTooLarge(_credited);
        _meta[who] = (kind << _BITPOS_KIND) | (index << _BITPOS_PRODUCER_INDEX);
        _acct[who] = bytecoins | (stockOrOmega << _BITPOS_STOCK_OR_OMEGA);
        _agents.push(who);
        emit Registered(who, kind, bytecoins, stockOrOmega);
    }

    /// @notice End registration and open round 0. The market must hold at least
    /// the bytecoins credited to the agents (more, e.g. a donation, stays in the
    /// market as escrow nobody is owed), and the token's whole supply must be below
    /// 2^84 wei: every balance, bid and per-post total is bounded by it.
    function start() external onlyDeployerBeforeStart {
        uint256 held = token.balanceOf(address(this));
        if (held < _credited) revert Underfunded(held, _credited);
        uint256 supply = token.totalSupply();
        if (supply > MAX_AMOUNT) revert SupplyTooLarge(supply);
        if (_agents.length == 0) revert NoAgents();
        uint256 deadline = block.timestamp + roundDuration;
        // round 0, no orders, history from the nonce after the producers' data contracts,
        // Q^0 = 0 (1 << _BITPOS_OFFERS0)
        _openRound = (deadline << _BITPOS_DEADLINE) | ((1 + _producers) << _BITPOS_HISTORY_BASE) | (1 << 160);
        emit Started(_agents.length, deadline);
    }

    // ------------------------------------------------------------------ trading

    /// @notice Place this round's order and settle the previous one, from one packed
    /// payload (calldata is 16 gas a non-zero byte, 4 a zero byte, and gas is electricity:
    /// one `bytes` instead of five ABI arguments saves their offset and length words and
    /// paddings, an ABI word per value would cost ~80 more):
    ///   data = expectedRound ‖ prevBids ‖ prevOffers ‖ bids ‖ offers
    /// `expectedRound` takes ROUND_BYTES (4) big-endian bytes, every array T + 1 values of
    /// VALUE_BYTES (11) big-endian bytes, and which arrays are present follows from what the
    /// market knows of the sender, so one length check (BadOrderLength) covers them all:
    /// @param data the payload:
    /// expectedRound: the round the agent means: the order reverts (WrongRound) unless it
    /// is the open round, so a transaction signed for round r and mined after r closed
    /// cannot execute in round r + 1 with r's bids;
    /// prevBids, prevOffers: the sender's unsettled order (see `agentState`), absent if none;
    /// bids: bids on posts 0..T in wei, prepaid from the balance;
    /// offers: producer: [0, q^1, ..., q^T] in wad (q^t ≤ K); standard: absent (the endowment
    /// ω is offered on post 0 automatically: sell-all), and so is prevOffers
    function order(bytes calldata data) external virtual {
        uint256 meta = _meta[msg.sender];
        if (meta == 0) revert UnknownAgent(msg.sender);
        uint256 expectedRound;
        // memory-safe: reads calldata only. A payload shorter than ROUND_BYTES fails the length
        // check below; its round, read past its end, can only change which earlier check reports.
        assembly ("memory-safe") {
            expectedRound := shr(ROUND_SHIFT, calldataload(data.offset))
        }
        uint256 r = _roundOpenTo(meta, expectedRound);
        bool producer = _kindOf(meta) == PRODUCER;
        uint256 last = _pendingRoundOf(meta);
        uint256 nb; // bytes of one array
        uint256 no; // bytes of the offers (and previous offers)
        uint256 at; // where the bids begin
        uint256 end; // the payload's length
        unchecked {
            // T ≤ MAX_T (700): every length is below 2^15
            nb = (T + 1) * VALUE_BYTES;
            no = producer ? nb : 0;
            at = last != 0 ? ROUND_BYTES + nb + no : ROUND_BYTES;
            end = at + nb + no;
        }
        if (data.length != end) revert BadOrderLength(data.length, end);
        // the parts as calldata slices; set in assembly: the length check above bounds them
        // all, so the range checks of data[a:b] would only cost gas
        bytes calldata prevBids = data;
        bytes calldata prevOffers = data;
        bytes calldata bids = data;
        bytes calldata offers = data;
        // memory-safe: only slice variables (stack) are set
        assembly ("memory-safe") {
            prevBids.offset := add(data.offset, ROUND_BYTES) // the previous order: read only if there is one
            prevBids.length := nb
            prevOffers.offset := add(prevBids.offset, nb)
            prevOffers.length := no
            bids.offset := add(data.offset, at)
            bids.length := nb
            offers.offset := add(bids.offset, nb)
            offers.length := no
        }
        uint256 acct = _acct[msg.sender];
        if (last != 0) acct = _settle(meta, acct, prevBids, prevOffers);
        _place(meta, r, acct, bids, offers, producer);
    }

    /// @dev The open round's number; reverts if the sender may not order now, or
    /// means another round (`expectedRound`).
    function _roundOpenTo(uint256 meta, uint256 expectedRound) internal view returns (uint256 r) {
        uint256 rs = _openRound;
        r = _roundOf(rs);
        uint256 deadline = _deadlineOf(rs);
        if (deadline == 0) revert NotStarted();
        if (block.timestamp >= deadline) revert LateOrder(r, deadline, block.timestamp);
        if (expectedRound != r) revert WrongRound(expectedRound, r);
        if (_pendingRoundOf(meta) == r + 1) revert AlreadyOrdered(msg.sender, r);
    }

    /// @dev Reveal's length check of an order (`order` checks its whole payload instead):
    /// bids T + 1 values, offers T + 1 values for a producer, none for a standard agent.
    function _checkLengths(bytes calldata bids, bytes calldata offers, bool producer) internal view {
        uint256 n = T + 1;
        // lengths in values (a byte length that is not a whole number of values is rejected too)
        if (bids.length != n * VALUE_BYTES) revert BadLength("bids", bids.length / VALUE_BYTES, n);
        if (offers.length != (producer ? n * VALUE_BYTES : 0)) {
            revert BadLength("offers", offers.length / VALUE_BYTES, producer ? n : 0);
        }
    }

    /// @dev Prepay the bids, add bids and offers to the totals, commit the order. The
    /// caller has checked the lengths (`order`'s BadOrderLength, a reveal's `_checkLengths`).
    function _place(
        uint256 meta,
        uint256 r,
        uint256 acct,
        bytes calldata bids,
        bytes calldata offers,
        bool producer
    ) internal {
        uint256 balance = _prepay(acct & _BITMASK_BALANCE, bids);
        uint256 input;
        uint256 stockOrOmega = acct >> _BITPOS_STOCK_OR_OMEGA;
        if (producer) {
            input = _offer(meta, offers);
            if (input > stockOrOmega) revert InsufficientInput(msg.sender, input, stockOrOmega);
            unchecked {
                stockOrOmega -= input; // input ≤ stock, checked above
            }
            _openRound += _ONE_ORDER; // one more order
        } else {
            _openRound += _ONE_ORDER | (stockOrOmega << _BITPOS_OFFERS0); // one more order; Q^0 += ω
        }
        _acct[msg.sender] = balance | (stockOrOmega << _BITPOS_STOCK_OR_OMEGA);
        // emit OrderPlaced(msg.sender, r, bids ‖ offers, input): the order copied from calldata
        // once, and its commitment hashed from that copy
        uint256 h;
        bytes32 topic = OrderPlaced.selector;
        // memory-safe: the event data is built in unallocated memory past the free memory pointer
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, _ORDER_HEAD) // offset of the order: after the head
            mstore(add(m, 0x20), input)
            let lb := bids.length
            let l := add(lb, offers.length)
            mstore(add(m, _ORDER_HEAD), l)
            let d := add(m, _ORDER_DATA)
            calldatacopy(d, bids.offset, lb)
            calldatacopy(add(d, lb), offers.offset, offers.length)
            h := and(keccak256(d, l), 0xffffffffffffffffffffffffffffffffffffffff) // = Packed.commitment(bids, offers)
            mstore(add(d, l), 0) // zero padding
            log3(m, add(_ORDER_DATA, and(add(l, 31), not(31))), topic, caller(), r)
        }
        _meta[msg.sender] = (meta & _BITMASK_AGENT) | ((r + 1) << _BITPOS_PENDING) | h;
    }

    /// @dev Add the bids to B^t (one write per slot); return the balance left, reverting if short.
    /// A slot (three posts) at a time; values past the last post are masked to 0.
    function _prepay(uint256 balance, bytes calldata bids) internal returns (uint256) {
        uint256 total;
        bool bad; // some bid exceeds MAX_AMOUNT
        // memory-safe: only the scratch space (0x00–0x3f) is written, for the slots' hashes
        assembly ("memory-safe") {
            mstore(0x20, _openBids.slot)
            let n := div(bids.length, VALUE_BYTES)
            for { let j := 0 } lt(j, n) { j := add(j, 3) } {
                let p := add(bids.offset, mul(j, VALUE_BYTES))
                let b0 := shr(VALUE_SHIFT, calldataload(p))
                let b1 := mul(lt(add(j, 1), n), shr(VALUE_SHIFT, calldataload(add(p, VALUE_BYTES))))
                let b2 := mul(lt(add(j, 2), n), shr(VALUE_SHIFT, calldataload(add(p, VALUE2_OFFSET))))
                // any value ≥ 2^84 sets a bit the or keeps
                if gt(or(or(b0, b1), b2), MAX_AMOUNT) {
                    bad := 1
                    break
                }
                total := add(total, add(add(b0, b1), b2)) // ≤ 701 · 2^84: no overflow
                // each field holds ≤ supply + 1 ≤ 2^84 and every b < 2^84: no carry between fields
                let acc := or(or(b0, shl(FIELD_BITS, b1)), shl(FIELD2_SHIFT, b2))
                if acc {
                    mstore(0, div(j, 3))
                    let slot := keccak256(0, 0x40)
                    sstore(slot, add(sload(slot), acc))
                }
            }
        }
        if (bad) {
            for (uint256 j;; ++j) {
                if (Packed.valueAt(bids, j) > MAX_AMOUNT) revert AmountOverflow(j, Packed.valueAt(bids, j));
            }
        }
        if (total > balance) revert InsufficientBalance(msg.sender, balance, total);
        unchecked {
            return balance - total; // total ≤ balance, checked above
        }
    }

    /// @dev Add a producer's offers to Q^t (one write per slot), check capacity,
    /// return its input need. One pass in assembly (c = 1 computes the input in
    /// it); for c ≠ 1 the powers follow, up to the first rejected post, so the
    /// first failing post decides the error exactly as a post-by-post loop would.
    function _offer(uint256 meta, bytes calldata offers) internal returns (uint256 input) {
        if (Packed.valueAt(offers, 0) != 0) revert OfferOnGood(msg.sender, Packed.valueAt(offers, 0));
        bytes memory p = DataStore.read(DataStore.addressOf(1 + (_BITMASK_PRODUCER_INDEX & (meta >> _BITPOS_PRODUCER_INDEX))), 32 * (T + 4));
        // lim = min(K, offerCap) (K = 0: none): each producer's offer ≤ offerCap, so Q^t ≤ MAX_AMOUNT
        uint256 lim = Packed.wordAt(p, _PARAM_CAPACITY);
        if (lim == 0 || lim > offerCap) lim = offerCap;
        uint256 badPost; // the first post whose offer exceeds lim (0: none)
        (input, badPost) = _offerPass(offers, p, lim);
        if (Packed.wordAt(p, _PARAM_C) != WAD) {
            // the posts a post-by-post loop would have priced before failing
            input += _powers(offers, p, badPost != 0 ? badPost - 1 : T);
        }
        if (badPost != 0) revert CapacityExceeded(msg.sender, badPost, Packed.valueAt(offers, badPost), lim);
        uint256 rho = Packed.wordAt(p, _PARAM_RHO);
        // the long run's ρ·max_t q^t: a second pass over the offers, for those producers only
        if (rho != 0) input += FixedPoint.mulDivUp(rho, Packed.maxValue(offers), WAD);
    }

    /// @dev The pass over the offers q^1..q^T: capacity, Q^t += q^t (one write per
    /// slot, stopping at the first post above `lim`), and for c = 1 the input
    /// Σ ceil(q^t·1e18/θ^t). `p` holds the producer's words (c, 1/c, K, ρ, θ^1..θ^T).
    ///
    /// No total can pass MAX_AMOUNT, so nothing is checked when adding: every offer is
    /// ≤ lim ≤ offerCap = floor(MAX_AMOUNT/P), each of the at most P producers (checked at
    /// registration) offers at most once a round (AlreadyOrdered), so a field holds
    /// 1 (the sentinel) + Q^t ≤ 1 + P·floor(MAX_AMOUNT/P) ≤ 2^84 < 2^85 (its width: no
    /// carry into the next field). Q^t = MAX_AMOUNT exactly is a legal total.
    function _offerPass(bytes calldata offers, bytes memory p, uint256 lim)
        internal
        returns (uint256 input, uint256 badPost)
    {
        uint256 periods = T;
        // memory-safe: only the scratch space (0x00–0x3f) is written, for the slots' hashes
        assembly ("memory-safe") {
            mstore(0x20, _openOffers.slot)
            let unit := eq(mload(add(p, 0x20)), WAD) // word _PARAM_C: c = 1
            // a slot (posts t, t + 1, t + 2) at a time; offers past post T are masked to 0
            for { let t := 1 } iszero(gt(t, periods)) { t := add(t, 3) } {
                let o := add(offers.offset, mul(t, VALUE_BYTES))
                let q0 := shr(VALUE_SHIFT, calldataload(o))
                let q1 := mul(lt(t, periods), shr(VALUE_SHIFT, calldataload(add(o, VALUE_BYTES))))
                let q2 := mul(lt(add(t, 1), periods), shr(VALUE_SHIFT, calldataload(add(o, VALUE2_OFFSET))))
                // one branch for the three (no running maximum: the long run's ρ·max_t q^t
                // takes its own pass, `Packed.maxValue`)
                if or(or(gt(q0, lim), gt(q1, lim)), gt(q2, lim)) {
                    // the first of the three above the limit
                    let ok0 := iszero(gt(q0, lim))
                    badPost := add(t, add(ok0, and(ok0, iszero(gt(q1, lim)))))
                    break
                }
                if unit {
                    // c = 1: φ = ceil(q·1e18/θ^t) = floor((q·1e18 + θ^t − 1)/θ^t) (0 for q = 0);
                    // θ^t ≥ 1 is word _PARAM_THETA + t of p; q < 2^84 so q·1e18 + θ^t < 2^145
                    let th := add(p, add(_THETA_AT, shl(5, t)))
                    let th0 := mload(th)
                    let th1 := mload(add(th, 0x20))
                    let th2 := mload(add(th, 0x40))
                    input := add(input, add(add(div(add(mul(q0, WAD), sub(th0, 1)), th0),
                        div(add(mul(q1, WAD), sub(th1, 1)), th1)), div(add(mul(q2, WAD), sub(th2, 1)), th2)))
                }
                // Q slot t/3 += the three offers (each field stays ≤ 2^84: see above)
                let acc := or(or(q0, shl(FIELD_BITS, q1)), shl(FIELD2_SHIFT, q2))
                if acc {
                    mstore(0, div(t, 3))
                    let slot := keccak256(0, 0x40)
                    sstore(slot, add(sload(slot), acc))
                }
            }
        }
    }

    /// @dev Σ_{t ≤ upto} (q^t/θ^t)^{1/c} for c ≠ 1 (p as in _offerPass: the period words carry the
    /// offsets D^t), rounded up (against the producer); q^t < 2^84 here (below the capacity limit).
    function _powers(bytes calldata offers, bytes memory p, uint256 upto) internal pure returns (uint256 input) {
        uint256 qs;
        uint256 words;
        assembly ("memory-safe") {
            qs := add(offers.offset, VALUE_BYTES) // q^1
            words := add(p, add(_THETA_AT, 0x20)) // the word of θ^1
        }
        uint256 flagged;
        (input, flagged) = FixedPoint.sumPowUp(qs, words, upto, Packed.wordAt(p, _PARAM_INV_C));
        // a term of 2^121 wad or more, or a sum above any stock
        if (flagged != 0) revert AmountOverflow(0, type(uint256).max);
        if (input > MAX_AMOUNT) revert AmountOverflow(0, input);
    }

    /// @dev Settle the sender's unsettled order (placed in a closed round) from
    /// its re-sent bids and offers, checked against the commitment; return the
    /// new packed account. Allocations x^t = floor(b^t·Q^t/B^t), revenue
    /// Σ floor(q^t·B^t/Q^t) (standard agent: floor(ω·B^0/Q^0)) and the refund of
    /// bids on inactive posts, from the closed round's totals; the allocations
    /// are written straight into the `Settled` event's ABI data. The caller has
    /// checked the lengths (`order`'s BadOrderLength, `_checkPrevious` otherwise).
    function _settle(uint256 meta, uint256 acct, bytes calldata pb, bytes calldata po)
        internal
        returns (uint256)
    {
        bool producer = _kindOf(meta) == PRODUCER;
        if (Packed.commitment(pb, po) != uint256(uint160(meta))) revert BadPrevious(msg.sender);
        uint256 r = _pendingRoundOf(meta) - 1;
        uint256 ev = _allocate(
            DataStore.read(DataStore.addressOf((_BITMASK_HISTORY_BASE & (_openRound >> _BITPOS_HISTORY_BASE)) + r), 32 * (T + 1)),
            pb,
            po,
            producer ? 0 : acct >> _BITPOS_STOCK_OR_OMEGA
        );
        uint256 x0;
        uint256 credit;
        assembly ("memory-safe") {
            x0 := shr(VALUE_SHIFT, mload(add(ev, _SETTLED_DATA)))
            credit := add(mload(add(ev, _SETTLED_REVENUE)), mload(add(ev, _SETTLED_REFUND))) // revenue + refund
        }
        uint256 stockOrOmega = acct >> _BITPOS_STOCK_OR_OMEGA;
        // producer: the stock left after its input is consumed and the good bought
        // becomes the stock; standard: x^0 is consumed
        _logSettled(ev, T + 1, r, producer ? stockOrOmega : x0, producer ? x0 : 0);
        return ((acct & _BITMASK_BALANCE) + credit) | ((producer ? x0 : stockOrOmega) << _BITPOS_STOCK_OR_OMEGA);
    }

    /// @dev The lengths of a previous order re-sent as two arrays (`claim`, a commitment):
    /// bids T + 1 values, offers T + 1 values for a producer, none for a standard agent;
    /// BadPrevious otherwise, as for a mismatch with the commitment.
    function _checkPrevious(uint256 meta, bytes calldata pb, bytes calldata po) internal view {
        uint256 nb;
        unchecked {
            nb = (T + 1) * VALUE_BYTES; // T ≤ MAX_T (700): below 2^15
        }
        if (pb.length != nb || po.length != (_kindOf(meta) == PRODUCER ? nb : 0)) revert BadPrevious(msg.sender);
    }

    /// @dev emit Settled(msg.sender, r, x, revenue, refund, consumed, stock) from the ABI data at `ev`.
    function _logSettled(uint256 ev, uint256 n, uint256 r, uint256 consumed, uint256 stock) internal {
        bytes32 topic = Settled.selector;
        assembly ("memory-safe") {
            mstore(add(ev, _SETTLED_CONSUMED), consumed)
            mstore(add(ev, _SETTLED_STOCK), stock)
            log3(ev, add(_SETTLED_DATA, and(add(mul(n, VALUE_BYTES), 31), not(31))), topic, caller(), r)
        }
    }

    /// @dev Allocations x^t = floor(b^t·Q^t/B^t), revenue Σ floor(q^t·B^t/Q^t)
    /// (standard agent: floor(ω·B^0/Q^0); `omega` is 0 for a producer) and the
    /// refund of bids on inactive posts, from a closed round's totals `h`, written
    /// as the `Settled` event's ABI data at `ev` (new memory): offset of the
    /// allocations (_SETTLED_HEAD), revenue, refund, consumed, stock (the last two
    /// left to the caller), then the allocations as `bytes`: 11(T + 1), x^0..x^T
    /// packed VALUE_BYTES a value, zero padding.
    /// Reverts BadPrevious(sender) if a re-sent bid exceeds its post's B^t or a re-sent
    /// offer its Q^t: impossible for the order the commitment was made to (its own
    /// values are in the totals), so a defence in depth against a commitment collision.
    function _allocate(bytes memory h, bytes calldata pb, bytes calldata po, uint256 omega)
        internal
        view
        returns (uint256 ev)
    {
        bool above;
        uint256 revenue;
        uint256 refund;
        assembly ("memory-safe") {
            let len := pb.length // bytes: VALUE_BYTES a value, like the event's
            ev := mload(0x40)
            mstore(0x40, add(ev, add(0xe0, len))) // the head, the length word, the data, a padding word
            mstore(ev, _SETTLED_HEAD)
            mstore(add(ev, _SETTLED_HEAD), len)
            // The re-sent order matches its commitment, so it passed the bounds when
            // placed: every factor is below 2^84, every product fits; divisions floor.
            // A post is inactive iff B·Q = 0 (< 2^168): bids refunded, offers returned.
            // Post 0: a standard agent sells ω there, a producer (ω = 0) offers nothing.
            {
                let w := mload(add(h, 0x20))
                let bt := and(w, _BITMASK_HISTORY_BIDS)
                let qt := shr(_BITPOS_HISTORY_OFFERS, w)
                let b := shr(VALUE_SHIFT, calldataload(pb.offset))
                above := gt(b, bt)
                switch mul(bt, qt)
                case 0 {
                    refund := b
                    mstore(add(ev, _SETTLED_DATA), 0)
                }
                default {
                    mstore(add(ev, _SETTLED_DATA), shl(VALUE_SHIFT, div(mul(b, qt), bt)))
                    revenue := div(mul(omega, bt), qt)
                }
            }
            // posts 1..T: o = 11·t is post t's offset in pb, po and the packed allocations;
            // one loop per kind (a standard agent has no offers: po is empty)
            let hp := add(h, 0x40)
            switch omega
            case 0 {
                for { let o := VALUE_BYTES } lt(o, len) { o := add(o, VALUE_BYTES) } {
                    let w := mload(hp)
                    hp := add(hp, 0x20)
                    let bt := and(w, _BITMASK_HISTORY_BIDS)
                    let qt := shr(_BITPOS_HISTORY_OFFERS, w)
                    let b := shr(VALUE_SHIFT, calldataload(add(pb.offset, o)))
                    let q := shr(VALUE_SHIFT, calldataload(add(po.offset, o)))
                    above := or(above, or(gt(b, bt), gt(q, qt)))
                    switch mul(bt, qt)
                    case 0 {
                        refund := add(refund, b)
                        mstore(add(ev, add(_SETTLED_DATA, o)), 0)
                    }
                    default {
                        mstore(add(ev, add(_SETTLED_DATA, o)), shl(VALUE_SHIFT, div(mul(b, qt), bt)))
                        revenue := add(revenue, div(mul(q, bt), qt))
                    }
                }
            }
            default {
                for { let o := VALUE_BYTES } lt(o, len) { o := add(o, VALUE_BYTES) } {
                    let w := mload(hp)
                    hp := add(hp, 0x20)
                    let bt := and(w, _BITMASK_HISTORY_BIDS)
                    let qt := shr(_BITPOS_HISTORY_OFFERS, w)
                    let b := shr(VALUE_SHIFT, calldataload(add(pb.offset, o)))
                    above := or(above, gt(b, bt))
                    switch mul(bt, qt)
                    case 0 {
                        refund := add(refund, b)
                        mstore(add(ev, add(_SETTLED_DATA, o)), 0)
                    }
                    default {
                        mstore(add(ev, add(_SETTLED_DATA, o)), shl(VALUE_SHIFT, div(mul(b, qt), bt)))
                    }
                }
            }
            mstore(add(ev, add(_SETTLED_DATA, len)), 0) // zero padding
            mstore(add(ev, _SETTLED_REVENUE), revenue)
            mstore(add(ev, _SETTLED_REFUND), refund)
        }
        // defence in depth: the re-sent values are trusted only within the round's totals
        if (above) revert BadPrevious(msg.sender);
    }

    /// @notice Close the open round: at its deadline, or once every agent has ordered.
    /// Anyone may call it; it fixes the round's totals and opens the next round.
    function close() external {
        uint256 rs = _openRound;
        uint256 deadline = _deadlineOf(rs);
        if (deadline == 0) revert NotStarted();
        uint256 r = _roundOf(rs);
        uint256 orders = _ordersOf(rs);
        uint256 agents = _agents.length;
        if (block.timestamp < deadline && orders < agents) revert RoundStillOpen(r, deadline, orders, agents);
        // round r + 1 must fit the 32-bit round field, and an order's round + 1 likewise
        if (r >= MAX_ROUND) revert RoundLimit(r);
        uint256 n = T + 1;
        uint256[] memory bt = new uint256[](n);
        uint256[] memory qt = new uint256[](n);
        uint256[] memory pt = new uint256[](n);
        bytes memory blob = new bytes(32 * n);
        qt[0] = (rs >> _BITPOS_OFFERS0) - 1;
        for (uint256 i; i < (n + 2) / 3; ++i) {
            uint256 s = _openBids[i];
            for (uint256 k; k < 3 && 3 * i + k < n; ++k) bt[3 * i + k] = ((s >> (k * FIELD_BITS)) & FIELD_MASK) - 1;
            if (s != SENTINEL) _openBids[i] = SENTINEL;
        }
        for (uint256 i; i < (n + 1) / 3; ++i) {
            uint256 s = _openOffers[i];
            for (uint256 k; k < 3 && 3 * i + k + 1 < n; ++k) {
                qt[3 * i + k + 1] = ((s >> (k * FIELD_BITS)) & FIELD_MASK) - 1;
            }
            if (s != SENTINEL) _openOffers[i] = SENTINEL;
        }
        for (uint256 t; t < n; ++t) {
            if (bt[t] != 0 && qt[t] != 0) pt[t] = (bt[t] * WAD) / qt[t];
            uint256 w = bt[t] | (qt[t] << _BITPOS_HISTORY_OFFERS);
            assembly ("memory-safe") {
                mstore(add(add(blob, 32), mul(t, 32)), w) // word t of blob (t < n)
            }
        }
        uint256 base = (_BITMASK_HISTORY_BASE & (rs >> _BITPOS_HISTORY_BASE));
        if (DataStore.write(blob) != DataStore.addressOf(base + r)) revert DataContractMismatch(base + r);
        uint256 next = block.timestamp + roundDuration;
        // round r + 1, no orders yet, the same history base, Q^0 = 0 (1 << _BITPOS_OFFERS0)
        _openRound = (r + 1) | (next << _BITPOS_DEADLINE) | (base << _BITPOS_HISTORY_BASE) | (1 << 160);
        emit RoundClosed(r, bt, qt, pt, next);
    }

    /// @notice Settle the sender's last order (its round must be closed) without placing a new one.
    /// @param prevBids the bids of that order, packed as in `order`
    /// @param prevOffers its offers, packed as in `order`
    function claim(bytes calldata prevBids, bytes calldata prevOffers) external {
        uint256 meta = _meta[msg.sender];
        if (meta == 0) revert UnknownAgent(msg.sender);
        uint256 last = _pendingRoundOf(meta);
        if (last == 0) revert NothingToClaim(msg.sender);
        if (last - 1 >= _roundOf(_openRound)) revert RoundNotClosed(last - 1);
        _checkPrevious(meta, prevBids, prevOffers);
        _acct[msg.sender] = _settle(meta, _acct[msg.sender], prevBids, prevOffers);
        _meta[msg.sender] = meta & _BITMASK_AGENT;
    }

    /// @notice Move bytecoins from the sender's ERC-20 balance into its market account
    /// (the sender approves the market first).
    /// @param amount wei, nonzero
    function deposit(uint256 amount) external {
        if (_meta[msg.sender] == 0) revert UnknownAgent(msg.sender);
        if (_openRound == 0) revert NotStarted();
        if (amount == 0) revert ZeroAmount();
        token.transferFrom(msg.sender, address(this), amount);
        // the bounds rest on the market's holdings staying below 2^84 (checked at `start`
        // for the supply; re-checked here in case the token can grow its supply)
        uint256 held = token.balanceOf(address(this));
        if (held > MAX_AMOUNT) revert SupplyTooLarge(held);
        _acct[msg.sender] += amount; // the balance stays below the market's holdings < 2^84
        emit Deposited(msg.sender, amount);
    }

    /// @notice Move bytecoins from the sender's market account to its ERC-20 balance.
    /// @param amount wei, nonzero, at most the account's balance
    function withdraw(uint256 amount) external {
        if (_meta[msg.sender] == 0) revert UnknownAgent(msg.sender);
        if (_openRound == 0) revert NotStarted();
        if (amount == 0) revert ZeroAmount();
        uint256 acct = _acct[msg.sender];
        if (amount > acct & _BITMASK_BALANCE) revert InsufficientBalance(msg.sender, acct & _BITMASK_BALANCE, amount);
        // checked arithmetic, though it cannot underflow: amount ≤ the balance field (checked
        // above), so the packed subtraction takes from the balance and never borrows from the stock
        _acct[msg.sender] = acct - amount;
        token.transfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // -------------------------------------------------------------------- views

    /// @notice The open round.
    /// @return round its number (0 before `start`)
    /// @return deadline its deadline, seconds since the epoch (0 before `start`)
    /// @return orders the orders placed in it so far
    /// @return agents the number of registered agents
    function currentRound() external view returns (uint256 round, uint256 deadline, uint256 orders, uint256 agents) {
        uint256 rs = _openRound;
        return (_roundOf(rs), _deadlineOf(rs), _ordersOf(rs), _agents.length);
    }

    /// @notice Running totals of the open round.
    /// @return totalBids B^0..B^T, wei
    /// @return totalOffers Q^0..Q^T, wad
    function openTotals() external view returns (uint256[] memory totalBids, uint256[] memory totalOffers) {
        uint256 n = T + 1;
        totalBids = new uint256[](n);
        totalOffers = new uint256[](n);
        uint256 rs = _openRound;
        totalOffers[0] = rs == 0 ? 0 : (rs >> _BITPOS_OFFERS0) - 1;
        for (uint256 t; t < n; ++t) {
            totalBids[t] = ((_openBids[t / 3] >> ((t % 3) * FIELD_BITS)) & FIELD_MASK) - 1;
            if (t > 0) totalOffers[t] = ((_openOffers[(t - 1) / 3] >> (((t - 1) % 3) * FIELD_BITS)) & FIELD_MASK) - 1;
        }
    }

    /// @notice Final totals and prices of a closed round.
    /// @param round the round's number (below the open round's)
    /// @return totalBids B^0..B^T, wei
    /// @return totalOffers Q^0..Q^T, wad
    /// @return prices p^t = floor(B^t·1e18/Q^t), wei per unit (0 where the post is inactive)
    function closedRound(uint256 round)
        external
        view
        returns (uint256[] memory totalBids, uint256[] memory totalOffers, uint256[] memory prices)
    {
        uint256 rs = _openRound;
        if (rs == 0 || round >= _roundOf(rs)) revert UnknownRound(round);
        uint256 n = T + 1;
        bytes memory blob = DataStore.read(DataStore.addressOf((_BITMASK_HISTORY_BASE & (rs >> _BITPOS_HISTORY_BASE)) + round), 32 * n);
        totalBids = new uint256[](n);
        totalOffers = new uint256[](n);
        prices = new uint256[](n);
        for (uint256 t; t < n; ++t) {
            uint256 w = Packed.wordAt(blob, t);
            totalBids[t] = w & _BITMASK_HISTORY_BIDS;
            totalOffers[t] = w >> _BITPOS_HISTORY_OFFERS;
            if (totalBids[t] != 0 && totalOffers[t] != 0) prices[t] = (totalBids[t] * WAD) / totalOffers[t];
        }
    }

    /// @notice An agent's state.
    /// @param who the agent
    /// @return kind 0 unknown, 1 standard, 2 producer
    /// @return balance its market account, wei
    /// @return stock a producer's stock of the good, wad (0 for a standard agent)
    /// @return omega a standard agent's endowment ω, wad (0 for a producer)
    /// @return pending whether an order awaits settlement
    /// @return lastRound that order's round (0 if none)
    /// @return commitment the commitment to that order (low 160 bits of keccak256(bids ‖ offers))
    function agentState(address who)
        external
        view
        returns (
            uint256 kind,
            uint256 balance,
            uint256 stock,
            uint256 omega,
            bool pending,
            uint256 lastRound,
            bytes20 commitment
        )
    {
        uint256 meta = _meta[who];
        uint256 acct = _acct[who];
        kind = _kindOf(meta);
        balance = acct & _BITMASK_BALANCE;
        if (kind == PRODUCER) stock = acct >> _BITPOS_STOCK_OR_OMEGA;
        else omega = acct >> _BITPOS_STOCK_OR_OMEGA;
        uint256 last = _pendingRoundOf(meta);
        pending = last != 0;
        lastRound = pending ? last - 1 : 0;
        commitment = bytes20(uint160(meta));
    }

    /// @notice A producer's parameters.
    /// @param who the producer (reverts with UnknownAgent otherwise)
    /// @return c the exponent, wad
    /// @return capacity K, wad (0 = none)
    /// @return rho ρ, wad
    /// @return theta θ^1..θ^T, wad
    function producerParams(address who)
        external
        view
        returns (uint256 c, uint256 capacity, uint256 rho, uint256[] memory theta)
    {
        uint256 meta = _meta[who];
        if (_kindOf(meta) != PRODUCER) revert UnknownAgent(who);
        uint256 n = T + 1;
        bytes memory p = DataStore.read(DataStore.addressOf(1 + (_BITMASK_PRODUCER_INDEX & (meta >> _BITPOS_PRODUCER_INDEX))), 32 * (n + 3));
        c = Packed.wordAt(p, _PARAM_C);
        capacity = Packed.wordAt(p, _PARAM_CAPACITY);
        rho = Packed.wordAt(p, _PARAM_RHO);
        theta = new uint256[](n - 1);
        for (uint256 t = 1; t < n; ++t) theta[t - 1] = Packed.wordAt(p, _PARAM_THETA + t) & FixedPoint.THETA_MASK;
    }

    /// @notice The input a producer's offers need: Σ_t (q^t/θ^t)^{1/c} + ρ·max_t q^t,
    /// computed as `order` computes it.
    /// @param who the producer (reverts with UnknownAgent otherwise)
    /// @param offers q^0..q^T, wad, packed like `order`'s (VALUE_BYTES a value)
    /// @return input the good needed, wad
    function requiredInput(address who, bytes calldata offers) external view returns (uint256 input) {
        uint256 meta = _meta[who];
        if (_kindOf(meta) != PRODUCER) revert UnknownAgent(who);
        uint256 n = T + 1;
        if (offers.length != n * VALUE_BYTES) revert BadLength("offers", offers.length / VALUE_BYTES, n);
        bytes memory p = DataStore.read(DataStore.addressOf(1 + (_BITMASK_PRODUCER_INDEX & (meta >> _BITPOS_PRODUCER_INDEX))), 32 * (n + 3));
        uint256 c = Packed.wordAt(p, _PARAM_C);
        for (uint256 t = 1; t < n; ++t) {
            uint256 q = Packed.valueAt(offers, t);
            if (q > MAX_AMOUNT) revert AmountOverflow(t, q);
            if (c == WAD && q != 0) input += FixedPoint.mulDivUp(q, WAD, Packed.wordAt(p, _PARAM_THETA + t));
        }
        if (c != WAD) input = _powers(offers, p, T);
        uint256 rho = Packed.wordAt(p, _PARAM_RHO);
        if (rho != 0) input += FixedPoint.mulDivUp(rho, Packed.maxValue(offers[VALUE_BYTES:]), WAD);
    }

    /// @notice Number of registered agents.
    /// @return the count
    function agentCount() external view returns (uint256) {
        return _agents.length;
    }

    /// @notice The i-th registered agent (registration order).
    /// @param i its index, below `agentCount()`
    /// @return the agent's address
    function agentAt(uint256 i) external view returns (address) {
        return _agents[i];
    }

    /// @notice Bytecoins held for bids not yet paid out, dust of settled rounds
    /// included: the market's token balance minus all agents' balances. A view
    /// (it loops over the agents); no transaction calls it.
    /// @return wei held in escrow
    function escrow() external view returns (uint256) {
        uint256 sum;
        for (uint256 i; i < _agents.length; ++i) sum += _acct[_agents[i]] & _BITMASK_BALANCE;
        return token.balanceOf(address(this)) - sum;
    }
}
