// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {VALUE_BYTES, VALUE_SHIFT} from "./libraries/Packed.sol";

/// @title Fixed-point arithmetic of the market (wad = 1e18): a producer's input Σ_t (q^t/θ^t)^(1/c).
/// @notice Written for emg; mirrored operation by operation, in Python integers, by
/// `agents/chain/fixedpoint.py` (any change here must be made there too; tests compare the
/// two on chain). The constants below are printed by `scripts/fixedpoint_constants.py`
/// (floors of 90-digit logarithms).
///
/// The power r = (q/θ)^α in wad, α = a/2^120 (a = `exponent(c)`, α = 1/c ≤ 10), in log2 space
/// at a binary internal scale of 2^120 (ε = 2^-120 ≈ 7.5e-37; every operation floors):
///   log2 (`log2`, for an integer 1 ≤ x < 2^128): x = 2^k·μ, μ ∈ [1, 2) (k = floor(log2 x),
///         μ kept to 121 bits); β = h/64 the table point below μ, z = (μ − β)/(μ + β) < 1/129,
///         log2 μ = log2 β + Σ_{i≤3} K_{2i+1}·z^{2i+1}, K_n = 2/(n·ln 2) (Horner in z²).
///   offset (`setLogOffsets`, once per period at registration): D = log2(1e18) − floor(a·log2 θ),
///         stored above θ in the producer's period word: no division by θ per order.
///   power (`sumPowUp`, per order): E = floor(a·log2 q) + D (the log2 of the wad result);
///         E = k + j/64 + u, u ∈ [0, 1/64); r = floor(2^{j/64}·Σ_{n≤6} C_n·u^n·2^k),
///         C_n = (ln 2)^n/n! (Horner), 2^{j/64} from the table, 2^k an exact shift.
/// Error, proven term by term (ℓ = log2 x):
///   log2, all downward: the atanh tail Σ_{i≥4} ≤ K9·z^9/(1 − z²) < 3.3e-20; the table's
///   8-byte entries floor(log2 β·2^64) < 5.5e-20; the floors at 2^120 < 12ε:
///   ℓ − 8.7e-20 < log2(x) ≤ ℓ.
///   E' − E = [floor(a·log2 q) − α·ℓ_q] − [floor(a·log2 θ) − α·ℓ_θ] + [log2 1e18 floored]
///   ∈ (−α·8.7e-20 − 86ε, α·8.7e-20 + 85ε) (a ≤ α < a + ε, ℓ ∈ [0, 84]): |E' − E| < 8.7e-19.
///   exp, all downward: the Taylor tail (u·ln 2)^7/7!·2^u < 3.5e-18 relative (u·ln 2 < 0.01084),
///   the table's floor(2^{j/64}·2^63) < 1.1e-19 relative, the Horner floors < 14ε; the final
///   shift floors to the wei.
///   Together: exact·(1 − 4.3e-18) − 1 < r ≤ exact·(1 + 6.1e-19).
/// The charge adds 1 wei per term and 2^-57 ≈ 6.9e-18 of the sum (`sumPowUp`): never below the
/// exact sum, above it by at most 7.6e-18 relative + 2 wei per term + 1.
/// tests/chain/test_fixedpoint.py checks the tables against exact logarithms, the bound
/// against a 60-digit reference, and the contract against the mirror bit for bit.
library FixedPoint {
    uint256 internal constant WAD = 1e18;
    /// @dev the tables' index takes the 6 bits below the leading one: low = 120 − 6
    uint256 internal constant LOW_BITS = 114;
    uint256 internal constant LOW_MASK = (1 << 114) - 1;
    /// @dev θ^t in the low THETA_BITS of its period word (θ ≤ 2^84 − 1), a c ≠ 1 producer's
    /// offset D^t (signed, |D| < 2^131) above it
    uint256 internal constant THETA_BITS = 84;
    uint256 internal constant THETA_MASK = (1 << 84) - 1;
    /// @dev the charge's relative margin: + floor(S/2^MARGIN_BITS)
    uint256 internal constant MARGIN_BITS = 57;
    // 2/(n·ln 2)·2^120 (floor), the atanh series of log2
    uint256 internal constant K1 = 3835341275459348169893510517860103418;
    uint256 internal constant K3 = 1278447091819782723297836839286701139;
    uint256 internal constant K5 = 767068255091869633978702103572020683;
    uint256 internal constant K7 = 547905896494192595699072931122871916;
    // (ln 2)^n/n!·2^120 (floor), the Taylor polynomial of 2^u
    uint256 internal constant C0 = 1329227995784915872903807060280344576;
    uint256 internal constant C1 = 921350637599661305226344307672478454;
    uint256 internal constant C2 = 319315798379656585262633133777544895;
    uint256 internal constant C3 = 73777615118368971656243676658097814;
    uint256 internal constant C4 = 12784686476933562107136452537605464;
    uint256 internal constant C5 = 1772333877165871769409071323828987;
    uint256 internal constant C6 = 204748038328066741741299131701530;
    // log2(1e18)·2^120 (floor)
    int256 internal constant LOG2_WAD = 79480796826757184906766336724160837037;
    /// @dev floor(2^(j/64)·2^63) for j = 0..63, then floor(log2(h/64)·2^64) for h = 64..127, as
    /// 8-byte entries: entry i at byte 8·i (the log2 entry of β = h/64 is entry h). Copied to
    /// memory once per call.
    bytes internal constant TABLES =
        hex"80000000000000008164d1f3bc03077382cd8698ac2ba1d7843a28c3acde404685aac367cc487b14871f61969e8d101088980e8092da85278a14d575496efd9a"
        hex"8b95c1e3ea8bd6e68d1adf5b7e5ba9e58ea4398b45cd53c09031dc431466b1dc91c3d373ab11c336935a2b2f13e6e92b94f4efa8fef7096196942d3720185a00"
        hex"9837f0518db8a96f99e0459320b7fa649b8d39b9d54e55389d3ed9a72cffb7509ef5326091a111ada0b0510fb9714fc2a27043030c496818a43515ae09e6809e"
        hex"a5fed6a9b15138eaa7cd93b4e9653569a9a15ab4ea7c0ef8ab7a39b5a93ed337ad583eea42a14ac6af3b78ad690a4374b123f581d2ac258fb311c412a9112489"
        hex"b504f333f9de6484b6fd91e328d17791b8fbaf4762fb9ee9baff5ab2133e45fbbd08a39f580c36bebf1799b67a731082c12c4cca66709456c346ccda24976407"
        hex"c5672a115506daddc78d74c8abb9b15cc9b9bd866e2f27a2cbec14fef2727c5cce248c151f8480e3d06333daef2b2594d2a81d91f12ae45ad4f35aabcfedfa1f"
        hex"d744fccad69d6af4d99d15c278afd7b5dbfbb797daf23755de60f4825e0e9123e0ccdeec2a94e111e33f8972be8a5a51e5b906e77c8348a8e8396a503c4bdc68"
        hex"eac0c6e7dd24392eed4f301ed9942b84efe4b99bdcdaf5cbf281773c59ffb139f5257d152486cc2cf7d0df730ad13bb8fa83b2db722a033afd3e0c0cf486c174"
        hex"000000000000000005b9e5a170b48a620b5d69bac77ec39810eb389fa29f9ab31663f6fac913167c1bc84240adabba632118b119b4f3c72c2655d3c4f15c343e"
        hex"2b803473f7ad0f3f309857a05e0765fb359ebc5b69d927df3a93dc9864b2df913f782d7204d01447444c1f6b4c2dd72c49101eac381ce6094dc4933a9337b366"
        hex"5269e12f346e2bf9570068e7ef5a1e7e5b8887367433795e6002958c587150ca646eea247c5c22d268cdd829fd8142756d1fafdce20a82907164beb4a56d59f9"
        hex"759d4f80cba83bf879c9aa879d5348317dea15a32c1b3b3881fed45cbccbf99c86082806b1d532c48a064fd50f2a1cf08df988f4ae806f1d91e20ea1393e4040"
        hex"95c01a39fbd6879f9993e355a4e536439d5d9fd5010b3666a11d83f4c3554b38a4d3c25e68dc57f2a8808c384547c6efac241134c4e99e1cafbe7fa0f04d75c6"
        hex"b35004723c465e69b6d8cb53b0ca4ecbba58feb2703a9e37bdd0c7c9a817204fc1404eadf38396dec4a7ba58377c5a03c80730b0001667f2cb5ed69565afaf7f"
        hex"ceaecfea80859b33d1f73f9c70c0f683d53847ac00a69be6d8720935e6435ebddba4a47aa996d25aded038e633f36da8e1f4e5170d02a99be512c6e54998b1af"
        hex"e829fb693044b398eb3a9f01975077f1ee44cd59ffab62f3f148a170700a00fdf446359b13539551f73da38d9d4a83ebfa2f045e7832aa72fd1a708bbe119b14";

    /// @notice The exponent 1/c for `sumPowUp`: floor(2^120·1e18/c), c in wad (> 0).
    function exponent(uint256 c) internal pure returns (uint256) {
        return (WAD << 120) / c;
    }

    /// @notice At registration, for a c ≠ 1 producer: each of the n period words at memory
    /// `words` (θ^t in wad, 1 ≤ θ ≤ 2^84 − 1, nothing above) gets its offset
    /// D^t = log2(1e18) − floor(a·log2 θ^t) (at 2^120) above θ: word = θ | D << 84.
    /// @param words memory offset of the first word (word t at words + 32·t)
    /// @param n the number of periods
    /// @param a the exponent at scale 2^120 (`exponent(c)`, ≤ 10·2^120)
    function setLogOffsets(uint256 words, uint256 n, uint256 a) internal pure {
        _run(0, words, words, n, a);
    }

    /// @notice A producer's input Σ_t (q^t/θ^t)^α in wad over the q^t > 0, never below the
    /// exact sum: S = Σ (r_t + 1) with r_t the power of the contract doc, then
    /// S + floor(S/2^57) + 1 (0 when every q^t is 0). r_t is above exact·(1 − 4.3e-18) − 1, so
    /// r_t + 1 is above exact·(1 − 4.3e-18), and S·(1 + 2^-57) + 1 > Σ exact.
    /// One loop with the power written inline and without branches past the zero test: a
    /// power costs no call, the tables are copied once, and terms too large for any amount
    /// are flagged, not computed.
    /// @param qs calldata offset of q^1: VALUE_BYTES big-endian bytes a value (the market's packed
    /// arrays), each q < 2^84 (the market's bound; checked by the caller)
    /// @param words memory offset of the period words (`setLogOffsets`), word t at words + 32·t
    /// @param n the number of terms
    /// @param a the exponent at scale 2^120 (`exponent(c)`, ≤ 10·2^120)
    /// @return input the sum, rounded up (meaningless when `flagged`)
    /// @return flagged nonzero when a term is 2^121 wad or more (it is then not computed)
    function sumPowUp(uint256 qs, uint256 words, uint256 n, uint256 a)
        internal
        pure
        returns (uint256 input, uint256 flagged)
    {
        uint256 s;
        (s, flagged) = _run(1, qs, words, n, a);
        unchecked {
            // s < 700·2^124: no overflow
            if (s != 0) input = s + (s >> MARGIN_BITS) + 1;
        }
    }

    /// @dev The log2 written once, for both loops (mode 0: `setLogOffsets`, 1: `sumPowUp`).
    /// Bounds (no overflow): x < 2^128 (q, θ ≤ 2^84 − 1); μ-part d < 2^114, d·2^120 < 2^234;
    /// z < 2^113, z² < 2^226, the Horner values < 2^122, times w or z < 2^236; log2 x < 2^127,
    /// a ≤ 10·2^120 < 2^124: a·log2 x < 2^251; |D| < 2^131; the Taylor values < 2^121, times u
    /// < 2^235; the table (< 2^64) times the polynomial < 2^185; a term < 2^122 for k ≤ 120
    /// (others flagged), the sum of ≤ 700 terms + 1 each < 2^132.
    function _run(uint256 mode, uint256 qs, uint256 words, uint256 n, uint256 a)
        private
        pure
        returns (uint256 sum, uint256 flagged)
    {
        bytes memory tables = TABLES;
        // memory-safe: reads `tables` and the period words; mode 0 writes the period words only
        assembly ("memory-safe") {
            // log2(x)·2^120 from below, 1 ≤ x < 2^128
            function log2Of(x, tbl) -> l {
                // k = floor(log2 x): binary search to 8 bits, then a 32-entry byte table
                let k := shl(6, lt(0xffffffffffffffff, x))
                k := or(k, shl(5, lt(0xffffffff, shr(k, x))))
                k := or(k, shl(4, lt(0xffff, shr(k, x))))
                k := or(k, shl(3, lt(0xff, shr(k, x))))
                k := or(k, byte(and(0x1f, shr(shr(k, x), 0x8421084210842108cc6318c6db6d54be)),
                    0x0706060506020504060203020504030106050205030304010505030400000000))
                let m := shr(135, shl(sub(255, k), x)) // μ·2^120 in [2^120, 2^121)
                let h := shr(LOW_BITS, m) // 64·β = 64 + j
                // z = (μ − β)/(μ + β) = (m − b)/(m + b), b = h·2^114
                let z := div(shl(120, and(m, LOW_MASK)), add(m, shl(LOW_BITS, h)))
                let w := shr(120, mul(z, z))
                // k + log2 β (the table entry h, at 2^64) + z·(K1 + w·(K3 + w·(K5 + w·K7)))
                l := add(add(shl(120, k), shl(56, shr(192, mload(add(tbl, shl(3, h)))))),
                    shr(120, mul(z, add(K1, shr(120, mul(w, add(K3, shr(120, mul(w,
                    add(K5, shr(120, mul(w, K7))))))))))))
            }
            let tbl := add(tables, 0x20) // entry i (8 bytes): tbl + 8·i
            switch mode
            case 0 {
                for { let end := add(words, shl(5, n)) } lt(words, end) { words := add(words, 0x20) } {
                    let th := mload(words)
                    mstore(words, or(th, shl(THETA_BITS, sub(LOG2_WAD, shr(120, mul(a, log2Of(th, tbl)))))))
                }
            }
            default {
                for { let end := add(qs, mul(n, VALUE_BYTES)) } lt(qs, end) {
                    qs := add(qs, VALUE_BYTES)
                    words := add(words, 0x20)
                } {
                    let q := shr(VALUE_SHIFT, calldataload(qs))
                    if q {
                        // E = floor(a·log2 q) + D, the log2 of the wad result (signed)
                        let e := add(shr(120, mul(a, log2Of(q, tbl))), sar(THETA_BITS, mload(words)))
                        let k := sar(120, e)
                        let u := and(e, LOW_MASK)
                        // 2^(j/64) (the table at 2^63) times Σ_{n≤6} C_n·u^n (Horner, at 2^120): the
                        // product at 2^183, times 2^k by the shift (by ≥ 256 for k ≤ −73: 0); k > 120
                        // (a term of 2^121 or more) is flagged instead, the shift wrapping to 0
                        sum := add(sum, add(1, shr(sub(183, k), mul(shr(192, mload(add(tbl, shl(3, and(shr(LOW_BITS, e),
                            63))))), add(C0, shr(120, mul(u, add(C1, shr(120, mul(u, add(C2, shr(120, mul(u, add(C3,
                            shr(120, mul(u, add(C4, shr(120, mul(u, add(C5, shr(120, mul(u, C6))))))))))))))))))))))
                        flagged := or(flagged, sgt(k, 120))
                    }
                }
            }
        }
    }

    /// @notice ceil(a · b / d).
    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
