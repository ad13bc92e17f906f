//! AVX2 GEMV kernels for the 4-bit code-book formats kept in GGUF block order: MXFP4 (E8M0
//! block scales, 17-byte blocks of 32) and IQ4_XS (IQ4_NL's table, 6-bit sub-block scales per
//! 256). Each 32-element sub-block's 16 quant bytes are broadcast to both 128-bit lanes and
//! split into one ymm of codes in natural order (low nibbles in the low lane, high nibbles in
//! the high lane); `vpshufb` on the signed code book gives the weights, and the dot with the
//! activations is `vpmaddubsw(|x|, sign(w, x))` + `vpmaddwd`. Both `|w|` and `|x|` are at most
//! 127, so the pair sums fit in i16, and the signed values need no offset term: each row is
//! `Σ (s_w · d_x) · Σ table[q] · x_q` over its sub-blocks. `|x|` is shared by the rows of a call.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{IQ4_NL_VALUES, MXFP4_VALUES};
use super::gemv_avx2::{PREFETCH, hsum256, prefetch};
use super::rows_kernel::multi_rows_kernel;

/// How far ahead of the current weight bytes, in the rows the next call will read, to
/// prefetch into L2. With 4096-element rows (2 KB) the L1 prefetch mostly lands in rows
/// already read; this lead took IQ4_XS 14336×4096 from about 3.0 to 1.7 ms.
pub(super) const NEXT_ROWS_LEAD: usize = 2048;

/// Prefetches the cache line holding `p` into L2 (prefetches never fault).
#[inline(always)]
pub(super) fn prefetch_l2(p: *const u8) {
    // SAFETY: SSE is part of the x86_64 baseline; prefetching any address is harmless.
    unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast()) }
}

/// Sub-blocks per scale run: an IQ4_XS super-block, or four MXFP4 blocks (kp is a multiple
/// of 128).
const fn run_len(xs: bool) -> usize {
    if xs { 8 } else { 4 }
}

multi_rows_kernel!(table_rows, table_row, const XS: bool);

/// The signed code book in both 128-bit lanes.
#[inline(always)]
pub(super) fn table<const XS: bool>() -> __m256i {
    let values: [i8; 16] = if XS { IQ4_NL_VALUES } else { MXFP4_VALUES };
    // SAFETY: reading 16 bytes from a 16-byte array; AVX2 is enabled in every caller.
    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(values.as_ptr().cast())) }
}

/// The 32 signed weights, in natural order, of the sub-block whose 16 quant bytes are at `p`.
///
/// # Safety
/// AVX2 must be present; 16 bytes must be readable at `p`.
#[inline(always)]
pub(super) unsafe fn weights(p: *const u8, table: __m256i) -> __m256i {
    // SAFETY: forwarded from the caller.
    unsafe {
        let both = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast()));
        // The high lane shifted by 4: its bytes' high nibbles become their low bits.
        let shifted = _mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
        _mm256_shuffle_epi8(table, _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F)))
    }
}

/// i32 lanes: sums of 4 consecutive `w · x` products, as `|x| · sign(w, x)` with `abs_x =
/// |x|` (both within ±127, so the pair sums fit in i16).
#[inline(always)]
pub(super) fn dot_abs_x(w: __m256i, x: __m256i, abs_x: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe { _mm256_madd_epi16(_mm256_maddubs_epi16(abs_x, _mm256_sign_epi8(w, x)), _mm256_set1_epi16(1)) }
}

/// The eight sub-block scales `d · (ls − 32)` of the IQ4_XS block at `block`, in one vector
/// (also used by the AVX-512 kernels of `gemv_avx512_table`).
///
/// # Safety
/// AVX2 and F16C must be present; 8 bytes must be readable at `block`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn xs_sub_scales(block: *const u8) -> __m256 {
    // SAFETY: the block's 8 header bytes (caller's contract).
    unsafe {
        let header = std::slice::from_raw_parts(block, 8);
        let dw = _mm256_cvtph_ps(_mm_set1_epi16(i16::from_le_bytes([header[0], header[1]])));
        let scales_h = _mm256_set1_epi32(i32::from(u16::from_le_bytes([header[2], header[3]])));
        let scales_l = _mm256_set1_epi32(i32::from_le_bytes([header[4], header[5], header[6], header[7]]));
        let low = _mm256_and_si256(
            _mm256_srlv_epi32(scales_l, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
            _mm256_set1_epi32(0x0F),
        );
        let high = _mm256_and_si256(
            _mm256_srlv_epi32(scales_h, _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
            _mm256_set1_epi32(3),
        );
        let ls = _mm256_sub_epi32(_mm256_or_si256(low, _mm256_slli_epi32(high, 4)), _mm256_set1_epi32(32));
        _mm256_mul_ps(dw, _mm256_cvtepi32_ps(ls))
    }
}

/// [`xs_sub_scales`] times the eight activation scales at `dx`.
///
/// # Safety
/// AVX2 and F16C must be present; 8 bytes must be readable at `block`, 8 f32 at `dx`.
#[inline(always)]
unsafe fn xs_scales(block: *const u8, dx: *const f32) -> [f32; 8] {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), _mm256_mul_ps(xs_sub_scales(block), _mm256_loadu_ps(dx)));
        out
    }
}

/// `R` rows against activation row `r` (natural order): per run of sub-blocks, each row's
/// `s_w · d_x` and quant pointers, then per sub-block one activation load shared by the rows
/// and one FMA per row into its accumulator; every other sub-block prefetches ahead in this
/// row (L1) and in the same row of the next `R` (L2).
///
/// # Safety
/// AVX2, FMA and F16C must be present; each of `rows` must start a packed (GGUF-order) row
/// of `w`, an MXFP4 (`XS = false`) or IQ4_XS (`XS = true`) matrix, and `acts` must hold
/// natural-order activations of `w.kp` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn table_row<const R: usize, const XS: bool>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    const MAX_RUN: usize = run_len(true);
    let run = run_len(XS);
    let table = table::<XS>();
    let mut acc = [_mm256_setzero_ps(); R];
    // SAFETY: per row, kp / 32 sub-blocks, a multiple of `run` (padding decodes to zero
    // weights), in kp / 256 IQ4_XS blocks of 136 bytes or kp / 32 MXFP4 blocks of 17 bytes;
    // kp activations and kp / 32 activation scales.
    unsafe {
        for g in 0..w.kp / 32 / run {
            let mut quants = [[std::ptr::null::<u8>(); MAX_RUN]; R];
            let mut scales = [[0f32; MAX_RUN]; R];
            for i in 0..R {
                if XS {
                    let block = rows[i].add(136 * g);
                    scales[i] = xs_scales(block, d.add(8 * g));
                    for (ib, quant) in quants[i].iter_mut().enumerate() {
                        *quant = block.add(8 + 16 * ib);
                    }
                } else {
                    for ib in 0..run {
                        let (b, block) = (run * g + ib, rows[i].add(17 * (run * g + ib)));
                        (quants[i][ib], scales[i][ib]) = (block.add(1), crate::quant::mxfp4_scale(*block) * *d.add(b));
                    }
                }
            }
            for ib in 0..run {
                let x = _mm256_loadu_si256(q.add(32 * (run * g + ib)).cast());
                let abs_x = _mm256_abs_epi8(x);
                for i in 0..R {
                    if ib % 2 == 0 {
                        prefetch(quants[i][ib].wrapping_add(PREFETCH));
                        prefetch_l2(quants[i][ib].wrapping_add(R * w.row_stride + NEXT_ROWS_LEAD));
                    }
                    let dot = dot_abs_x(weights(quants[i][ib], table), x, abs_x);
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(scales[i][ib]), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| hsum256(acc[i]))
}
