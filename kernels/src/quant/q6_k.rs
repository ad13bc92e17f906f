//! ggml Q6_K: `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`, 256 elements in 16 sub-blocks of
//! 16 with signed 8-bit scales. Each 128-element half uses 64 bytes of `ql` and 32 of `qh`:
//! element `32 * k + l` (k in 0..4) takes its low nibble from `ql[l + 32 * (k % 2)]` (low nibble
//! for k < 2, high for k >= 2) and its top two bits from bits `2k..2k+2` of `qh[l]`.
//! Value = d * scale * (q - 32).

use super::common::read_f16;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q6_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q6_K.block_len();

const QL: usize = 0;
const QH: usize = 128;
const SCALES: usize = 192;
const D: usize = 208;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    for (half, out128) in out.chunks_exact_mut(128).enumerate() {
        let ql = &block[QL + 64 * half..][..64];
        let qh = &block[QH + 32 * half..][..32];
        let sc = &block[SCALES + 8 * half..][..8];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            out128[l] = d * (sc[is] as i8) as f32 * q1 as f32;
            out128[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
            out128[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
            out128[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
        }
    }
}
