// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBytecoin} from "./interfaces/IBytecoin.sol";

/// @title Bytecoin: the economy's unit of account, an ERC-20 with 18 decimals.
/// @notice The genesis supply is minted in the constructor to the given holders.
/// After that only the monetary `authority`, an address fixed at deployment
/// (immutable), may `mint`; every mint emits `Transfer(0, to, value)` and
/// `Minted`. With no authority (the zero address) nobody can ever mint and the
/// supply is fixed forever. There is no burn. A mint never takes the supply above
/// MAX_SUPPLY = 2^84 − 1 wei, the bound the market's settlement arithmetic rests
/// on (Market.sol checks it at `start` and at every `deposit`).
/// emg mints the agents' supply straight into the market's custody (one
/// holder, the market), which credits each agent's internal account.
contract Bytecoin is IBytecoin {
    string public constant name = "Bytecoin";
    string public constant symbol = "BYTE";
    uint8 public constant decimals = 18;

    /// @notice The largest supply a mint may reach: 2^84 − 1 wei (the market's bound on any total).
    uint256 public constant MAX_SUPPLY = (1 << 84) - 1;

    /// @notice The only address that may mint after genesis (zero: nobody, the supply is fixed).
    address public immutable authority;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @param holders who receives the genesis supply
    /// @param amounts how much each holder receives (wei)
    /// @param authority_ the monetary authority (zero address: no mint after genesis, ever)
    constructor(address[] memory holders, uint256[] memory amounts, address authority_) {
        authority = authority_;
        if (holders.length != amounts.length) revert ERC20BadHolders(holders.length, amounts.length);
        uint256 supply;
        for (uint256 i; i < holders.length; ++i) {
            if (holders[i] == address(0)) revert ERC20InvalidReceiver(address(0));
            balanceOf[holders[i]] += amounts[i];
            supply += amounts[i];
            emit Transfer(address(0), holders[i], amounts[i]);
        }
        totalSupply = supply;
    }

    /// @notice Issue `value` new bytecoins to `to`. Only the monetary authority may call it.
    /// @param to the receiver (not the zero address)
    /// @param value wei; the new supply must stay at most MAX_SUPPLY
    function mint(address to, uint256 value) external {
        if (msg.sender != authority || msg.sender == address(0)) revert NotAuthority(msg.sender, authority);
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 supply = totalSupply + value;
        if (supply > MAX_SUPPLY) revert SupplyCapExceeded(supply, MAX_SUPPLY);
        totalSupply = supply;
        unchecked {
            balanceOf[to] += value; // ≤ the new supply ≤ 2^84 − 1: no overflow
        }
        emit Transfer(address(0), to, value);
        emit Minted(to, value, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert ERC20InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value; // allowed ≥ value, checked above
            }
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 have = balanceOf[from];
        if (have < value) revert ERC20InsufficientBalance(from, have, value);
        unchecked {
            // cannot overflow: the sum of all balances is totalSupply (≤ 2^256 − 1: the
            // constructor's sum is checked, a mint's bounded)
            balanceOf[from] = have - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
