//! ggml Q5_0: `{ f16 d; u8 qh[4]; u8 qs[16] }`, 32 elements. Low four bits as Q4_0's nibbles;
//! bit `j` of the little-endian u32 `qh` is the fifth bit of element `j`; value = (q - 16) * d.

use super::common::{read_f16, write_f16};
use super::q4_0::signed_abs_max;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q5_0.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q5_0.block_len();

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
    let qs = &block[6..22];
    for j in 0..16 {
        let hi0 = (((qh >> j) & 1) << 4) as i32;
        let hi1 = (((qh >> (j + 16)) & 1) << 4) as i32;
        out[j] = (((qs[j] & 0xF) as i32 | hi0) - 16) as f32 * d;
        out[j + 16] = (((qs[j] >> 4) as i32 | hi1) - 16) as f32 * d;
    }
}

/// Encodes one block as ggml's `quantize_row_q5_0_ref`: d = (signed value of largest magnitude)
/// / -16; q = min(31, trunc(x / d + 16.5)).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let d = signed_abs_max(x) / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 0, d);
    let mut qh = 0u32;
    for j in 0..16 {
        let q0 = ((x[j] * id + 16.5) as i8).min(31) as u8;
        let q1 = ((x[j + 16] * id + 16.5) as i8).min(31) as u8;
        block[6 + j] = (q0 & 0xF) | ((q1 & 0xF) << 4);
        qh |= ((q0 >> 4) as u32) << j;
        qh |= ((q1 >> 4) as u32) << (j + 16);
    }
    block[2..6].copy_from_slice(&qh.to_le_bytes());
}
