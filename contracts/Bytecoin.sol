// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBytecoin} from "./interfaces/IBytecoin.sol";

/// @title Bytecoin: the economy's unit of account, an ERC-20 with 18 decimals.
/// @notice The whole supply is minted once, in the constructor, to the given
/// holders; there is no other mint and no burn, so `totalSupply` is constant.
/// emg mints the agents' supply straight into the market's custody (one
/// holder, the market), which credits each agent's internal account.
contract Bytecoin is IBytecoin {
    string public constant name = "Bytecoin";
    string public constant symbol = "BYTE";
    uint8 public constant decimals = 18;

    uint256 public immutable totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(address[] memory holders, uint256[] memory amounts) {
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
            // cannot overflow: the sum of all balances is totalSupply
            balanceOf[from] = have - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
