//! ggml Q4_0: `{ f16 d; u8 qs[16] }`, 32 elements. Element `j < 16` is the low nibble of
//! `qs[j]`, element `j + 16` its high nibble; value = (q - 8) * d.

use super::common::{read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q4_0.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q4_0.block_len();

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let qs = &block[2..18];
    for j in 0..16 {
        out[j] = ((qs[j] & 0xF) as i32 - 8) as f32 * d;
        out[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
    }
}

/// Encodes one block as ggml's `quantize_row_q4_0_ref`: d = (signed value of largest magnitude)
/// / -8, so that value maps to q = 0; q = min(15, trunc(x / d + 8.5)).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let max = signed_abs_max(x);
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 0, d);
    for j in 0..16 {
        let q0 = ((x[j] * id + 8.5) as i8).min(15) as u8;
        let q1 = ((x[j + 16] * id + 8.5) as i8).min(15) as u8;
        block[2 + j] = q0 | (q1 << 4);
    }
}

/// The first value of largest magnitude, with its sign (0 for an all-zero block).
pub(super) fn signed_abs_max(x: &[f32]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}
