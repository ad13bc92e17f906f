//! ggml TQ1_0 (ternary, 1.6875 bits): `{ u8 qs[48]; u8 qh[4]; f16 d }`, 256 elements packed as
//! base-3 digits, five per byte (four in `qh`), stored as `ceil(v · 256 / 243)` so that digit n
//! is the top of `(byte · 3^n mod 256) · 3`. Elements: `32n + m` from `qs[m]` (m < 32), then
//! `160 + 16n + m` from `qs[32 + m]` (m < 16), then `240 + 4n + j` from `qh[j]` (n < 4);
//! value = `(q − 1) · d`.

use super::common::{read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::TQ1_0.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::TQ1_0.block_len();

const POW3: [u8; 6] = [1, 3, 9, 27, 81, 243];

/// Base-3 digit `n` (0..5, most significant first) of a packed byte.
fn digit(byte: u8, n: usize) -> u8 {
    ((byte.wrapping_mul(POW3[n]) as u16 * 3) >> 8) as u8
}

/// `(byte index, digit)` holding element `i`.
fn position(i: usize) -> (usize, usize) {
    match i {
        0..160 => (i % 32, i / 32),
        160..240 => (32 + (i - 160) % 16, (i - 160) / 16),
        _ => (48 + (i - 240) % 4, (i - 240) / 4),
    }
}

/// The level (0..=2) of element `i`.
pub(crate) fn level(block: &[u8], i: usize) -> u8 {
    let (byte, n) = position(i);
    digit(block[byte], n)
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 52);
    for (i, y) in out.iter_mut().enumerate() {
        *y = (level(block, i) as f32 - 1.0) * d;
    }
}

/// Encodes one block as ggml's `quantize_row_tq1_0_ref`: `d = amax`, levels
/// `round(x / d) + 1` (half away from zero), five (four) digits per byte, most significant
/// first, then `ceil(v · 256 / 243)`; the four-digit `qh` bytes are shifted up one digit first.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let d = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut digits = [[0u8; 5]; 52];
    for (i, &v) in x.iter().enumerate() {
        let (byte, n) = position(i);
        digits[byte][n] = ((v * id).round() as i32 + 1) as u8;
    }
    for (byte, ds) in digits.iter().enumerate() {
        let count = if byte < 48 { 5 } else { 4 };
        let mut q = ds[..count].iter().fold(0u16, |q, &t| q * 3 + t as u16);
        if count == 4 {
            q *= 3;
        }
        block[byte] = (q * 256).div_ceil(243) as u8;
    }
    write_f16(block, 52, d);
}
