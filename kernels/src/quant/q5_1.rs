//! ggml Q5_1: `{ f16 d; f16 m; u8 qh[4]; u8 qs[16] }`, 32 elements, bits as Q5_0;
//! value = q * d + m.

use super::common::{read_f16, write_f16};
use super::q4_1::min_max;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q5_1.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q5_1.block_len();

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let m = read_f16(block, 2);
    let qh = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
    let qs = &block[8..24];
    for j in 0..16 {
        let hi0 = (((qh >> j) & 1) << 4) as u8;
        let hi1 = (((qh >> (j + 16)) & 1) << 4) as u8;
        out[j] = ((qs[j] & 0xF) | hi0) as f32 * d + m;
        out[j + 16] = ((qs[j] >> 4) | hi1) as f32 * d + m;
    }
}

/// Encodes one block as ggml's `quantize_row_q5_1_ref`: m = min, d = (max - min) / 31,
/// q = trunc((x - m) / d + 0.5).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 0, d);
    write_f16(block, 2, min);
    let mut qh = 0u32;
    for j in 0..16 {
        // ggml does not clamp here; the top value lands on 31 up to rounding noise.
        let q0 = (((x[j] - min) * id + 0.5) as u8).min(31);
        let q1 = (((x[j + 16] - min) * id + 0.5) as u8).min(31);
        block[8 + j] = (q0 & 0xF) | ((q1 & 0xF) << 4);
        qh |= ((q0 >> 4) as u32) << j;
        qh |= ((q1 >> 4) as u32) << (j + 16);
    }
    block[4..8].copy_from_slice(&qh.to_le_bytes());
}
