//! ggml IQ4_NL: `{ f16 d; u8 qs[16] }`, 32 elements, nibble order as Q4_0; each nibble indexes
//! the non-linear table [`KVALUES_IQ4NL`]; value = table[q] * d.

use super::common::read_f16;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::IQ4_NL.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::IQ4_NL.block_len();

/// ggml's `kvalues_iq4nl`: the 16 levels, sorted ascending.
pub(super) const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let qs = &block[2..18];
    for j in 0..16 {
        out[j] = d * KVALUES_IQ4NL[(qs[j] & 0xF) as usize] as f32;
        out[j + 16] = d * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
    }
}
