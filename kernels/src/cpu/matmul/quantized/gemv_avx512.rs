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
use super::lattice_formats::lattice_kernel;
use super::layout::QuantLayout;
use super::rows_kernel::multi_rows_kernel;
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
        (QuantLayout::Gguf, DType::MXFP4) => super::gemv_avx512_table::table_rows::<false>,
        (QuantLayout::Gguf, DType::IQ4_XS) => super::gemv_avx512_table::table_rows::<true>,
        (QuantLayout::Gguf, DType::NVFP4) => super::gemv_avx512_fp4_ternary::nvfp4_rows,
        (QuantLayout::Gguf, DType::TQ2_0) => super::gemv_avx512_fp4_ternary::tq2_0_rows,
        (QuantLayout::Gguf, DType::TQ1_0) => super::gemv_avx512_fp4_ternary::tq1_0_rows,
        (QuantLayout::Gguf, dtype) if is_lattice(dtype) => {
            use super::gemv_avx512_lattice::lattice_rows;
            lattice_kernel!(dtype, lattice_rows)?
        }
        _ => return None,
    })
}

multi_rows_kernel!(nibble32_rows, nibble32_row, HIGH, LUT, MIN);
multi_rows_kernel!(q8_0_rows, q8_0_row);
multi_rows_kernel!(k4_rows, k4_row, HIGH);

/// How far ahead of the current weight bytes to prefetch.
pub(super) const PREFETCH: usize = 1024;

/// How far ahead of the current weight bytes, in the rows the next call will read, to
/// prefetch into L2. Leading the same spot of those rows by 2 KB measured 2–10 % more DRAM
/// throughput than no lead (interleaved A/B runs, all four benched formats).
const NEXT_ROWS_LEAD: usize = 2048;

/// Prefetches `p` (the current weight bytes plus [`PREFETCH`]) into L1, and into L2 the
/// bytes `next_rows + NEXT_ROWS_LEAD` after the current ones (in the rows the next call will
/// read).
#[inline(always)]
pub(super) fn prefetch(p: *const u8, next_rows: usize) {
    // SAFETY: prefetches never fault; SSE is part of the x86_64 baseline.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
        _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(next_rows + NEXT_ROWS_LEAD).wrapping_sub(PREFETCH).cast());
    }
}

/// Lane indices repeating each of the first 4 values 4 times.
pub(super) const REPEAT4_LO: [i32; 16] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
/// Lane indices repeating values 4..8 four times each.
pub(super) const REPEAT4_HI: [i32; 16] = [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7];
/// Lane indices repeating values 4g..4g + 4 four times each, for g = 0..4.
const REPEAT4_BY_GROUP: [[i32; 16]; 4] = repeat_table::<4, 4>();
/// Lane indices repeating values 2j and 2j + 1 eight times each, for j = 0..8.
const REPEAT8_BY_PAIR: [[i32; 16]; 8] = repeat_table::<8, 8>();

/// `N` index vectors, vector `j` holding `(16 / TIMES)·j + lane / TIMES`.
const fn repeat_table<const N: usize, const TIMES: usize>() -> [[i32; 16]; N] {
    let mut table = [[0; 16]; N];
    let mut j = 0;
    while j < N {
        let mut lane = 0;
        while lane < 16 {
            table[j][lane] = ((16 / TIMES) * j + lane / TIMES) as i32;
            lane += 1;
        }
        j += 1;
    }
    table
}

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

/// Up to 16 f16 at `p` (those selected by `mask`, the rest zero) widened to f32.
#[inline(always)]
unsafe fn load_16_f16(mask: __mmask16, p: *const u8) -> __m512 {
    // SAFETY: the caller guarantees the selected values are readable; AVX-512 BW/VL enabled.
    unsafe { _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p.cast())) }
}

/// Adds 16 to the bytes of `v` selected by the 64-bit mask at `p` (a fifth quant bit).
#[inline(always)]
pub(super) unsafe fn add_fifth_bit(v: __m512i, p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 8 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let mask = p.cast::<u64>().read_unaligned();
        _mm512_mask_add_epi8(v, mask, v, _mm512_set1_epi8(16))
    }
}

/// Low and high nibbles of 64 bytes, each as 64 unsigned bytes.
#[inline(always)]
pub(super) unsafe fn nibbles(p: *const u8) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees 64 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let packed = _mm512_loadu_si512(p.cast());
        let nibble = _mm512_set1_epi8(0x0F);
        (_mm512_and_si512(packed, nibble), _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble))
    }
}

/// The 128 activations at `x` as two zmm.
#[inline(always)]
pub(super) unsafe fn load_x128(x: *const i8) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees 128 readable bytes; AVX-512 F is enabled in every caller.
    unsafe { (_mm512_loadu_si512(x.cast()), _mm512_loadu_si512(x.add(64).cast())) }
}

/// `vpdpbusd` of (lo, hi) against activations (x_lo, x_hi), into the same lanes.
#[inline(always)]
pub(super) fn dot_lo_hi(lo: __m512i, hi: __m512i, x: (__m512i, __m512i)) -> __m512i {
    // SAFETY: VNNI is enabled in every caller.
    unsafe { _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x.0), hi, x.1) }
}

/// 32-element nibble formats (LoHi32 activations): per 4 blocks, low and high nibbles
/// `vpdpbusd` into the same lanes (lanes 4b..4b+4 are block b); scales are widened 16 blocks
/// at a time. `HIGH`: fifth bits (Q5_0, Q5_1); `LUT`: IQ4_NL's code book via `vpshufb`; `MIN`:
/// per-block mins (Q4_1, Q5_1) instead of a fixed offset of -8, -16 or -128 times d.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn nibble32_row<const R: usize, const HIGH: bool, const LUT: bool, const MIN: bool>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    let fixed_offset = match w.dtype {
        DType::Q5_0 => -16.0,
        DType::IQ4_NL => -128.0,
        _ => -8.0,
    };
    let mut table_bytes = [0u8; 16];
    for (t, &value) in table_bytes.iter_mut().zip(&IQ4_NL_VALUES) {
        *t = (value as u8) ^ 0x80;
    }
    let repeat: [__m512i; 4] = std::array::from_fn(|g| idx(&REPEAT4_BY_GROUP[g]));
    let groups = w.kp / 128;
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    // SAFETY: per row, kp / 128 groups of 64 quant bytes and 16 mask bytes, kp / 32 f16
    // scales (and mins); kp activations, kp / 32 d and dsum32 values. Masked loads stop at
    // the last block.
    unsafe {
        let table = _mm512_broadcast_i32x4(_mm_loadu_si128(table_bytes.as_ptr().cast()));
        for chunk in 0..groups.div_ceil(4) {
            let count = 4.min(groups - 4 * chunk);
            let blocks: __mmask16 = if count == 4 { 0xFFFF } else { (1 << (4 * count)) - 1 };
            let dx = _mm512_maskz_loadu_ps(blocks, d.add(16 * chunk));
            let sums = _mm512_maskz_loadu_ps(blocks, dsum32.add(16 * chunk));
            for i in 0..R {
                let base = rows[i];
                let dw = load_16_f16(blocks, base.add(w.scale_offset + 32 * chunk));
                let scale = _mm512_mul_ps(dw, dx);
                let per_block = if MIN { load_16_f16(blocks, base.add(w.min_offset + 32 * chunk)) } else { dw };
                offset[i] = _mm512_fmadd_ps(per_block, sums, offset[i]);
                for (g, repeat) in repeat.iter().enumerate().take(count) {
                    let at = 4 * chunk + g;
                    prefetch(base.wrapping_add(64 * at + PREFETCH), R * w.row_stride);
                    let (mut lo, mut hi) = nibbles(base.add(64 * at));
                    if HIGH {
                        lo = add_fifth_bit(lo, base.add(w.high_offset + 16 * at));
                        hi = add_fifth_bit(hi, base.add(w.high_offset + 16 * at + 8));
                    }
                    if LUT {
                        lo = _mm512_shuffle_epi8(table, lo);
                        hi = _mm512_shuffle_epi8(table, hi);
                    }
                    let dot = dot_lo_hi(lo, hi, load_x128(q.add(128 * at)));
                    let lanes = _mm512_permutexvar_ps(*repeat, scale);
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc[i]);
                }
            }
        }
    }
    let factor = if MIN { 1.0 } else { fixed_offset };
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) + factor * _mm512_reduce_add_ps(offset[i]))
}

/// Q8_0 row (natural activations, weights stored as q + 128): two blocks per 64-byte load;
/// scales are widened 16 blocks at a time.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q8_0_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    let repeat: [__m512i; 8] = std::array::from_fn(|pair| idx(&REPEAT8_BY_PAIR[pair]));
    let pairs = w.kp / 64;
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    // SAFETY: per row, kp quant bytes and kp / 32 f16 scales; kp activations, kp / 32 d and
    // dsum32 values. Masked loads stop at the last block.
    unsafe {
        for chunk in 0..pairs.div_ceil(8) {
            let count = 8.min(pairs - 8 * chunk);
            let blocks: __mmask16 = if count == 8 { 0xFFFF } else { (1 << (2 * count)) - 1 };
            let dx = _mm512_maskz_loadu_ps(blocks, d.add(16 * chunk));
            let sums = _mm512_maskz_loadu_ps(blocks, dsum32.add(16 * chunk));
            for i in 0..R {
                let base = rows[i];
                let dw = load_16_f16(blocks, base.add(w.scale_offset + 32 * chunk));
                let scale = _mm512_mul_ps(dw, dx);
                offset[i] = _mm512_fmadd_ps(dw, sums, offset[i]);
                for (pair, repeat) in repeat.iter().enumerate().take(count) {
                    let at = 64 * (8 * chunk + pair);
                    prefetch(base.wrapping_add(at + PREFETCH), R * w.row_stride);
                    let x = _mm512_loadu_si512(q.add(at).cast());
                    let weights = _mm512_loadu_si512(base.add(at).cast());
                    let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), weights, x);
                    let lanes = _mm512_permutexvar_ps(*repeat, scale);
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 128.0 * _mm512_reduce_add_ps(offset[i]))
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
unsafe fn k4_row<const R: usize, const HIGH: bool>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    let (repeat_lo, repeat_hi) = (idx(&REPEAT4_LO), idx(&REPEAT4_HI));
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm256_setzero_ps(); R]);
    for sb in 0..w.kp / 256 {
        // SAFETY: per row, this super-block's 128 quant bytes, 32 mask bytes and 16 header
        // bytes; its 256 activations, 8 d and dsum32 values.
        unsafe {
            let dx = _mm256_loadu_ps(d.add(8 * sb));
            let sums = _mm256_loadu_ps(dsum32.add(8 * sb));
            let x = [load_x128(q.add(256 * sb)), load_x128(q.add(256 * sb + 128))];
            for i in 0..R {
                let base = rows[i];
                let header = std::slice::from_raw_parts(base.add(w.scale_offset + 16 * sb), 16);
                let (sc, mins) = q4_k_scales_mins(&header[4..16]);
                let d_and_min = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
                let dd = _mm_cvtph_ps(_mm_cvtsi32_si128(d_and_min));
                let super_d = _mm256_set1_ps(_mm_cvtss_f32(dd));
                let super_dmin = _mm256_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dd)));
                let scale = _mm256_mul_ps(_mm256_mul_ps(bytes_to_f32x8(sc), super_d), dx);
                let scale = _mm512_castps256_ps512(scale);
                offset[i] = _mm256_fmadd_ps(_mm256_mul_ps(bytes_to_f32x8(mins), sums), super_dmin, offset[i]);
                for (half, repeat) in [(0, repeat_lo), (1, repeat_hi)] {
                    let quants = base.add(128 * sb + 64 * half);
                    prefetch(quants.wrapping_add(PREFETCH), R * w.row_stride);
                    let (mut lo, mut hi) = nibbles(quants);
                    if HIGH {
                        let masks = base.add(w.high_offset + 32 * sb + 16 * half);
                        lo = add_fifth_bit(lo, masks);
                        hi = add_fifth_bit(hi, masks.add(8));
                    }
                    let dot = dot_lo_hi(lo, hi, x[half]);
                    let lanes = _mm512_permutexvar_ps(repeat, scale);
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| {
        let off = _mm_add_ps(_mm256_castps256_ps128(offset[i]), _mm256_extractf128_ps(offset[i], 1));
        _mm512_reduce_add_ps(acc[i]) - hsum128(off)
    })
}
