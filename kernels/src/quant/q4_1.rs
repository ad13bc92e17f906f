//! ggml Q4_1: `{ f16 d; f16 m; u8 qs[16] }`, 32 elements, nibble order as Q4_0;
//! value = q * d + m.

use super::common::read_f16;
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
