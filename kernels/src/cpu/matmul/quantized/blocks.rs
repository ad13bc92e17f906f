//! Decoding one GGUF quant block into integer form: every format's weights are written as
//! `w[i] = s[i / 16] · v[i] + m[i / 16]` with `v[i]` an unsigned byte and one scale `s` and
//! offset `m` per group of 16 elements. The integer kernels multiply `v` by 8-bit activations
//! and apply `s` and `m` per group; the float kernels rebuild `w` from the same triple.
//!
//! `s · v + m` equals ggml's dequantized value exactly in real arithmetic (ggml's own f32
//! products may round once); the formats and their bit layouts follow ggml's `ggml-common.h`.

use crate::DType;

/// Elements per scale/offset group.
pub(crate) const GROUP: usize = 16;

/// The IQ4_NL code book (ggml's `kvalues_iq4nl`).
pub(crate) const IQ4_NL_VALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// Little-endian f16 at `offset`, widened to f32 (exact).
#[inline(always)]
pub(crate) fn f16_at(bytes: &[u8], offset: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[offset], bytes[offset + 1]])).to_f32()
}

/// Little-endian u32 at `offset`.
#[inline(always)]
fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// Decodes one GGUF block of `dtype` (`block.len() == dtype.block_bytes()`): `v` gets
/// `block_len` values, `s` and `m` one entry per 16 elements.
#[inline(always)]
pub(crate) fn decode_gguf_block(
    dtype: DType,
    block: &[u8],
    v: &mut [u8],
    s: &mut [f32],
    m: &mut [f32],
) {
    match dtype {
        DType::Q4_0 => {
            let d = f16_at(block, 0);
            nibbles_32(&block[2..18], v);
            s[..2].fill(d);
            m[..2].fill(-8.0 * d);
        }
        DType::Q4_1 => {
            let (d, min) = (f16_at(block, 0), f16_at(block, 2));
            nibbles_32(&block[4..20], v);
            s[..2].fill(d);
            m[..2].fill(min);
        }
        DType::Q5_0 => {
            let d = f16_at(block, 0);
            five_bits_32(u32_at(block, 2), &block[6..22], v);
            s[..2].fill(d);
            m[..2].fill(-16.0 * d);
        }
        DType::Q5_1 => {
            let (d, min) = (f16_at(block, 0), f16_at(block, 2));
            five_bits_32(u32_at(block, 4), &block[8..24], v);
            s[..2].fill(d);
            m[..2].fill(min);
        }
        DType::Q8_0 => {
            let d = f16_at(block, 0);
            for (dst, &q) in v[..32].iter_mut().zip(&block[2..34]) {
                *dst = q ^ 0x80; // two's complement q + 128
            }
            s[..2].fill(d);
            m[..2].fill(-128.0 * d);
        }
        DType::IQ4_NL => {
            let d = f16_at(block, 0);
            nibbles_32(&block[2..18], v);
            for x in v[..32].iter_mut() {
                *x = (IQ4_NL_VALUES[*x as usize] as u8) ^ 0x80;
            }
            s[..2].fill(d);
            m[..2].fill(-128.0 * d);
        }
        DType::Q2_K => decode_q2_k(block, v, s, m),
        DType::Q3_K => decode_q3_k(block, v, s, m),
        DType::Q4_K => decode_q4_k(block, v, s, m),
        DType::Q5_K => decode_q5_k(block, v, s, m),
        DType::Q6_K => decode_q6_k(block, v, s, m),
        DType::F32 | DType::F16 | DType::BF16 | DType::I32 => {
            unreachable!("decode_gguf_block called with {dtype}")
        }
    }
}

/// ggml's 32-element nibble order: byte j holds element j (low) and j + 16 (high).
#[inline(always)]
pub(crate) fn nibbles_32(qs: &[u8], v: &mut [u8]) {
    for j in 0..16 {
        v[j] = qs[j] & 0x0F;
        v[j + 16] = qs[j] >> 4;
    }
}

/// Q5_0/Q5_1: nibbles plus bit i of `qh` as bit 4 of element i.
#[inline(always)]
fn five_bits_32(qh: u32, qs: &[u8], v: &mut [u8]) {
    nibbles_32(qs, v);
    for (i, x) in v[..32].iter_mut().enumerate() {
        *x |= (((qh >> i) & 1) as u8) << 4;
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) in Q4_K/Q5_K's 12-byte packing.
#[inline(always)]
pub(crate) fn k4_scale_min(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    }
}

/// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
/// Element e: byte 32·(e / 128) + e % 32, bits 2·((e % 128) / 32).
fn decode_q2_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 80), f16_at(block, 82));
    let qs = &block[16..80];
    for (e, x) in v[..256].iter_mut().enumerate() {
        let byte = qs[32 * (e / 128) + e % 32];
        *x = (byte >> (2 * ((e % 128) / 32))) & 3;
    }
    for g in 0..16 {
        let sc = block[g];
        s[g] = d * (sc & 0x0F) as f32;
        m[g] = -dmin * (sc >> 4) as f32;
    }
}

/// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit values biased by 32), d.
/// Element e: two low bits as in Q2_K; the high bit, when clear, subtracts 4.
fn decode_q3_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (hmask, qs, scales) = (&block[0..32], &block[32..96], &block[96..108]);
    let d = f16_at(block, 108);
    for (e, x) in v[..256].iter_mut().enumerate() {
        let (half, quarter, l) = (e / 128, (e % 128) / 32, e % 32);
        let low = (qs[32 * half + l] >> (2 * quarter)) & 3;
        let high = (hmask[l] >> (4 * half + quarter)) & 1;
        *x = low | (high << 2); // ggml's value is x - 4
    }
    for g in 0..16 {
        let low = if g < 8 {
            scales[g] & 0x0F
        } else {
            scales[g - 8] >> 4
        };
        let high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
        let sc = (low | (high << 4)) as i32 - 32;
        s[g] = d * sc as f32;
        m[g] = -4.0 * s[g];
    }
}

/// Q4_K: d, dmin, scales[12] (eight 6-bit scales and mins), qs[128].
/// Element e: byte 32·(e / 64) + e % 32, low nibble when e % 64 < 32.
fn decode_q4_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let (scales, qs) = (&block[4..16], &block[16..144]);
    for chunk in 0..4 {
        for l in 0..32 {
            let byte = qs[32 * chunk + l];
            v[64 * chunk + l] = byte & 0x0F;
            v[64 * chunk + 32 + l] = byte >> 4;
        }
    }
    k_quant_scales(d, dmin, scales, s, m);
}

/// Q5_K: d, dmin, scales[12], qh[32], qs[128]; bit e / 32 of qh[e % 32] is bit 4 of element e.
fn decode_q5_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let (scales, qh, qs) = (&block[4..16], &block[16..48], &block[48..176]);
    for chunk in 0..4 {
        for l in 0..32 {
            let byte = qs[32 * chunk + l];
            let high_lo = (qh[l] >> (2 * chunk)) & 1;
            let high_hi = (qh[l] >> (2 * chunk + 1)) & 1;
            v[64 * chunk + l] = (byte & 0x0F) | (high_lo << 4);
            v[64 * chunk + 32 + l] = (byte >> 4) | (high_hi << 4);
        }
    }
    k_quant_scales(d, dmin, scales, s, m);
}

/// Per-16 scales and offsets of Q4_K/Q5_K (their sub-blocks are 32 long).
#[inline(always)]
fn k_quant_scales(d: f32, dmin: f32, scales: &[u8], s: &mut [f32], m: &mut [f32]) {
    for j in 0..8 {
        let (sc, mn) = k4_scale_min(scales, j);
        let (scale, offset) = (d * sc as f32, -dmin * mn as f32);
        s[2 * j] = scale;
        s[2 * j + 1] = scale;
        m[2 * j] = offset;
        m[2 * j + 1] = offset;
    }
}

/// Q6_K: ql[128], qh[64], scales[16] (i8), d. Element e, with h = e / 128, t = (e % 128) / 32,
/// l = e % 32: low four bits from ql[64h + 32(t & 1) + l] (low nibble when t < 2), high two bits
/// from qh[32h + l] at bit 2t; ggml's value is x - 32.
fn decode_q6_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (ql, qh, scales) = (&block[0..128], &block[128..192], &block[192..208]);
    let d = f16_at(block, 208);
    for (e, x) in v[..256].iter_mut().enumerate() {
        let (h, t, l) = (e / 128, (e % 128) / 32, e % 32);
        let low_byte = ql[64 * h + 32 * (t & 1) + l];
        let low = if t < 2 {
            low_byte & 0x0F
        } else {
            low_byte >> 4
        };
        let high = (qh[32 * h + l] >> (2 * t)) & 3;
        *x = low | (high << 4);
    }
    for g in 0..16 {
        s[g] = d * (scales[g] as i8) as f32;
        m[g] = -32.0 * s[g];
    }
}
