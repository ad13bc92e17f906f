//! AVX2 GEMV kernels for the split layouts (see [`super::layout`]); the same structure as the
//! AVX-512 ones with 32-byte vectors and `vpmaddubsw` + `vpmaddwd` in place of `vpdpbusd`.
//! Unsigned weights below 64 times activations in [-127, 127] keep every 16-bit pair sum (and
//! the sum of two of them) in range; Q8_0 and IQ4_NL, whose values need 8 bits, use signed
//! values with the `|w| · sign(x, w)` trick instead. K-quants with 16-element groups are in
//! [`super::gemv_avx2_k`].
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{IQ4_NL_VALUES, q4_k_scales_mins};
use super::gemv::RowsKernel;
use super::gemv_avx2_k::{q2_k_rows, q3_k_rows, q6_k_rows};
use super::gemv_avx2_table::table_rows;
use super::lattice_formats::lattice_kernel;
use super::layout::QuantLayout;
use crate::DType;
use crate::quant::iq_lattice::is_lattice;

/// The dedicated kernel for `w`, if any.
pub(super) fn kernel(w: &QuantRows) -> Option<RowsKernel> {
    Some(match (w.layout, w.dtype) {
        (QuantLayout::SplitNibble32, DType::Q4_0) => nibble32_rows::<false, false, false>,
        (QuantLayout::SplitNibble32, DType::Q4_1) => nibble32_rows::<false, false, true>,
        (QuantLayout::SplitNibble32, DType::Q5_0) => nibble32_rows::<true, false, false>,
        (QuantLayout::SplitNibble32, DType::Q5_1) => nibble32_rows::<true, false, true>,
        (QuantLayout::SplitNibble32, DType::IQ4_NL) => nibble32_rows::<false, true, false>,
        (QuantLayout::SplitQ8_0, _) => q8_0_rows,
        (QuantLayout::SplitK4, DType::Q4_K) => k4_rows::<false>,
        (QuantLayout::SplitK4, DType::Q5_K) => k4_rows::<true>,
        (QuantLayout::SplitQ6K, _) => q6_k_rows,
        (QuantLayout::Gguf, DType::Q2_K) => q2_k_rows,
        (QuantLayout::Gguf, DType::Q3_K) => q3_k_rows,
        (QuantLayout::Gguf, DType::MXFP4) => table_rows::<false>,
        (QuantLayout::Gguf, DType::IQ4_XS) => table_rows::<true>,
        (QuantLayout::Gguf, DType::NVFP4) => super::gemv_avx2_fp4_ternary::nvfp4_rows,
        (QuantLayout::Gguf, DType::TQ2_0) => super::gemv_avx2_fp4_ternary::tq2_0_rows,
        (QuantLayout::Gguf, DType::TQ1_0) => super::gemv_avx2_fp4_ternary::tq1_0_rows,
        (QuantLayout::Gguf, dtype) if is_lattice(dtype) => {
            use super::gemv_avx2_lattice::lattice_rows;
            lattice_kernel!(dtype, lattice_rows)?
        }
        _ => return None,
    })
}

/// Declares a safe `RowsKernel` wrapper around a `target_feature` row function.
macro_rules! rows_kernel {
    ($name:ident, $inner:ident $(, $param:ident)*) => {
        pub(super) fn $name<$(const $param: bool),*>(
            w: &QuantRows,
            j0: usize,
            acts: &QuantizedActs,
            r: usize,
            out: &mut [f32],
        ) {
            for (i, y) in out.iter_mut().enumerate() {
                // SAFETY: reachable only through `SimdLevel::Avx2` or higher, which checked
                // the CPU; the row and activation slices have the lengths the layout implies.
                *y = unsafe { $inner::<$($param),*>(w, w.row(j0 + i), acts, r) };
            }
        }
    };
}
pub(super) use rows_kernel;

rows_kernel!(nibble32_rows, nibble32_row, HIGH, LUT, MIN);
rows_kernel!(q8_0_rows, q8_0_row);
rows_kernel!(k4_rows, k4_row, HIGH);

/// How far ahead of the current weight bytes to prefetch.
pub(super) const PREFETCH: usize = 1024;

/// Prefetches the cache line holding `p` (prefetches never fault).
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    // SAFETY: SSE is part of the x86_64 baseline; prefetching any address is harmless.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

/// Lane indices (8 lanes) repeating values 2j and 2j + 1 four times each.
pub(super) const REPEAT4: [[i32; 8]; 4] =
    [[0, 0, 0, 0, 1, 1, 1, 1], [2, 2, 2, 2, 3, 3, 3, 3], [4, 4, 4, 4, 5, 5, 5, 5], [6, 6, 6, 6, 7, 7, 7, 7]];

/// Loads 8 lane indices.
#[inline(always)]
pub(super) fn idx(values: &[i32; 8]) -> __m256i {
    // SAFETY: reading 8 i32 from an 8-element array.
    unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
}

/// Sum of the 8 lanes of a ymm.
#[inline(always)]
pub(super) fn hsum256(v: __m256) -> f32 {
    // SAFETY: AVX is enabled in every caller.
    unsafe {
        let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let pairs = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
    }
}

/// i32 lanes: sums of 4 consecutive `u8 · i8` products of `w_a · x_a + w_b · x_b` (the
/// pairwise sums of both products together must fit in i16).
#[inline(always)]
pub(super) fn dot_pair(w_a: __m256i, x_a: __m256i, w_b: __m256i, x_b: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let sum16 = _mm256_add_epi16(_mm256_maddubs_epi16(w_a, x_a), _mm256_maddubs_epi16(w_b, x_b));
        _mm256_madd_epi16(sum16, _mm256_set1_epi16(1))
    }
}

/// i32 lanes: sums of 4 consecutive `i8 · i8` products, as `|w| · sign(x, w)` (with
/// `|w| <= 128` and activations within ±127 the pair sums fit in i16).
#[inline(always)]
fn dot_signed(w: __m256i, x: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let prod = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
        _mm256_madd_epi16(prod, _mm256_set1_epi16(1))
    }
}

/// Loads 32 bytes.
#[inline(always)]
pub(super) unsafe fn load(p: *const i8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Four f16 at `p` widened to f32.
#[inline(always)]
unsafe fn load_4_f16(p: *const u8) -> __m128 {
    // SAFETY: the caller guarantees 8 readable bytes; F16C is enabled in every caller.
    unsafe { _mm_cvtph_ps(_mm_loadl_epi64(p.cast())) }
}

/// Low and high nibbles of 32 bytes.
#[inline(always)]
unsafe fn nibbles(p: *const i8) -> (__m256i, __m256i) {
    // SAFETY: the caller guarantees 32 readable bytes; AVX2 is enabled in every caller.
    unsafe {
        let packed = load(p);
        let nibble = _mm256_set1_epi8(0x0F);
        (_mm256_and_si256(packed, nibble), _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble))
    }
}

/// Adds 16 to the 32 bytes of `v` whose bit is set in the u32 at `p` (a fifth quant bit).
#[inline(always)]
unsafe fn add_fifth_bit(v: __m256i, p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 4 readable bytes; AVX2 is enabled in every caller.
    unsafe {
        let mask = _mm256_set1_epi32(p.cast::<i32>().read_unaligned());
        // Byte i takes mask byte i / 8, then tests bit i % 8.
        let spread = _mm256_shuffle_epi8(
            mask,
            _mm256_setr_epi8(
                0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
            ),
        );
        let bits = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        let set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bits), bits);
        _mm256_add_epi8(v, _mm256_and_si256(set, _mm256_set1_epi8(16)))
    }
}

/// 32-element nibble formats (LoHi32 activations): per 4 blocks, each 32-byte half's low
/// nibbles meet activation positions 32h.., its high nibbles 64 + 32h..; i32 lanes 4b..4b+4
/// are block 2h + b. `HIGH`: fifth bits (Q5_0, Q5_1); `LUT`: IQ4_NL's signed code book;
/// `MIN`: per-block mins (Q4_1, Q5_1) instead of a fixed offset of -8 or -16 times d.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibble32_row<const HIGH: bool, const LUT: bool, const MIN: bool>(
    w: &QuantRows,
    row: &[u8],
    acts: &QuantizedActs,
    r: usize,
) -> f32 {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    let base = row.as_ptr();
    let (high, scales, mins) =
        (base.wrapping_add(w.high_offset), base.wrapping_add(w.scale_offset), base.wrapping_add(w.min_offset));
    // IQ4_NL multiplies signed code book values, with no offset.
    let fixed_offset = match w.dtype {
        DType::Q5_0 => -16.0,
        DType::IQ4_NL => 0.0,
        _ => -8.0,
    };
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm_setzero_ps());
    // SAFETY: kp / 128 groups of 64 quant bytes, 16 mask bytes, 4 f16 scales (and mins), 128
    // activations, 4 d and dsum32 values.
    unsafe {
        let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(IQ4_NL_VALUES.as_ptr().cast()));
        for g in 0..w.kp / 128 {
            let dw = load_4_f16(scales.add(8 * g));
            let scale = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_loadu_ps(d.add(4 * g))));
            let per_block = if MIN { load_4_f16(mins.add(8 * g)) } else { dw };
            offset = _mm_fmadd_ps(per_block, _mm_loadu_ps(dsum32.add(4 * g)), offset);
            for (half, repeat) in REPEAT4.iter().enumerate().take(2) {
                prefetch(base.wrapping_add(64 * g + 32 * half + PREFETCH));
                let (mut lo, mut hi) = nibbles(base.add(64 * g + 32 * half).cast());
                if HIGH {
                    lo = add_fifth_bit(lo, high.add(16 * g + 4 * half));
                    hi = add_fifth_bit(hi, high.add(16 * g + 8 + 4 * half));
                }
                let x = q.add(128 * g + 32 * half);
                let dot = if LUT {
                    let (lo, hi) = (_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
                    _mm256_add_epi32(dot_signed(lo, load(x)), dot_signed(hi, load(x.add(64))))
                } else {
                    dot_pair(lo, load(x), hi, load(x.add(64)))
                };
                let lanes = _mm256_permutevar8x32_ps(scale, idx(repeat));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc);
            }
        }
    }
    let offset = _mm256_castps128_ps256(offset);
    hsum256(acc) + if MIN { 1.0 } else { fixed_offset } * hsum256(offset)
}

/// Q8_0 row (natural activations): the stored `q + 128` is turned back into signed `q`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let (qs, scales) = (row.as_ptr().cast::<i8>(), row[w.scale_offset..].as_ptr());
    let flip = _mm256_set1_epi8(-128);
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    // SAFETY: kp / 32 blocks of 32 quant bytes, one f16 scale, 32 activations and one d each.
    unsafe {
        for g in 0..w.kp / 128 {
            let scale = _mm_mul_ps(load_4_f16(scales.add(8 * g)), _mm_loadu_ps(d.add(4 * g)));
            let mut lanes = [0f32; 4];
            _mm_storeu_ps(lanes.as_mut_ptr(), scale);
            for (b, &s) in lanes.iter().enumerate() {
                prefetch(qs.wrapping_add(128 * g + 32 * b + PREFETCH).cast());
                let signed = _mm256_xor_si256(load(qs.add(128 * g + 32 * b)), flip);
                let dot = _mm256_cvtepi32_ps(dot_signed(signed, load(q.add(128 * g + 32 * b))));
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

/// Q4_K / Q5_K (`HIGH`) row (LoHi32 activations): as the nibble formats per 128 elements,
/// with scales `d · sc_j · d_x` and the mins applied through `d_x Σ q`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k4_row<const HIGH: bool>(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    let (qs, high, headers) =
        (row.as_ptr().cast::<i8>(), row.as_ptr().wrapping_add(w.high_offset), &row[w.scale_offset..]);
    let (mut acc, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        let header = &headers[16 * sb..16 * sb + 16];
        let (sc, mins) = q4_k_scales_mins(&header[4..16]);
        let d_and_min = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        // SAFETY: 128 quant bytes, 32 mask bytes, 256 activations, 8 d and dsum32 values of
        // this super-block.
        unsafe {
            let dd = _mm_cvtph_ps(_mm_cvtsi32_si128(d_and_min));
            let super_d = _mm256_set1_ps(_mm_cvtss_f32(dd));
            let super_dmin = _mm256_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dd)));
            let dx = _mm256_loadu_ps(d.add(8 * sb));
            let scale = _mm256_mul_ps(_mm256_mul_ps(bytes_to_f32x8(sc), super_d), dx);
            let sums = _mm256_loadu_ps(dsum32.add(8 * sb));
            offset = _mm256_fmadd_ps(_mm256_mul_ps(bytes_to_f32x8(mins), sums), super_dmin, offset);
            for (quarter, repeat) in REPEAT4.iter().enumerate() {
                prefetch(qs.wrapping_add(128 * sb + 32 * quarter + PREFETCH).cast());
                let (mut lo, mut hi) = nibbles(qs.add(128 * sb + 32 * quarter));
                let (group, half) = (quarter / 2, quarter % 2);
                if HIGH {
                    let masks = high.add(32 * sb + 16 * group + 4 * half);
                    lo = add_fifth_bit(lo, masks);
                    hi = add_fifth_bit(hi, masks.add(8));
                }
                let x = q.add(256 * sb + 128 * group + 32 * half);
                let dot = dot_pair(lo, load(x), hi, load(x.add(64)));
                let lanes = _mm256_permutevar8x32_ps(scale, idx(repeat));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), lanes, acc);
            }
        }
    }
    hsum256(acc) - hsum256(offset)
}
