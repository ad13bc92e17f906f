//! AVX-512 VNNI GEMV kernels for the split layouts (see [`super::layout`]): per 128 elements,
//! one or two 64-byte weight loads, `vpdpbusd` against activations quantized in the matching
//! order, and one f32 FMA with per-lane scales `d_w · d_x`; the formats' offsets (`-8 d`,
//! `-128 d`, the K-quant mins, `-32 d·sc`) are applied once per block through the
//! activations' precomputed `d_x · Σ q`.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::q4_k_scales_mins;
use super::gemv::RowsKernel;
use super::layout::QuantLayout;

/// The dedicated kernel for `layout`, if any.
pub(super) fn kernel(layout: QuantLayout) -> Option<RowsKernel> {
    match layout {
        QuantLayout::SplitQ4_0 => Some(q4_0_rows),
        QuantLayout::SplitQ8_0 => Some(q8_0_rows),
        QuantLayout::SplitQ4K => Some(q4_k_rows),
        QuantLayout::SplitQ6K => Some(q6_k_rows),
        QuantLayout::Gguf => None,
    }
}

/// Declares a safe `RowsKernel` wrapper around a `target_feature` row loop.
macro_rules! rows_kernel {
    ($name:ident, $inner:ident) => {
        fn $name(w: &QuantRows, j0: usize, acts: &QuantizedActs, r: usize, out: &mut [f32]) {
            for (i, y) in out.iter_mut().enumerate() {
                // SAFETY: reachable only through `SimdLevel::Avx512Vnni`, which checked the
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

/// How far ahead of the current weight bytes to prefetch.
const PREFETCH: usize = 1024;

/// Lane indices repeating each of the first 4 values 4 times.
const REPEAT4_LO: [i32; 16] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
/// Lane indices repeating values 4..8 four times each.
const REPEAT4_HI: [i32; 16] = [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7];
/// Lane indices repeating each of the first 2 values 8 times.
const REPEAT8_LO: [i32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
/// Lane indices repeating values 2 and 3 eight times each.
const REPEAT8_HI: [i32; 16] = [2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
/// Lane indices repeating values 0..8 twice each.
const REPEAT2_LO: [i32; 16] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];
/// Lane indices repeating values 8..16 twice each.
const REPEAT2_HI: [i32; 16] = [8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15];

#[inline(always)]
fn idx(values: &[i32; 16]) -> __m512i {
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

/// Q4_0 row (LoHi32 activations): per 4 blocks, low and high nibbles `vpdpbusd` into the same
/// lanes (lanes 4b..4b+4 are block b); the `-8 d` offset goes through `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q4_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, scales) = (row.as_ptr(), row[w.scale_offset..].as_ptr());
    let nibble = _mm512_set1_epi8(0x0F);
    let repeat = idx(&REPEAT4_LO);
    let (mut acc, mut offset) = (_mm512_setzero_ps(), _mm_setzero_ps());
    // SAFETY: kp / 128 groups of 64 quant bytes, 4 f16 scales, 128 activations, 4 d and dsum32.
    unsafe {
        for g in 0..w.kp / 128 {
            _mm_prefetch::<_MM_HINT_T0>(qs.add(64 * g + PREFETCH).cast());
            let packed = _mm512_loadu_si512(qs.add(64 * g).cast());
            let lo = _mm512_and_si512(packed, nibble);
            let hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
            let x_lo = _mm512_loadu_si512(q.add(128 * g).cast());
            let x_hi = _mm512_loadu_si512(q.add(128 * g + 64).cast());
            let dot = _mm512_dpbusd_epi32(
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x_lo),
                hi,
                x_hi,
            );
            let dw = load_4_f16(scales.add(8 * g));
            let scale = _mm_mul_ps(dw, _mm_loadu_ps(d.add(4 * g)));
            let lanes = _mm512_permutexvar_ps(repeat, _mm512_castps128_ps512(scale));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc);
            offset = _mm_fmadd_ps(dw, _mm_loadu_ps(dsum32.add(4 * g)), offset);
        }
    }
    _mm512_reduce_add_ps(acc) - 8.0 * hsum128(offset)
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
            let zero = _mm512_setzero_si512();
            let dot0 = _mm512_dpbusd_epi32(
                zero,
                _mm512_loadu_si512(qs.add(128 * g).cast()),
                _mm512_loadu_si512(q.add(128 * g).cast()),
            );
            let dot1 = _mm512_dpbusd_epi32(
                zero,
                _mm512_loadu_si512(qs.add(128 * g + 64).cast()),
                _mm512_loadu_si512(q.add(128 * g + 64).cast()),
            );
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

/// Q4_K row (LoHi32 activations): per super-block two 64-byte loads, lanes 4j..4j+4 of each
/// dot product belonging to sub-block 4h + j; scales `d · sc_j · d_x`, mins via `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q4_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum32(r).as_ptr(),
    );
    let (qs, headers) = (row.as_ptr(), &row[w.scale_offset..]);
    let nibble = _mm512_set1_epi8(0x0F);
    let (repeat_lo, repeat_hi) = (idx(&REPEAT4_LO), idx(&REPEAT4_HI));
    let (mut acc, mut offset) = (_mm512_setzero_ps(), _mm256_setzero_ps());
    for sb in 0..w.kp / 256 {
        let header = &headers[16 * sb..16 * sb + 16];
        let (sc, mins) = q4_k_scales_mins(&header[4..16]);
        // SAFETY: 4 header bytes; 8 d and dsum32 values for this super-block.
        let (super_d, super_dmin, dx, sums) = unsafe {
            let dd = _mm_cvtph_ps(_mm_cvtsi32_si128(i32::from_le_bytes([
                header[0], header[1], header[2], header[3],
            ])));
            (
                _mm256_set1_ps(_mm_cvtss_f32(dd)),
                _mm256_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dd))),
                _mm256_loadu_ps(d.add(8 * sb)),
                _mm256_loadu_ps(dsum32.add(8 * sb)),
            )
        };
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
            // SAFETY: 64 quant bytes and 128 activations of this half super-block.
            unsafe {
                let packed = _mm512_loadu_si512(qs.add(128 * sb + 64 * half).cast());
                let lo = _mm512_and_si512(packed, nibble);
                let hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
                let x = q.add(256 * sb + 128 * half);
                let x_lo = _mm512_loadu_si512(x.cast());
                let x_hi = _mm512_loadu_si512(x.add(64).cast());
                let dot = _mm512_dpbusd_epi32(
                    _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x_lo),
                    hi,
                    x_hi,
                );
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

/// Q6_K row (LoHi16 activations): per half super-block a 64-byte load of low nibbles and a
/// 32-byte load of high bit pairs (broadcast to both halves and shifted into bits 4..6);
/// lanes 2s, 2s+1 belong to 16-group 8h + s. The `-32 d·sc` offset goes through `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q6_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (
        acts.row_q(r).as_ptr(),
        acts.row_d(r).as_ptr(),
        acts.row_dsum(r).as_ptr(),
    );
    let (quants, headers) = (row.as_ptr(), row[w.scale_offset..].as_ptr());
    let nibble = _mm512_set1_epi8(0x0F);
    let bits45 = _mm512_set1_epi8(0x30);
    // Per 16-bit word: the first 32 bytes take bit pairs 0 and 4, the last 32 pairs 2 and 6.
    let shift_lo = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    let shift_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    let (repeat_lo, repeat_hi) = (idx(&REPEAT2_LO), idx(&REPEAT2_HI));
    let (mut acc, mut offset) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    for sb in 0..w.kp / 256 {
        // SAFETY: 18 header bytes, 192 quant bytes, 256 activations, 8 d and 16 dsum values of
        // this super-block.
        unsafe {
            let header = headers.add(18 * sb);
            let sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(header.cast())));
            let super_d = _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(
                u16::from_le_bytes([*header.add(16), *header.add(17)]) as i32,
            ))));
            let group_scale = _mm512_mul_ps(sc, super_d);
            offset = _mm512_fmadd_ps(group_scale, _mm512_loadu_ps(dsum.add(16 * sb)), offset);
            let dx = _mm512_permutexvar_ps(
                repeat_lo,
                _mm512_castps256_ps512(_mm256_loadu_ps(d.add(8 * sb))),
            );
            let scale = _mm512_mul_ps(group_scale, dx);
            for (half, repeat) in [(0, repeat_lo), (1, repeat_hi)] {
                let base = quants.add(192 * sb + 96 * half);
                let low = _mm512_loadu_si512(base.cast());
                let high = _mm512_broadcast_i64x4(_mm256_loadu_si256(base.add(64).cast()));
                let w_lo = _mm512_or_si512(
                    _mm512_and_si512(low, nibble),
                    _mm512_and_si512(_mm512_sllv_epi16(high, shift_lo), bits45),
                );
                let w_hi = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(low, 4), nibble),
                    _mm512_and_si512(_mm512_srlv_epi16(high, shift_hi), bits45),
                );
                let x = q.add(256 * sb + 128 * half);
                let x_lo = _mm512_loadu_si512(x.cast());
                let x_hi = _mm512_loadu_si512(x.add(64).cast());
                let dot = _mm512_dpbusd_epi32(
                    _mm512_dpbusd_epi32(_mm512_setzero_si512(), w_lo, x_lo),
                    w_hi,
                    x_hi,
                );
                acc = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(dot),
                    _mm512_permutexvar_ps(repeat, scale),
                    acc,
                );
            }
        }
    }
    _mm512_reduce_add_ps(acc) - 32.0 * _mm512_reduce_add_ps(offset)
}
