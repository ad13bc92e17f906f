//! ggml Q8_0: `{ f16 d; i8 qs[32] }`, 32 elements; value = q * d.

use super::common::{read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q8_0.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q8_0.block_len();

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    for (o, &q) in out.iter_mut().zip(&block[2..34]) {
        *o = (q as i8) as f32 * d;
    }
}

/// Encodes one block as ggml's `quantize_row_q8_0_ref`: d = amax / 127, q = round(x / d)
/// (half away from zero).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(block, 0, d);
    for (q, &v) in block[2..34].iter_mut().zip(x) {
        *q = ((v * id).round() as i8) as u8;
    }
}
