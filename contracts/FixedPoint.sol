// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Fixed-point arithmetic of the market (wad = 1e18).
/// @notice Written for emg; mirrored operation by operation, in Python
/// integers, by `agents/chain/fixedpoint.py` (any change here must be made there too;
/// tests compare the two on chain).
///
/// `powWad(x, y) = x^y` for x > 0 is computed as exp(y·ln x) with an internal
/// scale of 1e36:
///   ln:  x = m·2^k with m in [1, 2) (bit length, exact shifts); m = b·y with
///        b = 1 + j/16 (ln b from a 16-entry table) and y in [1, 1 + 1/16);
///        ln y = 2·atanh(z), z = (m−b)/(m+b) ≤ 1/32, as z·Σ_{n≤5} z^{2n}/(2n+1)
///        (Horner; the first omitted term is below 1e-19).
///   exp: E = k·ln 2 + r, r ∈ [0, ln 2) (floor division); r = j·ln2/16 + s
///        (2^(j/16) from a table), e^s (s < 0.044) by its Taylor polynomial of
///        degree 10 (Horner; the omitted tail is below 1e-20); then the exact
///        shift by 2^k.
/// Every operation rounds down (floor); the result is within a few 1e-18 of
/// the true value relative (tests/chain/test_fixedpoint.py states the measured bound).
library FixedPoint {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant ONE = 1e36;
    /// ln 2 · 1e36, floor
    uint256 internal constant LN2 = 693147180559945309417232121458176568;

    error PowOutOfRange(uint256 x, uint256 y);

    /// @notice Number of bits needed to write x (0 for x = 0).
    function bitLength(uint256 x) internal pure returns (uint256 n) {
        unchecked {
            // n ≤ 256 and each shift is by at most x's remaining width: nothing can overflow
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

    /// @notice ln(1 + j/16) · 1e36 (floor), j = 0..15.
    function lnTable(uint256 j) internal pure returns (uint256) {
        if (j < 8) {
            if (j < 4) {
                if (j < 2) {
                    return j == 0 ? 0 : 60624621816434842580606132040420263;
                }
                return j == 2 ? 117783035656383454538794109470521705 : 171850256926659222340098946055147264;
            }
            if (j < 6) {
                return j == 4 ? 223143551314209755766295090309834503 : 271933715483641758831669494532999161;
            }
            return j == 6 ? 318453731118534615810247213590599595 : 362905493689368453137824345977489846;
        }
        if (j < 12) {
            if (j < 10) {
                return j == 8 ? 405465108108164381978013115464349136 : 446287102628419511532590180619669006;
            }
            return j == 10 ? 485507815781700807801791077190788900 : 523248143764547836516807224934870841;
        }
        if (j < 14) {
            return j == 12 ? 559615787935422686270888500526826593 : 594707107746692789514343546529205333;
        }
        return j == 14 ? 628608659422374137744308205774183639 : 661398482245365008260235838709650938;
    }

    /// @notice 2^(j/16) · 1e36 (floor), j = 0..15.
    function twoTable(uint256 j) internal pure returns (uint256) {
        if (j < 8) {
            if (j < 4) {
                if (j < 2) {
                    return j == 0 ? 1000000000000000000000000000000000000 : 1044273782427413840321966478739929008;
                }
                return j == 2 ? 1090507732665257659207010655760707978 : 1138788634756691653703830283841511254;
            }
            if (j < 6) {
                return j == 4 ? 1189207115002721066717499970560475915 : 1241857812073484048593677468726595605;
            }
            return j == 6 ? 1296839554651009665933754117792451159 : 1354255546936892728298014740140702804;
        }
        if (j < 12) {
            if (j < 10) {
                return j == 8 ? 1414213562373095048801688724209698078 : 1476826145939499311386907480374049923;
            }
            return j == 10 ? 1542210825407940823612291862090734841 : 1610490331949254308179520667357400583;
        }
        if (j < 14) {
            return j == 12 ? 1681792830507429086062250952466429790 : 1756252160373299483112160619375313221;
        }
        return j == 14 ? 1834008086409342463487083189588288856 : 1915206561397147293872611270295830887;
    }

    /// @notice ln(x / 1e18) · 1e36 for 0 < x < 2^160 (x in wad).
    function ln36(uint256 x) internal pure returns (int256) {
        unchecked {
            // x < 2^160, so x·1e18 < 2^220; then m, b, z, w, p < 2^121 and each product < 2^242
            uint256 m = x * WAD; // m / ONE = x / WAD
            // ONE has bit length 120: bring m to bit length 120, then into [ONE, 2·ONE)
            int256 k = int256(bitLength(m)) - 120;
            if (k > 0) m >>= uint256(k);
            else m <<= uint256(-k);
            if (m < ONE) { m <<= 1; k -= 1; }
            // m = b·y with b = ONE·(1 + j/16) and y in [1, 1 + 1/16)
            uint256 j = ((m - ONE) << 4) / ONE;
            uint256 b = ONE + j * (ONE >> 4);
            // ln y = 2·atanh(z), z = (y − 1)/(y + 1) = (m − b)/(m + b) ≤ 1/32;
            // atanh(z)/z = Σ_{n=0..5} z^{2n}/(2n+1) by Horner in w = z² (next term < 1e-19)
            uint256 z = ((m - b) * ONE) / (m + b);
            uint256 w = (z * z) / ONE;
            uint256 p = ONE / 11;
            p = ONE / 9 + (p * w) / ONE;
            p = ONE / 7 + (p * w) / ONE;
            p = ONE / 5 + (p * w) / ONE;
            p = ONE / 3 + (p * w) / ONE;
            p = ONE + (p * w) / ONE;
            uint256 sum = (z * p) / ONE;
            return k * int256(LN2) + int256(lnTable(j) + 2 * sum);
        }
    }

    /// @notice e^(e / 1e36) in wad, floor; type(uint256).max above 2^127·2 wad.
    function exp36(int256 e) internal pure returns (uint256) {
        unchecked {
            // r, s < ln 2·1e36 < 2^120 and sum < 2^121: each product < 2^242; k > 127 returns
            // before the shift, and |k·LN2| ≤ |e| + LN2 (powWad's |e| < 2^138)
            int256 k = e / int256(LN2);
            if (e % int256(LN2) < 0) k -= 1; // floor, not truncation
            uint256 r = uint256(e - k * int256(LN2)); // in [0, LN2)
            // e^r = 2^(j/16) · e^s, s = r − j·ln2/16 in [0, ln2/16 + 1e-36)
            uint256 j = (r << 4) / LN2;
            uint256 s = r - (j * LN2) / 16;
            // e^s = Σ_{n=0..10} s^n/n! by Horner (next term < 1e-20)
            uint256 sum = ONE;
            sum = ONE + (sum * s) / (10 * ONE);
            sum = ONE + (sum * s) / (9 * ONE);
            sum = ONE + (sum * s) / (8 * ONE);
            sum = ONE + (sum * s) / (7 * ONE);
            sum = ONE + (sum * s) / (6 * ONE);
            sum = ONE + (sum * s) / (5 * ONE);
            sum = ONE + (sum * s) / (4 * ONE);
            sum = ONE + (sum * s) / (3 * ONE);
            sum = ONE + (sum * s) / (2 * ONE);
            sum = ONE + (sum * s) / ONE;
            sum = (sum * twoTable(j)) / ONE; // e^r · 1e36, in [1e36, 2e36)
            // result = sum · 2^k / 1e18
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

    /// @notice ceil(a · b / d).
    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
