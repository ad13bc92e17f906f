//! The plain float formats as little-endian bytes: f32, f16 and bf16.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

/// Values converted per batch through the (SIMD) slice conversions of `half`.
const BATCH: usize = 256;

/// Decodes little-endian f32s.
pub(super) fn decode_f32(src: &[u8], dst: &mut [f32]) {
    for (o, b) in dst.iter_mut().zip(src.as_chunks::<4>().0) {
        *o = f32::from_le_bytes(*b);
    }
}

/// Decodes little-endian f16s (batched: `half` converts slices with F16C when available).
pub(super) fn decode_f16(src: &[u8], dst: &mut [f32]) {
    let mut batch = [f16::ZERO; BATCH];
    for (bytes, out) in src.chunks(2 * BATCH).zip(dst.chunks_mut(BATCH)) {
        let halves = &mut batch[..out.len()];
        for (h, b) in halves.iter_mut().zip(bytes.as_chunks::<2>().0) {
            *h = f16::from_bits(u16::from_le_bytes(*b));
        }
        halves.convert_to_f32_slice(out);
    }
}

/// Decodes little-endian bf16s (the upper halves of f32s).
pub(super) fn decode_bf16(src: &[u8], dst: &mut [f32]) {
    for (o, b) in dst.iter_mut().zip(src.as_chunks::<2>().0) {
        *o = bf16::from_bits(u16::from_le_bytes(*b)).to_f32();
    }
}

/// Encodes little-endian f32s.
pub(super) fn encode_f32(src: &[f32], dst: &mut [u8]) {
    for (b, &x) in dst.as_chunks_mut::<4>().0.iter_mut().zip(src) {
        *b = x.to_le_bytes();
    }
}

/// Encodes little-endian f16s, rounding to nearest even (batched like [`decode_f16`]).
pub(super) fn encode_f16(src: &[f32], dst: &mut [u8]) {
    let mut batch = [f16::ZERO; BATCH];
    for (xs, bytes) in src.chunks(BATCH).zip(dst.chunks_mut(2 * BATCH)) {
        let halves = &mut batch[..xs.len()];
        halves.convert_from_f32_slice(xs);
        for (b, h) in bytes.as_chunks_mut::<2>().0.iter_mut().zip(halves.iter()) {
            *b = h.to_bits().to_le_bytes();
        }
    }
}

/// Encodes little-endian bf16s as ggml does: round to nearest even, NaN kept NaN (quieted).
pub(super) fn encode_bf16(src: &[f32], dst: &mut [u8]) {
    for (b, &x) in dst.as_chunks_mut::<2>().0.iter_mut().zip(src) {
        *b = f32_to_bf16_bits(x).to_le_bytes();
    }
}

/// ggml's `ggml_compute_fp32_to_bf16`.
fn f32_to_bf16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    if u & 0x7fff_ffff > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even_and_keeps_nan() {
        assert_eq!(f32_to_bf16_bits(1.0), 0x3f80);
        // 1 + 2^-8 is exactly half way between bf16 1.0 and 1.0078125: ties to even (1.0).
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80);
        // Just above half way rounds up.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f80_8001)), 0x3f81);
        // Half way from an odd mantissa rounds up to even.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82);
        let nan = f32_to_bf16_bits(f32::from_bits(0x7f80_0001));
        assert!(bf16::from_bits(nan).is_nan());
        assert_eq!(f32_to_bf16_bits(f32::INFINITY), 0x7f80);
    }

    #[test]
    fn f16_batches_match_scalar_conversion() {
        // More than one batch and a ragged tail; includes subnormals, infinities and ties.
        let n = 2 * BATCH + 37;
        let x: Vec<f32> = (0..n)
            .map(|i| match i % 7 {
                0 => f32::INFINITY,
                1 => 6.0e-8 * i as f32,
                2 => 1.0 + (i as f32) * 2f32.powi(-11), // many exact f16 ties
                _ => (i as f32 - 300.0) * 0.37,
            })
            .collect();
        let mut bytes = vec![0u8; 2 * n];
        encode_f16(&x, &mut bytes);
        let mut back = vec![f32::NAN; n];
        decode_f16(&bytes, &mut back);
        for i in 0..n {
            let scalar = f16::from_f32(x[i]);
            assert_eq!(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]), scalar.to_bits());
            assert_eq!(back[i], scalar.to_f32());
        }
    }

    #[test]
    fn float_bytes_are_little_endian() {
        let mut out = [f32::NAN; 2];
        decode_f32(&[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        decode_f16(&[0x00, 0x3c, 0x00, 0xc2], &mut out);
        assert_eq!(out, [1.0, -3.0]);
        decode_bf16(&[0x80, 0x3f, 0x40, 0xc0], &mut out);
        assert_eq!(out, [1.0, -3.0]);
    }
}
