//! ggml Q4_1: `{ f16 d; f16 m; u8 qs[16] }`, 32 elements, nibble order as Q4_0;
//! value = q * d + m.

use super::common::{read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q4_1.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q4_1.block_len();

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let m = read_f16(block, 2);
    let qs = &block[4..20];
    for j in 0..16 {
        out[j] = (qs[j] & 0xF) as f32 * d + m;
        out[j + 16] = (qs[j] >> 4) as f32 * d + m;
    }
}

/// Encodes one block as ggml's `quantize_row_q4_1_ref`: m = min, d = (max - min) / 15,
/// q = min(15, trunc((x - m) / d + 0.5)).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 0, d);
    write_f16(block, 2, min);
    for j in 0..16 {
        let q0 = (((x[j] - min) * id + 0.5) as i8).min(15) as u8;
        let q1 = (((x[j + 16] - min) * id + 0.5) as i8).min(15) as u8;
        block[4 + j] = q0 | (q1 << 4);
    }
}

/// The smallest and largest value.
pub(super) fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}
