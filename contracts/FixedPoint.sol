// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Fixed-point arithmetic of the market (wad = 1e18).
/// @notice Written for emg; mirrored operation by operation, in Python
/// integers, by `market/fixedpoint.py` (any change here must be made there too;
/// tests compare the two on chain).
///
/// `powWad(x, y) = x^y` for x > 0 is computed as exp(y·ln x) with an internal
/// scale of 1e36:
///   ln:  x = m·2^k with m in [1, 2) (bit length, exact shifts); if m ≥ √2,
///        m ← m/√2 and ln √2 is added; then ln m = 2·atanh(z), z = (m−1)/(m+1)
///        ∈ [0, 0.172), summed as z + z³/3 + z⁵/5 + … until a term is below
///        1e-18 (in 1e36 units: below 1e18).
///   exp: E = k·ln 2 + r with r ∈ [0, ln 2) (floor division), e^r by Taylor
///        terms until one is below 1e-18, then the exact shift by 2^k.
/// Every operation rounds down (floor); the result is within a few 1e-18 of
/// the true value relative (tests/test_fixedpoint.py states the measured bound).
library FixedPoint {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant ONE = 1e36;
    /// ln 2 · 1e36, floor
    uint256 internal constant LN2 = 693147180559945309417232121458176568;
    /// √2 · 1e36, floor
    uint256 internal constant SQRT2 = 1414213562373095048801688724209698078;
    /// ln √2 · 1e36, floor
    uint256 internal constant LN_SQRT2 = 346573590279972654708616060729088284;
    /// a series stops at the first term below this (1e-18 in 1e36 units)
    uint256 internal constant TINY = 1e18;

    error PowOutOfRange(uint256 x, uint256 y);

    /// @notice Number of bits needed to write x (0 for x = 0).
    function bitLength(uint256 x) internal pure returns (uint256 n) {
        unchecked {
            if (x >= 1 << 128) { x >>= 128; n += 128; }
            if (x >= 1 << 64) { x >>= 64; n += 64; }
            if (x >= 1 << 32) { x >>= 32; n += 32; }
            if (x >= 1 << 16) { x >>= 16; n += 16; }
            if (x >= 1 << 8) { x >>= 8; n += 8; }
            if (x >= 1 << 4) { x >>= 4; n += 4; }
            if (x >= 1 << 2) { x >>= 2; n += 2; }
            if (x >= 1 << 1) { x >>= 1; n += 1; }
            n += x;
        }
    }

    /// @notice ln(x / 1e18) · 1e36 for 0 < x < 2^160 (x in wad).
    function ln36(uint256 x) internal pure returns (int256) {
        unchecked {
            uint256 m = x * WAD; // m / ONE = x / WAD
            // ONE has bit length 120: bring m to bit length 120, then into [ONE, 2·ONE)
            int256 k = int256(bitLength(m)) - 120;
            if (k > 0) m >>= uint256(k);
            else m <<= uint256(-k);
            if (m < ONE) { m <<= 1; k -= 1; }
            uint256 extra = 0;
            if (m >= SQRT2) { m = (m * ONE) / SQRT2; extra = LN_SQRT2; }
            uint256 z = ((m - ONE) * ONE) / (m + ONE);
            uint256 z2 = (z * z) / ONE;
            uint256 sum = z;
            uint256 term = z;
            for (uint256 i = 3; ; i += 2) {
                term = (term * z2) / ONE;
                if (term < TINY) break;
                sum += term / i;
            }
            return k * int256(LN2) + int256(2 * sum + extra);
        }
    }

    /// @notice e^(e / 1e36) in wad, floor; reverts above 2^128 wad.
    function exp36(int256 e) internal pure returns (uint256) {
        unchecked {
            int256 k = e / int256(LN2);
            if (e % int256(LN2) < 0) k -= 1; // floor, not truncation
            uint256 r = uint256(e - k * int256(LN2)); // in [0, LN2)
            uint256 sum = ONE;
            uint256 term = ONE;
            for (uint256 i = 1; ; ++i) {
                term = (term * r) / ONE / i;
                if (term < TINY) break;
                sum += term;
            }
            // sum / ONE = e^r in [1, 2); result = sum · 2^k / 1e18
            if (k >= 0) {
                if (k > 127) return type(uint256).max; // caller rejects as overflow
                return (sum << uint256(k)) / WAD;
            }
            if (k < -200) return 0;
            return (sum >> uint256(-k)) / WAD;
        }
    }

    /// @notice x^y for wad x > 0 and wad y ≥ 0, floor-ish (see the contract doc).
    function powWad(uint256 x, uint256 y) internal pure returns (uint256) {
        if (x == 0 || x >= 1 << 160 || y >= 1 << 64) revert PowOutOfRange(x, y);
        int256 l = ln36(x);
        unchecked {
            // |l| < 2^120 · 111, y < 2^64: the product fits in int256
            return exp36((l * int256(y)) / int256(WAD));
        }
    }

    /// @notice floor(a · b / d) (a, b < 2^128 in every use here).
    function mulDiv(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        return (a * b) / d;
    }

    /// @notice ceil(a · b / d).
    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
