//! AVX2 GEMV kernels for the K-quants with 16-element groups: Q6_K (split layout, LoHi16
//! activations) and Q2_K/Q3_K (GGUF blocks, natural activations).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::q3_k_scales;
use super::gemv_avx2::{PREFETCH, REPEAT4, dot_pair, hsum256, idx, load, prefetch, rows_kernel};

rows_kernel!(q6_k_rows, q6_k_row);
rows_kernel!(q2_k_rows, q2_k_row);
rows_kernel!(q3_k_rows, q3_k_row);

/// Lane indices (8 lanes) repeating values 4j..4j + 4 twice each.
const REPEAT2: [[i32; 8]; 2] = [[0, 0, 1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6, 7, 7]];

/// The f16 at `p` as f32, broadcast.
#[inline(always)]
unsafe fn f16_splat(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees 2 readable bytes; F16C is enabled in every caller.
    unsafe {
        let bits = u16::from_le_bytes([*p, *p.add(1)]);
        _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32))))
    }
}

/// `d_x` of the 8 groups of half `h` of super-block `sb` (one per 32-block, repeated).
#[inline(always)]
unsafe fn group_dx(d: *const f32, sb: usize, h: usize) -> __m256 {
    // SAFETY: the caller guarantees 4 readable values.
    unsafe {
        let dx4 = _mm256_castps128_ps256(_mm_loadu_ps(d.add(8 * sb + 4 * h)));
        _mm256_permutevar8x32_ps(dx4, idx(&REPEAT2[0]))
    }
}

/// `(v >> count) & mask` on 16-bit lanes, for every byte.
#[inline(always)]
fn shift_and(v: __m256i, count: usize, mask: i8) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let shifted = _mm256_srl_epi16(v, _mm_cvtsi32_si128(count as i32));
        _mm256_and_si256(shifted, _mm256_set1_epi8(mask))
    }
}

/// Accumulates the 32-element quarter `t` of a half super-block: its i32 lanes 4i..4i + 4 are
/// 16-group 2t + i of the half, whose 8 scales are in `scale`.
#[inline(always)]
unsafe fn accumulate_quarter(acc: __m256, v: __m256i, x: *const i8, scale: __m256, t: usize) -> __m256 {
    // SAFETY: the caller guarantees 32 readable activations; AVX2 is enabled in every caller.
    unsafe {
        let prod = _mm256_maddubs_epi16(v, load(x));
        let dot = _mm256_madd_epi16(prod, _mm256_set1_epi16(1));
        let lanes = _mm256_permutevar8x32_ps(scale, idx(&REPEAT4[t]));
        _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc)
    }
}

/// Q2_K row on GGUF blocks (natural activations): scales[16] (scale | min << 4), qs[64], d,
/// dmin; the mins go through `d_x Σ q`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q2_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        // SAFETY: one 84-byte block, 256 activations, 8 d and 16 dsum values.
        unsafe {
            let block = row.as_ptr().add(84 * sb);
            let (super_d, super_dmin) = (f16_splat(block.add(80)), f16_splat(block.add(82)));
            for h in 0..2 {
                let packed = _mm256_cvtepu8_epi32(_mm_loadl_epi64(block.add(8 * h).cast()));
                let sc = _mm256_cvtepi32_ps(_mm256_and_si256(packed, _mm256_set1_epi32(0x0F)));
                let mins = _mm256_cvtepi32_ps(_mm256_srli_epi32(packed, 4));
                let scale = _mm256_mul_ps(_mm256_mul_ps(sc, super_d), group_dx(d, sb, h));
                let weighted = _mm256_mul_ps(mins, _mm256_loadu_ps(dsum.add(16 * sb + 8 * h)));
                offset = _mm256_fmadd_ps(weighted, super_dmin, offset);
                prefetch(block.wrapping_add(16 + 32 * h + PREFETCH));
                let qs = load(block.add(16 + 32 * h).cast());
                for t in 0..4 {
                    let x = q.add(256 * sb + 128 * h + 32 * t);
                    acc = accumulate_quarter(acc, shift_and(qs, 2 * t, 3), x, scale, t);
                }
            }
        }
    }
    hsum256(acc) - hsum256(offset)
}

/// Q3_K row on GGUF blocks (natural activations): hmask[32], qs[64], scales[12], d; the
/// value `v = low | high << 2` is ggml's + 4, the `-4 s` offset goes through `d_x Σ q`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q3_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        let scales = q3_k_scales(&row[110 * sb + 96..110 * sb + 108]);
        // SAFETY: one 110-byte block, 256 activations, 8 d and 16 dsum values.
        unsafe {
            let block = row.as_ptr().add(110 * sb);
            let super_d = f16_splat(block.add(108));
            let hmask = load(block.cast());
            for h in 0..2 {
                let biased = _mm256_cvtepu8_epi32(_mm_loadl_epi64(scales.as_ptr().add(8 * h).cast()));
                let sc = _mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(32)));
                let group_scale = _mm256_mul_ps(sc, super_d);
                offset = _mm256_fmadd_ps(group_scale, _mm256_loadu_ps(dsum.add(16 * sb + 8 * h)), offset);
                let scale = _mm256_mul_ps(group_scale, group_dx(d, sb, h));
                prefetch(block.wrapping_add(32 + 32 * h + PREFETCH));
                let qs = load(block.add(32 + 32 * h).cast());
                for t in 0..4 {
                    let high = _mm256_slli_epi16(shift_and(hmask, 4 * h + t, 1), 2);
                    let v = _mm256_or_si256(shift_and(qs, 2 * t, 3), high);
                    let x = q.add(256 * sb + 128 * h + 32 * t);
                    acc = accumulate_quarter(acc, v, x, scale, t);
                }
            }
        }
    }
    hsum256(acc) - 4.0 * hsum256(offset)
}

/// Q6_K row (LoHi16 activations): per 32 bytes of low nibbles, the high bit pairs come from the
/// half's 32 qh bytes (bits 0/2 for the low nibbles of the first/second 32 bytes, 4/6 for the
/// high nibbles); i32 lanes 2s, 2s + 1 are 16-group 4c + s.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (quants, headers) = (row.as_ptr().cast::<i8>(), row[w.scale_offset..].as_ptr());
    let nibble = _mm256_set1_epi8(0x0F);
    let bits45 = _mm256_set1_epi8(0x30);
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        // SAFETY: 18 header bytes, 192 quant bytes, 256 activations, 8 d and 16 dsum values.
        unsafe {
            let header = headers.add(18 * sb);
            let super_d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(u16::from_le_bytes([
                *header.add(16),
                *header.add(17),
            ]) as i32))));
            for h in 0..2 {
                // 16-group scales d · sc of this half, and d_x per group.
                let sc = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(header.add(8 * h).cast())));
                let group_scale = _mm256_mul_ps(sc, super_d);
                offset = _mm256_fmadd_ps(group_scale, _mm256_loadu_ps(dsum.add(16 * sb + 8 * h)), offset);
                let dx4 = _mm256_castps128_ps256(_mm_loadu_ps(d.add(8 * sb + 4 * h)));
                let dx = _mm256_permutevar8x32_ps(dx4, idx(&REPEAT2[0]));
                let scale = _mm256_mul_ps(group_scale, dx);
                let base = quants.add(192 * sb + 96 * h);
                let high = load(base.add(64));
                for (c, repeat) in REPEAT2.iter().enumerate().take(2) {
                    prefetch(base.wrapping_add(32 * c + PREFETCH).cast());
                    let low = load(base.add(32 * c));
                    let (high_lo, high_hi) = if c == 0 {
                        (_mm256_slli_epi16(high, 4), high)
                    } else {
                        (_mm256_slli_epi16(high, 2), _mm256_srli_epi16(high, 2))
                    };
                    let w_lo = _mm256_or_si256(_mm256_and_si256(low, nibble), _mm256_and_si256(high_lo, bits45));
                    let w_hi = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(low, 4), nibble),
                        _mm256_and_si256(high_hi, bits45),
                    );
                    let x = q.add(256 * sb + 128 * h + 32 * c);
                    let dot = dot_pair(w_lo, load(x), w_hi, load(x.add(64)));
                    let lanes = _mm256_permutevar8x32_ps(scale, idx(repeat));
                    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc);
                }
            }
        }
    }
    hsum256(acc) - 32.0 * hsum256(offset)
}
