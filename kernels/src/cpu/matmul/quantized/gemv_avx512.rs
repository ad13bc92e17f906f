//! AVX-512 VNNI GEMV kernels for the split layouts (see [`super::layout`]): per 128 elements,
//! one or two 64-byte weight loads, `vpdpbusd` against activations quantized in the matching
//! order, and one f32 FMA with per-lane scales `d_w · d_x`. The formats' offsets (`-8 d`,
//! `-128 d`, mins, `-32 d·sc`) are applied once per block through the activations'
//! precomputed `d_x · Σ q`. K-quants with 16-element groups are in [`super::gemv_avx512_k`].
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{IQ4_NL_VALUES, q4_k_scales_mins};
use super::gemv::RowsKernel;
use super::gemv_avx512_k::{q2_k_rows, q3_k_rows, q6_k_rows};
use super::layout::QuantLayout;
use crate::DType;

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
                // SAFETY: reachable only through `SimdLevel::Avx512Vnni`, which checked the
                // CPU; the row and activation slices have the lengths the layout implies.
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

/// Lane indices repeating each of the first 4 values 4 times.
pub(super) const REPEAT4_LO: [i32; 16] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
/// Lane indices repeating values 4..8 four times each.
pub(super) const REPEAT4_HI: [i32; 16] = [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7];
/// Lane indices repeating each of the first 2 values 8 times.
const REPEAT8_LO: [i32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
/// Lane indices repeating values 2 and 3 eight times each.
const REPEAT8_HI: [i32; 16] = [2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];

/// Loads 16 lane indices.
#[inline(always)]
pub(super) fn idx(values: &[i32; 16]) -> __m512i {
    // SAFETY: reading 16 i32 from a 16-element array.
    unsafe { _mm512_loadu_si512(values.as_ptr().cast()) }
}

/// Sum of the 4 lanes of an xmm.
#[inline(always)]
fn hsum128(v: __m128) -> f32 {
    // SAFETY: SSE is part of the x86_64 baseline.
    unsafe {
        let pairs = _mm_add_ps(v, _mm_movehl_ps(v, v));
        _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
    }
}

/// Four f16 at `p` widened to f32.
#[inline(always)]
unsafe fn load_4_f16(p: *const u8) -> __m128 {
    // SAFETY: the caller guarantees 8 readable bytes; F16C is enabled in every caller.
    unsafe { _mm_cvtph_ps(_mm_loadl_epi64(p.cast())) }
}

/// Adds 16 to the bytes of `v` selected by the 64-bit mask at `p` (a fifth quant bit).
#[inline(always)]
unsafe fn add_fifth_bit(v: __m512i, p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 8 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let mask = p.cast::<u64>().read_unaligned();
        _mm512_mask_add_epi8(v, mask, v, _mm512_set1_epi8(16))
    }
}

/// Low and high nibbles of 64 bytes, each as 64 unsigned bytes.
#[inline(always)]
unsafe fn nibbles(p: *const u8) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees 64 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let packed = _mm512_loadu_si512(p.cast());
        let nibble = _mm512_set1_epi8(0x0F);
        (
            _mm512_and_si512(packed, nibble),
            _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble),
        )
    }
}

/// `vpdpbusd` of (lo, hi) against the 128 activations at `x` (LoHi32 or LoHi16 order).
#[inline(always)]
unsafe fn dot_lo_hi(lo: __m512i, hi: __m512i, x: *const i8) -> __m512i {
    // SAFETY: the caller guarantees 128 readable bytes; VNNI is enabled in every caller.
    unsafe {
        let x_lo = _mm512_loadu_si512(x.cast());
        let x_hi = _mm512_loadu_si512(x.add(64).cast());
        _mm512_dpbusd_epi32(
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x_lo),
            hi,
            x_hi,
        )
    }
}

/// 32-element nibble formats (LoHi32 activations): per 4 blocks, low and high nibbles
/// `vpdpbusd` into the same lanes (lanes 4b..4b+4 are block b). `HIGH`: fifth bits (Q5_0,
/// Q5_1); `LUT`: IQ4_NL's code book via `vpshufb`; `MIN`: per-block mins (Q4_1, Q5_1) instead
/// of a fixed offset of -8, -16 or -128 times d.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn nibble32_row<const HIGH: bool, const LUT: bool, const MIN: bool>(
    w: &QuantRows,
    row: &[u8],
    acts: &QuantizedActs,
    r: usize,
) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let base = row.as_ptr();
    let (high, scales, mins) = (
        base.wrapping_add(w.high_offset),
        base.wrapping_add(w.scale_offset),
        base.wrapping_add(w.min_offset),
    );
    let fixed_offset = match w.dtype {
        DType::Q5_0 => -16.0,
        DType::IQ4_NL => -128.0,
        _ => -8.0,
    };
    let mut table_bytes = [0u8; 16];
    for (t, &value) in table_bytes.iter_mut().zip(&IQ4_NL_VALUES) {
        *t = (value as u8) ^ 0x80;
    }
    let repeat = idx(&REPEAT4_LO);
    let (mut acc, mut offset) = (_mm512_setzero_ps(), _mm_setzero_ps());
    // SAFETY: kp / 128 groups of 64 quant bytes, 16 mask bytes, 4 f16 scales (and mins), 128
    // activations, 4 d and dsum32 values.
    unsafe {
        let table = _mm512_broadcast_i32x4(_mm_loadu_si128(table_bytes.as_ptr().cast()));
        for g in 0..w.kp / 128 {
            _mm_prefetch::<_MM_HINT_T0>(base.add(64 * g + PREFETCH).cast());
            let (mut lo, mut hi) = nibbles(base.add(64 * g));
            if HIGH {
                lo = add_fifth_bit(lo, high.add(16 * g));
                hi = add_fifth_bit(hi, high.add(16 * g + 8));
            }
            if LUT {
                lo = _mm512_shuffle_epi8(table, lo);
                hi = _mm512_shuffle_epi8(table, hi);
            }
            let dot = dot_lo_hi(lo, hi, q.add(128 * g));
            let dw = load_4_f16(scales.add(8 * g));
            let scale = _mm_mul_ps(dw, _mm_loadu_ps(d.add(4 * g)));
            let lanes = _mm512_permutexvar_ps(repeat, _mm512_castps128_ps512(scale));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc);
            let per_block = if MIN { load_4_f16(mins.add(8 * g)) } else { dw };
            offset = _mm_fmadd_ps(per_block, _mm_loadu_ps(dsum32.add(4 * g)), offset);
        }
    }
    _mm512_reduce_add_ps(acc) + if MIN { 1.0 } else { fixed_offset } * hsum128(offset)
}

/// Q8_0 row (natural activations, weights stored as q + 128): two blocks per 64-byte load.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q8_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, scales) = (row.as_ptr(), row[w.scale_offset..].as_ptr());
    let (repeat_lo, repeat_hi) = (idx(&REPEAT8_LO), idx(&REPEAT8_HI));
    let (mut acc0, mut acc1, mut offset) =
        (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm_setzero_ps());
    // SAFETY: kp / 128 groups of 128 quant bytes, 4 f16 scales, 128 activations, 4 d and dsum32.
    unsafe {
        for g in 0..w.kp / 128 {
            _mm_prefetch::<_MM_HINT_T0>(qs.add(128 * g + PREFETCH).cast());
            _mm_prefetch::<_MM_HINT_T0>(qs.add(128 * g + 64 + PREFETCH).cast());
            let zero = _mm512_setzero_si512();
            let w0 = _mm512_loadu_si512(qs.add(128 * g).cast());
            let w1 = _mm512_loadu_si512(qs.add(128 * g + 64).cast());
            let dot0 = _mm512_dpbusd_epi32(zero, w0, _mm512_loadu_si512(q.add(128 * g).cast()));
            let dot1 =
                _mm512_dpbusd_epi32(zero, w1, _mm512_loadu_si512(q.add(128 * g + 64).cast()));
            let dw = load_4_f16(scales.add(8 * g));
            let scale = _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(d.add(4 * g))));
            acc0 = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(dot0),
                _mm512_permutexvar_ps(repeat_lo, scale),
                acc0,
            );
            acc1 = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(dot1),
                _mm512_permutexvar_ps(repeat_hi, scale),
                acc1,
            );
            offset = _mm_fmadd_ps(dw, _mm_loadu_ps(dsum32.add(4 * g)), offset);
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - 128.0 * hsum128(offset)
}

/// Eight unsigned bytes widened to f32.
#[inline(always)]
fn bytes_to_f32x8(bytes: u64) -> __m256 {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes as i64))) }
}

/// Q4_K / Q5_K (`HIGH`) row (LoHi32 activations): per super-block two 64-byte loads, lanes
/// 4j..4j+4 of each dot product belonging to sub-block 4h + j; scales `d · sc_j · d_x`, mins
/// via `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn k4_row<const HIGH: bool>(
    w: &QuantRows,
    row: &[u8],
    acts: &QuantizedActs,
    r: usize,
) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, high, headers) = (
        row.as_ptr(),
        row.as_ptr().wrapping_add(w.high_offset),
        &row[w.scale_offset..],
    );
    let (repeat_lo, repeat_hi) = (idx(&REPEAT4_LO), idx(&REPEAT4_HI));
    let (mut acc, mut offset) = (_mm512_setzero_ps(), _mm256_setzero_ps());
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
            let sums = _mm256_loadu_ps(dsum32.add(8 * sb));
            let scale = _mm512_castps256_ps512(_mm256_mul_ps(
                _mm256_mul_ps(bytes_to_f32x8(sc), super_d),
                dx,
            ));
            offset = _mm256_fmadd_ps(
                _mm256_mul_ps(bytes_to_f32x8(mins), sums),
                super_dmin,
                offset,
            );
            for (half, repeat) in [(0, repeat_lo), (1, repeat_hi)] {
                _mm_prefetch::<_MM_HINT_T0>(qs.add(128 * sb + 64 * half + PREFETCH).cast());
                let (mut lo, mut hi) = nibbles(qs.add(128 * sb + 64 * half));
                if HIGH {
                    lo = add_fifth_bit(lo, high.add(32 * sb + 16 * half));
                    hi = add_fifth_bit(hi, high.add(32 * sb + 16 * half + 8));
                }
                let dot = dot_lo_hi(lo, hi, q.add(256 * sb + 128 * half));
                acc = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(dot),
                    _mm512_permutexvar_ps(repeat, scale),
                    acc,
                );
            }
        }
    }
    let off = _mm_add_ps(
        _mm256_castps256_ps128(offset),
        _mm256_extractf128_ps(offset, 1),
    );
    _mm512_reduce_add_ps(acc) - hsum128(off)
}
