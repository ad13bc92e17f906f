//! ggml TQ2_0 (ternary, 2.0625 bits): `{ u8 qs[64]; f16 d }`, 256 elements. Element
//! `128h + 32l + m` is bits `2l..2l+2` of `qs[32h + m]`, a level 0..=2; value = `(q − 1) · d`.

use super::common::{read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::TQ2_0.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::TQ2_0.block_len();

/// The level (0..=3; 3 never written) of element `i`.
pub(crate) fn level(block: &[u8], i: usize) -> u8 {
    let (h, l, m) = (i / 128, (i / 32) % 4, i % 32);
    (block[32 * h + m] >> (2 * l)) & 3
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 64);
    for (i, y) in out.iter_mut().enumerate() {
        *y = (level(block, i) as f32 - 1.0) * d;
    }
}

/// Encodes one block as ggml's `quantize_row_tq2_0_ref`: `d = amax`, levels
/// `round(x / d) + 1` (half away from zero, as `lroundf`).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let d = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 64, d);
    block[..64].fill(0);
    for (i, &v) in x.iter().enumerate() {
        let q = ((v * id).round() as i32 + 1) as u8 & 3;
        let (h, l, m) = (i / 128, (i / 32) % 4, i % 32);
        block[32 * h + m] |= q << (2 * l);
    }
}
