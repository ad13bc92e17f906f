//! ggml MXFP4 (OCP microscaling FP4): `{ u8 e; u8 qs[16] }`, 32 elements. `e` is an E8M0
//! exponent; value = `table[q] · 2^(e − 128)` with the E2M1 values doubled
//! ([`KVALUES_MXFP4`]), so the product is ggml's `kvalues_mxfp4[q] · E8M0_TO_FP32_HALF(e)`.
//! Nibble order as Q4_0 (byte j: element j low, j + 16 high).

use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::MXFP4.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::MXFP4.block_len();

/// ggml's `kvalues_mxfp4`: twice the E2M1 values, by 4-bit code (sign in bit 3).
pub(crate) const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// ggml's `GGML_E8M0_TO_FP32_HALF`: `2^(e − 128)` (subnormal for e < 2; e = 255 gives 2^127,
/// not NaN, as in ggml).
pub(crate) fn e8m0_half(e: u8) -> f32 {
    let bits = if e < 2 { 0x0020_0000u32 << e } else { ((e - 1) as u32) << 23 };
    f32::from_bits(bits)
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = e8m0_half(block[0]);
    for j in 0..16 {
        out[j] = KVALUES_MXFP4[(block[1 + j] & 0xF) as usize] as f32 * d;
        out[j + 16] = KVALUES_MXFP4[(block[1 + j] >> 4) as usize] as f32 * d;
    }
}

/// Encodes one block as ggml's `quantize_row_mxfp4_ref`: `e = floor(log2 amax) − 2 + 127`
/// (0 for an all-zero block; clamped to 0..=255 where ggml's cast would be undefined), then
/// each value's nearest code (the first of equals, as ggml's linear search).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let e = if amax > 0.0 { (amax.log2().floor() - 2.0 + 127.0).clamp(0.0, 255.0) as u8 } else { 0 };
    let d = e8m0_half(e);
    block[0] = e;
    for j in 0..16 {
        block[1 + j] = nearest_code(x[j], d) | (nearest_code(x[j + 16], d) << 4);
    }
}

/// ggml's `best_index_mxfp4`: the code whose value is nearest `x`, the lowest on ties.
pub(super) fn nearest_code(x: f32, d: f32) -> u8 {
    let mut best = (0u8, (KVALUES_MXFP4[0] as f32 * d - x).abs());
    for (i, &v) in KVALUES_MXFP4.iter().enumerate().skip(1) {
        let err = (v as f32 * d - x).abs();
        if err < best.1 {
            best = (i as u8, err);
        }
    }
    best.0
}
