//! ggml Q4_0: `{ f16 d; u8 qs[16] }`, 32 elements. Element `j < 16` is the low nibble of
//! `qs[j]`, element `j + 16` its high nibble; value = (q - 8) * d.

use super::common::read_f16;
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
