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
pub(crate) const IQ4_NL_VALUES: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

pub(crate) use crate::quant::KVALUES_MXFP4 as MXFP4_VALUES;

/// Little-endian f16 at `offset`, widened to f32 (exact).
#[inline(always)]
pub(crate) fn f16_at(bytes: &[u8], offset: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[offset], bytes[offset + 1]])).to_f32()
}

/// Little-endian u32 at `offset`.
#[inline(always)]
fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]])
}

/// The scale `d · (ls − 32)` of sub-block `ib` of an IQ4_XS block.
#[inline(always)]
fn iq4_xs_scale(block: &[u8], ib: usize) -> f32 {
    let scales_h = u16::from_le_bytes([block[2], block[3]]);
    let low = (block[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F;
    let ls = (low | (((scales_h >> (2 * ib)) & 3) as u8) << 4) as i32;
    f16_at(block, 0) * (ls - 32) as f32
}

/// The `s` and `m` of [`decode_gguf_block`] alone, without decoding the values where the
/// format allows: the VNNI GEMM decodes values in registers and reads only these, and a full
/// scalar decode per block took a third of its time on NVFP4.
pub(crate) fn decode_gguf_scales(dtype: DType, block: &[u8], s: &mut [f32], m: &mut [f32]) {
    let groups = dtype.block_len() / 16;
    match dtype {
        DType::MXFP4 => s[..2].fill(crate::quant::mxfp4_scale(block[0])),
        DType::NVFP4 => {
            for (sub, s) in s[..4].iter_mut().enumerate() {
                *s = crate::quant::ue4m3_half(block[sub]);
            }
        }
        DType::IQ4_XS => {
            for ib in 0..8 {
                s[2 * ib..2 * ib + 2].fill(iq4_xs_scale(block, ib));
            }
        }
        DType::TQ1_0 => s[..16].fill(f16_at(block, 52)),
        DType::TQ2_0 => s[..16].fill(f16_at(block, 64)),
        lattice if crate::quant::iq_lattice::is_lattice(lattice) => {
            s[..16].copy_from_slice(&crate::quant::iq_lattice::block_scales(lattice, block));
        }
        _ => {
            let mut v = [0u8; 256];
            return decode_gguf_block(dtype, block, &mut v, s, m);
        }
    }
    for (m, &s) in m[..groups].iter_mut().zip(&s[..groups]) {
        *m = -128.0 * s;
    }
}

/// Decodes one GGUF block of `dtype` (`block.len() == dtype.block_bytes()`): `v` gets
/// `block_len` values, `s` and `m` one entry per 16 elements.
#[inline(always)]
pub(crate) fn decode_gguf_block(dtype: DType, block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
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
        DType::MXFP4 => {
            let d = crate::quant::mxfp4_scale(block[0]);
            nibbles_32(&block[1..17], v);
            for x in v[..32].iter_mut() {
                *x = (MXFP4_VALUES[*x as usize] as u8) ^ 0x80;
            }
            s[..2].fill(d);
            m[..2].fill(-128.0 * d);
        }
        DType::IQ4_XS => {
            for ib in 0..8 {
                let out = &mut v[32 * ib..32 * ib + 32];
                nibbles_32(&block[8 + 16 * ib..24 + 16 * ib], out);
                for x in out.iter_mut() {
                    *x = (IQ4_NL_VALUES[*x as usize] as u8) ^ 0x80;
                }
                let scale = iq4_xs_scale(block, ib);
                s[2 * ib..2 * ib + 2].fill(scale);
                m[2 * ib..2 * ib + 2].fill(-128.0 * scale);
            }
        }
        DType::NVFP4 => {
            for sub in 0..4 {
                let d = crate::quant::ue4m3_half(block[sub]);
                for j in 0..8 {
                    let q = block[4 + 8 * sub + j];
                    v[16 * sub + j] = (MXFP4_VALUES[(q & 0xF) as usize] as u8) ^ 0x80;
                    v[16 * sub + 8 + j] = (MXFP4_VALUES[(q >> 4) as usize] as u8) ^ 0x80;
                }
                s[sub] = d;
                m[sub] = -128.0 * d;
            }
        }
        DType::TQ1_0 | DType::TQ2_0 => {
            let tq1 = dtype == DType::TQ1_0;
            let d = f16_at(block, if tq1 { 52 } else { 64 });
            // Digits 0..2 are levels −1..1, kept as `level + 128` like the other signed formats.
            for (i, x) in v[..256].iter_mut().enumerate() {
                *x = 127 + if tq1 { crate::quant::tq1_0_level(block, i) } else { crate::quant::tq2_0_level(block, i) };
            }
            s[..16].fill(d);
            m[..16].fill(-128.0 * d);
        }
        lattice @ (DType::IQ2_XXS
        | DType::IQ2_XS
        | DType::IQ2_S
        | DType::IQ3_XXS
        | DType::IQ3_S
        | DType::IQ1_S
        | DType::IQ1_M) => {
            let mut w = [0i8; 256];
            crate::quant::lattice_decode(lattice, block, &mut w, s);
            for (x, &level) in v[..256].iter_mut().zip(&w) {
                *x = (level as u8) ^ 0x80;
            }
            for (offset, &scale) in m[..16].iter_mut().zip(&s[..16]) {
                *offset = -128.0 * scale;
            }
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
    let high = qh.to_le_bytes();
    for j in 0..16 {
        let bit_lo = (high[j / 8] >> (j % 8)) & 1;
        let bit_hi = (high[2 + j / 8] >> (j % 8)) & 1;
        v[j] = (qs[j] & 0x0F) | (bit_lo << 4);
        v[j + 16] = (qs[j] >> 4) | (bit_hi << 4);
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) in Q4_K/Q5_K's 12-byte packing.
#[inline(always)]
pub(crate) fn k4_scale_min(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        ((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))
    }
}

/// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
/// Element 128h + 32t + l: bits 2t of byte 32h + l.
#[inline(always)]
fn decode_q2_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 80), f16_at(block, 82));
    let qs = &block[16..80];
    for half in 0..2 {
        for quarter in 0..4 {
            let out = &mut v[128 * half + 32 * quarter..128 * half + 32 * quarter + 32];
            for (x, &byte) in out.iter_mut().zip(&qs[32 * half..32 * half + 32]) {
                *x = (byte >> (2 * quarter)) & 3;
            }
        }
    }
    for g in 0..16 {
        let sc = block[g];
        s[g] = d * (sc & 0x0F) as f32;
        m[g] = -dmin * (sc >> 4) as f32;
    }
}

/// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit values biased by 32), d.
/// Element 128h + 32t + l: two low bits as in Q2_K; bit 4h + t of hmask[l], when clear,
/// subtracts 4.
#[inline(always)]
fn decode_q3_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (hmask, qs) = (&block[0..32], &block[32..96]);
    let d = f16_at(block, 108);
    for half in 0..2 {
        for quarter in 0..4 {
            let out = &mut v[128 * half + 32 * quarter..128 * half + 32 * quarter + 32];
            let bits = qs[32 * half..32 * half + 32].iter().zip(hmask);
            for (x, (&low, &high)) in out.iter_mut().zip(bits) {
                // ggml's value is x - 4.
                *x = ((low >> (2 * quarter)) & 3) | (((high >> (4 * half + quarter)) & 1) << 2);
            }
        }
    }
    let scales = q3_k_scales(&block[96..108]);
    for g in 0..16 {
        s[g] = d * (scales[g] as i32 - 32) as f32;
        m[g] = -4.0 * s[g];
    }
}

/// Q3_K's sixteen 6-bit scales (still biased by 32) unpacked from 12 bytes: the low nibbles
/// of bytes 0..8 then their high nibbles, each with two more bits from bytes 8..12.
#[inline(always)]
pub(crate) fn q3_k_scales(packed: &[u8]) -> [u8; 16] {
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([packed[4 * i], packed[4 * i + 1], packed[4 * i + 2], packed[4 * i + 3]]);
    let (a, b, high) = (word(0), word(1), word(2));
    let words = [
        (a & LOW4) | ((high & LOW2) << 4),
        (b & LOW4) | (((high >> 2) & LOW2) << 4),
        ((a >> 4) & LOW4) | (((high >> 4) & LOW2) << 4),
        ((b >> 4) & LOW4) | (((high >> 6) & LOW2) << 4),
    ];
    let mut out = [0u8; 16];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Q4_K: d, dmin, scales[12] (eight 6-bit scales and mins), qs[128].
/// Element e: byte 32·(e / 64) + e % 32, low nibble when e % 64 < 32.
#[inline(always)]
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
#[inline(always)]
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

/// Per-16 scales and offsets of Q4_K/Q5_K (their sub-blocks are 32 long) from `d`, `dmin` and
/// the 12 packed scale bytes.
#[inline(always)]
pub(crate) fn k_quant_scales(d: f32, dmin: f32, scales: &[u8], s: &mut [f32], m: &mut [f32]) {
    for j in 0..8 {
        let (sc, mn) = k4_scale_min(scales, j);
        let (scale, offset) = (d * sc as f32, -dmin * mn as f32);
        s[2 * j] = scale;
        s[2 * j + 1] = scale;
        m[2 * j] = offset;
        m[2 * j + 1] = offset;
    }
}

/// Q6_K: ql[128], qh[64], scales[16] (i8), d. Element 128h + 32t + l: low four bits from
/// ql[64h + 32(t & 1) + l] (low nibble when t < 2), high two bits from qh[32h + l] at bit 2t;
/// ggml's value is x - 32.
#[inline(always)]
fn decode_q6_k(block: &[u8], v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
    let (ql, qh) = (&block[0..128], &block[128..192]);
    for h in 0..2 {
        for t in 0..4 {
            let low = &ql[64 * h + 32 * (t & 1)..64 * h + 32 * (t & 1) + 32];
            let high = &qh[32 * h..32 * h + 32];
            let out = &mut v[128 * h + 32 * t..128 * h + 32 * t + 32];
            let shift = if t < 2 { 0 } else { 4 };
            for (x, (&l, &hb)) in out.iter_mut().zip(low.iter().zip(high)) {
                *x = ((l >> shift) & 0x0F) | (((hb >> (2 * t)) & 3) << 4);
            }
        }
    }
    q6_k_scales(&block[192..208], f16_at(block, 208), s, m);
}

/// Q6_K's per-16 scales `d · sc` (signed) and offsets `-32 d · sc`.
#[inline(always)]
pub(crate) fn q6_k_scales(scales: &[u8], d: f32, s: &mut [f32], m: &mut [f32]) {
    for g in 0..16 {
        s[g] = d * (scales[g] as i8) as f32;
        m[g] = -32.0 * s[g];
    }
}

/// Q4_K's eight 6-bit scales (bytes 0..8) and mins (bytes 8..16) unpacked from 12 bytes.
#[inline(always)]
pub(crate) fn q4_k_scales_mins(packed: &[u8]) -> (u64, u64) {
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([packed[4 * i], packed[4 * i + 1], packed[4 * i + 2], packed[4 * i + 3]]);
    let (a, b, c) = (word(0), word(1), word(2));
    let scales_lo = a & LOW6;
    let scales_hi = (c & LOW4) | (((a >> 6) & LOW2) << 4);
    let mins_lo = b & LOW6;
    let mins_hi = ((c >> 4) & LOW4) | (((b >> 6) & LOW2) << 4);
    (scales_lo as u64 | (scales_hi as u64) << 32, mins_lo as u64 | (mins_hi as u64) << 32)
}
