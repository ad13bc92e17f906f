//! ggml Q4_K: `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`, 256 elements in 8 sub-blocks of
//! 32 with 6-bit scales and mins (packing in [`super::common::scale_min_k4`]). Each 64-element
//! chunk uses 32 bytes of `qs`: its first 32 elements are the low nibbles, the next 32 the high
//! nibbles. Value = d * scale * q - dmin * min.

use super::common::{read_f16, scale_min_k4};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q4_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q4_K.block_len();

const D: usize = 0;
const DMIN: usize = 2;
const SCALES: usize = 4;
const QS: usize = 16;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let dmin = read_f16(block, DMIN);
    let packed: [u8; 12] = std::array::from_fn(|i| block[SCALES + i]);
    for (chunk, out64) in out.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * chunk, &packed);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, &packed);
        let (d1, min1) = (d * sc1 as f32, dmin * m1 as f32);
        let (d2, min2) = (d * sc2 as f32, dmin * m2 as f32);
        let q = &block[QS + 32 * chunk..][..32];
        let (lo, hi) = out64.split_at_mut(32);
        for l in 0..32 {
            lo[l] = d1 * (q[l] & 0xF) as f32 - min1;
            hi[l] = d2 * (q[l] >> 4) as f32 - min2;
        }
    }
}
