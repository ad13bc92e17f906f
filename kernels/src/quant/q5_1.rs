//! ggml Q5_1: `{ f16 d; f16 m; u8 qh[4]; u8 qs[16] }`, 32 elements, bits as Q5_0;
//! value = q * d + m.

use super::common::read_f16;
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
