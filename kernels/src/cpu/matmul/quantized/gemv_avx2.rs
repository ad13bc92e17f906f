//! AVX2 GEMV kernels for the split layouts (see [`super::layout`]); the same structure as the
//! AVX-512 ones with 32-byte vectors and `vpmaddubsw` + `vpmaddwd` in place of `vpdpbusd`
//! (products of unsigned weights below 64 and activations in [-127, 127] cannot saturate the
//! 16-bit pair sums; Q8_0 uses the sign trick on its signed quants instead).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::q4_k_scales_mins;
use super::gemv::{RowsKernel, generic_rows_inline};
use super::layout::QuantLayout;
use crate::DType;

/// The dedicated kernel for `layout`, if any.
pub(super) fn kernel(w: &QuantRows) -> Option<RowsKernel> {
    match (w.layout, w.dtype) {
        (QuantLayout::SplitNibble32, DType::Q4_0) => Some(q4_0_rows),
        (QuantLayout::SplitQ8_0, _) => Some(q8_0_rows),
        (QuantLayout::SplitK4, DType::Q4_K) => Some(q4_k_rows),
        (QuantLayout::SplitQ6K, _) => Some(q6_k_rows),
        _ => None,
    }
}

/// The generic decode-and-dot compiled for AVX2.
pub(super) fn generic_rows(
    w: &QuantRows,
    j0: usize,
    acts: &QuantizedActs,
    r: usize,
    out: &mut [f32],
) {
    // SAFETY: reachable only through `SimdLevel::Avx2` or higher, which checked the CPU.
    unsafe { generic_avx2(w, j0, acts, r, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn generic_avx2(w: &QuantRows, j0: usize, acts: &QuantizedActs, r: usize, out: &mut [f32]) {
    generic_rows_inline(w, j0, acts, r, out)
}

/// Declares a safe `RowsKernel` wrapper around a `target_feature` row loop.
macro_rules! rows_kernel {
    ($name:ident, $inner:ident) => {
        fn $name(w: &QuantRows, j0: usize, acts: &QuantizedActs, r: usize, out: &mut [f32]) {
            for (i, y) in out.iter_mut().enumerate() {
                // SAFETY: reachable only through `SimdLevel::Avx2` or higher, which checked the
                // CPU; the row and activation slices have the lengths the layout implies.
                *y = unsafe { $inner(w, w.row(j0 + i), acts, r) };
            }
        }
    };
}

rows_kernel!(q4_0_rows, q4_0_row);
rows_kernel!(q8_0_rows, q8_0_row);
rows_kernel!(q4_k_rows, q4_k_row);
rows_kernel!(q6_k_rows, q6_k_row);

/// Lane indices (8 lanes) repeating value i four times, for the pair (2j, 2j + 1).
const REPEAT4: [[i32; 8]; 4] = [
    [0, 0, 0, 0, 1, 1, 1, 1],
    [2, 2, 2, 2, 3, 3, 3, 3],
    [4, 4, 4, 4, 5, 5, 5, 5],
    [6, 6, 6, 6, 7, 7, 7, 7],
];
/// Lane indices (8 lanes) repeating values 4j..4j + 4 twice each.
const REPEAT2: [[i32; 8]; 4] = [
    [0, 0, 1, 1, 2, 2, 3, 3],
    [4, 4, 5, 5, 6, 6, 7, 7],
    [8, 8, 9, 9, 10, 10, 11, 11],
    [12, 12, 13, 13, 14, 14, 15, 15],
];

#[inline(always)]
fn idx(values: &[i32; 8]) -> __m256i {
    // SAFETY: reading 8 i32 from an 8-element array.
    unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
}

/// Sum of the 8 lanes of a ymm.
#[inline(always)]
fn hsum256(v: __m256) -> f32 {
    // SAFETY: AVX is enabled in every caller.
    unsafe {
        let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let pairs = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
    }
}

/// i32 lanes: sums of 4 consecutive `u8 · i8` products of `w_a · x_a + w_b · x_b` (the pair
/// sums must fit in i16).
#[inline(always)]
fn dot_pair(w_a: __m256i, x_a: __m256i, w_b: __m256i, x_b: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let sum16 = _mm256_add_epi16(
            _mm256_maddubs_epi16(w_a, x_a),
            _mm256_maddubs_epi16(w_b, x_b),
        );
        _mm256_madd_epi16(sum16, _mm256_set1_epi16(1))
    }
}

/// Loads 32 bytes.
#[inline(always)]
unsafe fn load(p: *const i8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Four f16 at `p` widened to f32 in the low half of a ymm.
#[inline(always)]
unsafe fn load_4_f16(p: *const u8) -> __m128 {
    // SAFETY: the caller guarantees 8 readable bytes; F16C is enabled in every caller.
    unsafe { _mm_cvtph_ps(_mm_loadl_epi64(p.cast())) }
}

/// Q4_0 row (LoHi32 activations): per 4 blocks, each 32-byte half's low nibbles meet
/// activation positions 32h.., its high nibbles 64 + 32h..; i32 lanes 4b..4b+4 are block 2h + b.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, scales) = (row.as_ptr().cast::<i8>(), row[w.scale_offset..].as_ptr());
    let nibble = _mm256_set1_epi8(0x0F);
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm_setzero_ps());
    // SAFETY: kp / 128 groups of 64 quant bytes, 4 f16 scales, 128 activations, 4 d and dsum32.
    unsafe {
        for g in 0..w.kp / 128 {
            let dw = load_4_f16(scales.add(8 * g));
            let scale = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_loadu_ps(d.add(4 * g))));
            offset = _mm_fmadd_ps(dw, _mm_loadu_ps(dsum32.add(4 * g)), offset);
            for (half, repeat) in REPEAT4.iter().enumerate().take(2) {
                let packed = load(qs.add(64 * g + 32 * half));
                let lo = _mm256_and_si256(packed, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
                let x = q.add(128 * g + 32 * half);
                let dot = dot_pair(lo, load(x), hi, load(x.add(64)));
                let lanes = _mm256_permutevar8x32_ps(scale, idx(repeat));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc);
            }
        }
    }
    hsum256(acc) - 8.0 * hsum256(_mm256_castps128_ps256(offset))
}

/// Q8_0 row (natural activations): the stored `q + 128` is turned back into signed `q`, then
/// `|q| · sign(x, q)` keeps the pair sums within i16.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let (qs, scales) = (row.as_ptr().cast::<i8>(), row[w.scale_offset..].as_ptr());
    let flip = _mm256_set1_epi8(-128);
    let ones = _mm256_set1_epi16(1);
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    // SAFETY: kp / 32 blocks of 32 quant bytes, one f16 scale, 32 activations and one d each.
    unsafe {
        for g in 0..w.kp / 128 {
            let scale = _mm_mul_ps(load_4_f16(scales.add(8 * g)), _mm_loadu_ps(d.add(4 * g)));
            let mut lanes = [0f32; 4];
            _mm_storeu_ps(lanes.as_mut_ptr(), scale);
            for (b, &s) in lanes.iter().enumerate() {
                let signed = _mm256_xor_si256(load(qs.add(128 * g + 32 * b)), flip);
                let x = load(q.add(128 * g + 32 * b));
                let prod =
                    _mm256_maddubs_epi16(_mm256_abs_epi8(signed), _mm256_sign_epi8(x, signed));
                let dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, ones));
                if b % 2 == 0 {
                    acc0 = _mm256_fmadd_ps(dot, _mm256_set1_ps(s), acc0);
                } else {
                    acc1 = _mm256_fmadd_ps(dot, _mm256_set1_ps(s), acc1);
                }
            }
        }
    }
    hsum256(_mm256_add_ps(acc0, acc1))
}

/// Eight unsigned bytes widened to f32.
#[inline(always)]
fn bytes_to_f32x8(bytes: u64) -> __m256 {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes as i64))) }
}

/// Q4_K row (LoHi32 activations): as Q4_0 per 128 elements, with scales `d · sc_j · d_x` and
/// the mins applied through `d_x Σ q`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, headers) = (row.as_ptr().cast::<i8>(), &row[w.scale_offset..]);
    let nibble = _mm256_set1_epi8(0x0F);
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        let header = &headers[16 * sb..16 * sb + 16];
        let (sc, mins) = q4_k_scales_mins(&header[4..16]);
        let d_and_min = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        // SAFETY: 128 quant bytes, 256 activations, 8 d and dsum32 values of this super-block.
        unsafe {
            let dd = _mm_cvtph_ps(_mm_cvtsi32_si128(d_and_min));
            let super_d = _mm256_set1_ps(_mm_cvtss_f32(dd));
            let super_dmin = _mm256_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dd)));
            let dx = _mm256_loadu_ps(d.add(8 * sb));
            let scale = _mm256_mul_ps(_mm256_mul_ps(bytes_to_f32x8(sc), super_d), dx);
            let sums = _mm256_loadu_ps(dsum32.add(8 * sb));
            offset = _mm256_fmadd_ps(
                _mm256_mul_ps(bytes_to_f32x8(mins), sums),
                super_dmin,
                offset,
            );
            for (quarter, repeat) in REPEAT4.iter().enumerate() {
                let packed = load(qs.add(128 * sb + 32 * quarter));
                let lo = _mm256_and_si256(packed, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
                let x = q.add(256 * sb + 128 * (quarter / 2) + 32 * (quarter % 2));
                let dot = dot_pair(lo, load(x), hi, load(x.add(64)));
                let lanes = _mm256_permutevar8x32_ps(scale, idx(repeat));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc);
            }
        }
    }
    hsum256(acc) - hsum256(offset)
}

/// Q6_K row (LoHi16 activations): per 32 bytes of low nibbles, the high bit pairs come from the
/// half's 32 qh bytes (bits 0/2 for the low nibbles of the first/second 32 bytes, 4/6 for the
/// high nibbles); i32 lanes 2s, 2s + 1 are 16-group 4c + s.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum(r).as_ptr(),
    );
    let (quants, headers) = (row.as_ptr().cast::<i8>(), row[w.scale_offset..].as_ptr());
    let nibble = _mm256_set1_epi8(0x0F);
    let bits45 = _mm256_set1_epi8(0x30);
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        // SAFETY: 18 header bytes, 192 quant bytes, 256 activations, 8 d and 16 dsum values.
        unsafe {
            let header = headers.add(18 * sb);
            let super_d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(
                u16::from_le_bytes([*header.add(16), *header.add(17)]) as i32,
            ))));
            for h in 0..2 {
                // 16-group scales d · sc of this half, and d_x per group.
                let sc = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(
                    header.add(8 * h).cast(),
                )));
                let group_scale = _mm256_mul_ps(sc, super_d);
                offset = _mm256_fmadd_ps(
                    group_scale,
                    _mm256_loadu_ps(dsum.add(16 * sb + 8 * h)),
                    offset,
                );
                let dx4 = _mm256_castps128_ps256(_mm_loadu_ps(d.add(8 * sb + 4 * h)));
                let dx = _mm256_permutevar8x32_ps(dx4, idx(&REPEAT2[0]));
                let scale = _mm256_mul_ps(group_scale, dx);
                let base = quants.add(192 * sb + 96 * h);
                let high = load(base.add(64));
                for (c, repeat) in REPEAT2.iter().enumerate().take(2) {
                    let low = load(base.add(32 * c));
                    let (high_lo, high_hi) = if c == 0 {
                        (_mm256_slli_epi16(high, 4), high)
                    } else {
                        (_mm256_slli_epi16(high, 2), _mm256_srli_epi16(high, 2))
                    };
                    let w_lo = _mm256_or_si256(
                        _mm256_and_si256(low, nibble),
                        _mm256_and_si256(high_lo, bits45),
                    );
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
