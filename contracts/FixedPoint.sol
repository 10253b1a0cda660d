// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Fixed-point arithmetic of the market (wad = 1e18).
/// @notice Written for emg; mirrored operation by operation, in Python
/// integers, by `agents/chain/fixedpoint.py` (any change here must be made there too;
/// tests compare the two on chain). The constants below are printed by
/// `scripts/fixedpoint_constants.py` (floors of 90-digit logarithms).
///
/// The power r = (x/1e18)^(a/2^120) in wad (inside `sumPowUp`), from below, at a binary
/// internal scale of 2^120 (ε = 2^-120 ≈ 7.5e-37; every operation floors):
///   log2: x = 2^n·μ, μ ∈ [1, 2) (n = floor(log2 x), μ kept to 121 bits);
///         β = h/64 the table point below μ, z = (μ − β)/(μ + β) < 1/129, and
///         log2 μ = log2 β + Σ_{i≤3} K_{2i+1}·z^{2i+1}, K_n = 2/(n·ln 2) (Horner in z²).
///   power: E = floor(a·(log2 x − log2 1e18)) + log2 1e18 (the log2 of the wad
///         result); E = k + j/64 + u, u ∈ [0, 1/64); 2^E = 2^k·2^{j/64}·Σ_{n≤7} C_n·u^n,
///         C_n = (ln 2)^n/n! (Horner), 2^k an exact shift.
/// Error, proven term by term (ℓ = log2(x/1e18), |ℓ| ≤ 101; α the exponent a stands for,
/// a ≤ α < a + ε, as `exponent` floors):
///   log2 side, all downward: the atanh tail Σ_{i≥4} ≤ K9·z^9/(1 − z²) < 3.3e-20; the
///   121-bit μ, the floors of z, w, t, the Horner steps, the K_n and the table < 12ε;
///   log2 1e18 floored: < ε up. So ℓ − 3.3e-20 − 12ε ≤ ℓ' ≤ ℓ + ε.
///   E' − E = a(ℓ' − ℓ) + (a − α)ℓ + floors ∈ [−a·3.3e-20 − (12a + 103)ε, (a + 101)ε]:
///   for a < 16 (the limit) within [−5.3e-19, 1.2e-34].
///   exp side, all downward: the Taylor tail (u·ln 2)^8/8!·2^u < 4.8e-21 relative
///   (u·ln 2 < 0.01084), the floors of the Horner steps, the C_n and the table < 20ε
///   relative; the final shift floors to the wei.
///   Together: exact·(1 − 3.8e-19) − 1 ≤ r ≤ exact·(1 + 1e-34) (a < 16; for
///   c ≥ 0.3, a ≤ 3.34: 8.1e-20 below).
/// tests/chain/test_fixedpoint.py checks the tables against exact logarithms, the
/// bound against a 60-digit reference, and the contract against the mirror bit for bit.
library FixedPoint {
    uint256 internal constant WAD = 1e18;
    /// @dev the tables' index takes the 6 bits below the leading one: low = 120 − 6
    uint256 internal constant LOW_BITS = 114;
    uint256 internal constant LOW_MASK = (1 << 114) - 1;
    /// @dev the largest exponent a (a < 2^124: a·log2 stays in int256)
    uint256 internal constant MAX_EXPONENT = (1 << 124) - 1;
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
    uint256 internal constant C7 = 20274360784611297223421488021191;
    // log2(1e18)·2^120 (floor)
    int256 internal constant LOG2_WAD = 79480796826757184906766336724160837037;
    /// @dev 2^(j/64)·2^120 for j = 0..63, then log2(h/64)·2^120 for h = 64..127 (floors, each
    /// < 2^121), as 16-byte entries: entry i (memory: TABLES + 32 + 16·i) is 2^(i/64) for
    /// i < 64 and log2(i/64) for i ≥ 64. Copied to memory once per order (codecopy).
    bytes internal constant TABLES =
        hex"010000000000000000000000000000000102c9a3e778060ee6f7caca4f7a29bd01059b0d31585743ae7c548eb68ca417010874518759bc808c35f25d9427fa2b"
        hex"010b5586cf9890f6298b92b71842a983010e3ec32d3d1a2020742e4f8af6a5520111301d0125b50a4ebbf1aed9318cea011429aaea92ddfb34101943b2586d01"
        hex"01172b83c7d517adcdf7c8c50eb14a79011a35beb6fcb753cb698f692d1c835a011d4873168b9aa7805b8028990f07a9012063b88628cd63b8eeb02950929d0f"
        hex"012387a6e75623866c1fadb1c15cb5930126b4565e27cdd257a673281d3b249d0129e9df51fdee12c25d15f5a24aa3bc012d285a6e4030b40091d536d0753845"
        hex"01306fe0a31b7152de8d5a46305c85ed0133c08b26416ff4c9c8610d96696bf901371a7373aa9caa7145502f4547987e013a7db34e59ff6ea1bc9299e0a1d336"
        hex"013dea64c12342235b41223e13d773fb014160a21f72e29f84325b8f3db61fb30144e086061892d03136f409df019fbd01486a2b5c13cd013c1a3b69062f03c3"
        hex"014bfdad5362a271d4397afec42e20e0014f9b2769d2ca6ad33d8b69aa073ee5015342b569d4f81df0a83c49d86a63f40156f4736b527da66ecb004764eb3c00"
        hex"015ab07dd48542958c93015191eb345d015e76f15ad21486e9be4c20399766a0016247eb03a5584b1f0fa06fd2da42bb0166238825522249127d9e29b8f314a3"
        hex"016a09e667f3bcc908b2fb1366ea957d016dfb23c651a2ef220e2cbe1bbaa8340171f75e8ec5f73dd2370f2ef0acd6cb0175feb564267c8bf6e9aa33a48b2707"
        hex"017a11473eb0186d7d51023f6cda1f5e017e2f336cf4e62105d02ba15797e1700182589994cce128acf88afab34a010f01868d99b4492ec80e41d90ac2517074"
        hex"018ace5422aa0db5ba7c55a192c9bb3e018f1ae991577362b982745c72ed804e0193737b0cdc5e4f4501c3f2540a22d20197d829fde4e4f8b9e920f91e8bd7ed"
        hex"019c49182a3f0901c7c46b071f2be58d01a0c667b5de564b29ada8b8cab349aa01a5503b23e255c8b424491caf87bc8001a9e6b5579fdbf43eb243bdff4c4c58"
        hex"01ae89f995ad3ad5e8734d1773205a7f01b33a2b84f15faf6bfd0e7bd947c25701b7f76f2fb5e46eaa7b081ab53c535401bcc1e904bc1d2247ba0f45b3d08cd0"
        hex"01c199bdd85529c2220cb12a091ba66701c67f12e57d14b4a2137fd20f2b301d01cb720dcef90691503cbd1e949db76101d072d4a07897b8d0f22f21a158e18f"
        hex"01d5818dcfba48725da05aeb66e0dca901da9e603db3285708c01a5b6d4c97f601dfc97337b9b5eb968cac39ed291b7201e502ee78b3ff6273d130153991e8f4"
        hex"01ea4afa2a490d9858f73a18f5db301f01efa1bee615a27771fd21a92dac1f6d01f50765b6e4540674f84b762862baff01fa7c1819e90d82e90a7e74b263c1dc"
        hex"000000000000000000000000000000000005b9e5a170b48a629b89f8846042be000b5d69bac77ec3989b03784b5be0840010eb389fa29f9ab3cf74bab9992170"
        hex"001663f6fac913167ccc53826144575a001bc84240adabba63b2c5a6e5197ab8002118b119b4f3c72c4f78dfa14aa515002655d3c4f15c343ea3e580eb4e974c"
        hex"002b803473f7ad0f3f401624140d175b00309857a05e0765fba4491dcec752ae00359ebc5b69d927dfc23d9780306c69003a93dc9864b2df91e96aca04740a88"
        hex"003f782d7204d0144751b3314f09de6b00444c1f6b4c2dd72c25c169e5693a7f0049101eac381ce60916e52e91300efe004dc4933a9337b36644cdb2581fb918"
        hex"005269e12f346e2bf924afdbfd36bf6d00570068e7ef5a1e7e802c48281a2eb7005b8887367433795e35482d13dc0f11006002958c587150cabad827d37deb22"
        hex"00646eea247c5c22d2cad415ae1a71560068cdd829fd814275f1035e5e7b16c7006d1fafdce20a829051bbe3f6289e3a007164beb4a56d59f9fb952bbbccc314"
        hex"00759d4f80cba83bf8faf866415554d60079c9aa879d53483146784bd1c44ccd007dea15a32c1b3b3864c6001143d6c80081fed45cbccbf99ca1a3202b3d68f9"
        hex"0086082806b1d532c412ba94db12ef0a008a064fd50f2a1cf0ad29518b0252c2008df988f4ae806f1da89d4ee66c37000091e20ea1393e404076630d4c409dd9"
        hex"0095c01a39fbd6879fa00b120a068bad009993e355a4e536435c902fd2110109009d5d9fd5010b36665592074827cb5000a11d83f4c3554b383b0e8a55626c32"
        hex"00a4d3c25e68dc57f2495fb7fa6d7eda00a8808c384547c6ef4a49bc591348f100ac241134c4e99e1c6c5e946b4ae30800afbe7fa0f04d75c658d602e66b04d3"
        hex"00b35004723c465e6976da1c8729835100b6d8cb53b0ca4ecbef83f1ab5130c300ba58feb2703a9e372bc1fe8a8648e900bdd0c7c9a817204f55bbf90ce3f681"
        hex"00c1404eadf38396dee021361e13a30900c4a7ba58377c5a0375163ec8d5624200c80730b0001667f21fa8423e8c144300cb5ed69565afaf7f6248a98a36f817"
        hex"00ceaecfea80859b332ac903a413e5a800d1f73f9c70c0f683cc68d510b4a2b000d53847ac00a69be6f1be4359106a1900d8720935e6435ebd376a70d849ae77"
        hex"00dba4a47aa996d25a5b8a19b1c6376700ded038e633f36da8b6f0409b369aac00e1f4e5170d02a99b4c5a724dbd818000e512c6e54998b1aff71c8605583d03"
        hex"00e829fb693044b398c4baee073d4b1b00eb3a9f01975077f1f5f0cc82aaa9ad00ee44cd59ffab62f339d5d6a218c63300f148a170700a00fdd5533f1de29abe"
        hex"00f446359b135395510d1e3f80fbc71400f73da38d9d4a83eb6e0f93f7a43e4700fa2f045e7832aa726adf27b820fd0300fd1a708bbe119b14945cf6ba73d491";

    /// @notice an exponent above MAX_EXPONENT, or an x_i above 2^160, among the n terms
    error PowOutOfRange(uint256 n, uint256 a);

    /// @notice The exponent 1/c for `sumPowUp`: floor(2^120·1e18/c), c in wad (> 0).
    function exponent(uint256 c) internal pure returns (uint256) {
        return (WAD << 120) / c;
    }

    /// @notice Σ_i (x_i/1e18)^α in wad over the i < n with q_i > 0, each power rounded up,
    /// x_i = ceil(q_i·1e18/θ_i): the power r of the contract doc plus floor(r/2^60) + 2 wei.
    /// r is at most 3.8e-19 relative + 1 wei below the exact power; 2^-60 ≈ 8.67e-19 relative
    /// + 1 wei covers it (r + r/2^60 − 1 + 2 ≥ (exact·(1 − 3.8e-19) − 1)(1 + 2^-60) + 1 ≥
    /// exact once exact ≥ 2 wei; ≥ 2 otherwise), so each term is never below the exact
    /// power, and above it by at most 8.7e-19 relative + 2 wei. One loop with the power
    /// written inline and without branches past the zero test: a power costs no call, the
    /// tables are copied once, and terms too large for any amount are flagged, not computed.
    /// @param qs calldata offset of q_0; q_i = calldataload(qs + i·stride) >> shift (wad,
    /// below 2^196: the market's are below 2^88, packed in 11 bytes)
    /// @param stride bytes between the q_i (32 for an ABI array, 11 for packed values)
    /// @param shift right shift taking q_i out of its 32-byte word
    /// @param thetas memory offset of θ_0 (wad, ≥ 1); θ_i is the word at thetas + 32·i
    /// @param n the number of terms
    /// @param a the exponent α at scale 2^120 (a = floor(2^120·α) ≤ MAX_EXPONENT; `exponent(c)` for 1/c)
    /// @return sum the sum (meaningless when hi ≥ 2^255)
    /// @return hi the bitwise or of the terms, so hi ≥ every term and, for a bound of the
    /// form 2^k − 1 (k ≤ 120), hi ≤ it exactly when every term is; 2^255 or more when a
    /// term is 2^121 or more (such a term is not computed: the sum is then meaningless)
    function sumPowUp(uint256 qs, uint256 stride, uint256 shift, uint256 thetas, uint256 n, uint256 a)
        internal
        pure
        returns (uint256 sum, uint256 hi)
    {
        bytes memory tables = TABLES;
        uint256 bad;
        // memory-safe: reads `tables` and the θ_i only. Bounds (no overflow): q_i < 2^196
        // (the caller's: q·1e18 + θ − 1 < 2^256), x ≤ 2^160 (checked), x·2^(255−n) < 2^256;
        // μ-part d < 2^114, d·2^120 < 2^234; z < 2^113, z² < 2^226, p < 2^122, p·w and z·p < 2^236;
        // |l| < 101·2^120 < 2^127 (x ≤ 2^160), a < 2^124: |l·a| < 2^251 (signed mul exact);
        // 2^u-part poly < 2^121, poly·u < 2^235, poly·table < 2^242; the power
        // mant·2^(k−120) < 2^121 for k ≤ 120, with the margin < 2^122; n < 2^16 terms: the
        // sum < 2^138 (terms of k > 120 shift to 0 and are flagged)
        assembly ("memory-safe") {
            bad := gt(a, MAX_EXPONENT)
            let tbl := add(tables, 0x20) // entry i (16 bytes): tbl + 16·i
            for { let end := add(qs, mul(n, stride)) } lt(qs, end) {
                qs := add(qs, stride)
                thetas := add(thetas, 0x20)
            } {
                let x := shr(shift, calldataload(qs))
                if x {
                    // x = ceil(q·1e18/θ) (FixedPoint.mulDivUp), at most 2^160
                    let th := mload(thetas)
                    x := div(add(mul(x, WAD), sub(th, 1)), th)
                    bad := or(bad, gt(x, 0x10000000000000000000000000000000000000000))
                    // n = floor(log2 x): binary search to 8 bits, then a 32-entry byte table
                    let k := shl(7, lt(0xffffffffffffffffffffffffffffffff, x))
                    k := or(k, shl(6, lt(0xffffffffffffffff, shr(k, x))))
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
                    // l = log2(x/1e18)·2^120 (signed): n + log2 β + z·(K1 + w·(K3 + w·(K5 + w·K7)))
                    // (Horner, each step floored); e = a·l + log2 1e18 = log2 of the wad result
                    let e := add(sar(120, mul(a, sub(add(add(shl(120, k), shr(128, mload(add(tbl, shl(4, h))))),
                        shr(120, mul(z, add(K1, shr(120, mul(w, add(K3, shr(120, mul(w,
                        add(K5, shr(120, mul(w, K7)))))))))))), LOG2_WAD))), LOG2_WAD)
                    k := sar(120, e)
                    let u := and(e, LOW_MASK)
                    // Σ_{n≤7} C_n·u^n (Horner, each step floored) times 2^(j/64), j the 6 bits of e above u
                    let y := shr(120, mul(shr(128, mload(add(tbl, shl(4, and(shr(LOW_BITS, e), 63))))),
                        add(C0, shr(120, mul(u, add(C1, shr(120, mul(u, add(C2, shr(120, mul(u,
                        add(C3, shr(120, mul(u, add(C4, shr(120, mul(u, add(C5, shr(120, mul(u,
                        add(C6, shr(120, mul(u, C7)))))))))))))))))))))))
                    // 2^k for k ≤ 120, an exact right shift (by ≥ 256 when k ≤ −136: 0); k > 120
                    // (a term of 2^121 or more) is flagged in `hi` instead, the shift wrapping to 0
                    y := shr(sub(120, k), y)
                    y := add(y, add(shr(60, y), 2)) // the margin (y < 2^122)
                    hi := or(hi, or(y, shl(255, sgt(k, 120))))
                    sum := add(sum, y)
                }
            }
        }
        if (bad != 0) revert PowOutOfRange(n, a);
    }

    /// @notice ceil(a · b / d).
    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
