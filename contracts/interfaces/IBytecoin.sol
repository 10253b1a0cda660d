// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Bytecoin interface: ERC-20 with custom errors that carry data.
interface IBytecoin {
    /// @notice ERC-20 transfer (also mint, from the zero address: at construction, and by the
    /// monetary authority's `mint`).
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice The monetary authority issued `value` new bytecoins to `to`; the supply is now `supply`.
    event Minted(address indexed to, uint256 value, uint256 supply);
    /// @notice ERC-20 approval.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice `sender` holds `balance`, less than the `needed` amount.
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    /// @notice `spender` may spend `allowance`, less than the `needed` amount.
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    /// @notice Transfers to the zero address are refused (they would burn supply).
    error ERC20InvalidReceiver(address receiver);
    /// @notice `caller` may not mint: only `authority` may (zero: nobody, the supply is fixed).
    error NotAuthority(address caller, address authority);
    /// @notice A mint would take the supply to `supply`, above `maxSupply` (2^84 − 1 wei).
    error SupplyCapExceeded(uint256 supply, uint256 maxSupply);
    /// @notice Constructor arrays differ in length.
    error ERC20BadHolders(uint256 holders, uint256 amounts);

    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
    function totalSupply() external view returns (uint256);
    function authority() external view returns (address);
    function mint(address to, uint256 value) external;
    function balanceOf(address account) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}
