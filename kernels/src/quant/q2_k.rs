//! ggml Q2_K: `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }`, 256 elements in 16 sub-blocks
//! of 16. `scales[i]` holds sub-block i's 4-bit scale (low nibble) and 4-bit min (high nibble).
//! Each 128-element half uses 32 bytes of `qs`: element `32 * k + r` of the half is bits
//! `2k..2k+2` of byte `r`. Value = d * scale * q - dmin * min.

use super::common::read_f16;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q2_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q2_K.block_len();

const SCALES: usize = 0;
const QS: usize = 16;
const D: usize = 80;
const DMIN: usize = 82;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let dmin = read_f16(block, DMIN);
    for (sub, out16) in out.chunks_exact_mut(16).enumerate() {
        let sc = block[SCALES + sub];
        let dl = d * (sc & 0xF) as f32;
        let ml = dmin * (sc >> 4) as f32;
        // Sub-block `sub` covers elements 16 * sub.. of the block: half `sub / 8`, 2-bit
        // plane `(sub % 8) / 2`, bytes 0..16 or 16..32 of that half's quants.
        let half = sub / 8;
        let shift = 2 * ((sub % 8) / 2);
        let q = &block[QS + 32 * half + 16 * (sub % 2)..][..16];
        for (o, &byte) in out16.iter_mut().zip(q) {
            *o = dl * ((byte >> shift) & 3) as f32 - ml;
        }
    }
}
