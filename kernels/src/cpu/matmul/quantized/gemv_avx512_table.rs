//! AVX-512 VNNI kernels for the 4-bit code-book formats kept in GGUF block order: MXFP4 (E8M0
//! block scales) and IQ4_XS (IQ4_NL's table, 6-bit sub-block scales per 256). Both read as
//! `s · v + m` with `v = table[q] + 128` and `m = −128 · s` per 32 elements.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{IQ4_NL_VALUES, MXFP4_VALUES, f16_at};
use super::gemv_avx2_table;
use super::gemv_avx512::{PREFETCH, prefetch};
use super::rows_kernel::multi_rows_kernel;
use crate::DType;

multi_rows_kernel!(table_rows, table_row, XS);

/// Where one 32-element block of a row of `w` keeps its 16 quant bytes, and its scale.
///
/// # Safety
/// `row` must start a packed (GGUF-order) row of `w`, an MXFP4 or IQ4_XS matrix, and
/// `b < w.blocks_per_row() · (block_len / 32)`.
#[inline(always)]
unsafe fn block_at<const XS: bool>(row: *const u8, b: usize) -> (*const u8, f32) {
    // SAFETY: the block's bytes lie inside the row (caller's contract).
    unsafe {
        if XS {
            let (sb, ib) = (b / 8, b % 8);
            let block = row.add(136 * sb);
            let header = std::slice::from_raw_parts(block, 8);
            let scales_h = u16::from_le_bytes([header[2], header[3]]);
            let low = (header[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F;
            let ls = (low | (((scales_h >> (2 * ib)) & 3) as u8) << 4) as i32;
            (block.add(8 + 16 * ib), f16_at(header, 0) * (ls - 32) as f32)
        } else {
            let block = row.add(17 * b);
            (block.add(1), crate::quant::mxfp4_scale(*block))
        }
    }
}

/// The code book as unsigned bytes (`value + 128`) in each 128-bit lane.
#[inline(always)]
pub(super) fn table<const XS: bool>() -> __m512i {
    let values: [i8; 16] = if XS { IQ4_NL_VALUES } else { MXFP4_VALUES };
    let biased = values.map(|v| (v as u8) ^ 0x80);
    // SAFETY: reading 16 bytes from a 16-byte array; AVX-512 F is enabled in every caller.
    unsafe { _mm512_broadcast_i32x4(_mm_loadu_si128(biased.as_ptr().cast())) }
}

/// The 64 natural-order values (`table[q] + 128`) of the two blocks whose quant bytes start at
/// `a` and `b`.
///
/// # Safety
/// AVX-512 F/BW must be present; 16 bytes must be readable at `a` and at `b`.
#[inline(always)]
pub(super) unsafe fn two_blocks(a: *const u8, b: *const u8, table: __m512i) -> __m512i {
    // SAFETY: forwarded from the caller.
    unsafe {
        let nibble = _mm_set1_epi8(0x0F);
        let halves = |p: *const u8| {
            let q = _mm_loadu_si128(p.cast());
            _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), nibble), _mm_and_si128(q, nibble))
        };
        let codes = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(halves(a)), halves(b));
        _mm512_shuffle_epi8(table, codes)
    }
}

/// Elements `128g..128g + 128` of a row as `[__m512i; 2]` (the GEMM's decoder).
///
/// # Safety
/// AVX-512 F/BW must be present; `row` must start a packed row of `w` (MXFP4 or IQ4_XS) and
/// `g < kp / 128`.
#[inline(always)]
pub(super) unsafe fn decode128(w: &QuantRows, row: *const u8, g: usize) -> [__m512i; 2] {
    // SAFETY: blocks 4g..4g + 4 lie inside the row (caller's contract).
    unsafe {
        let pair = |first: usize| {
            if w.dtype == DType::IQ4_XS {
                two_blocks(block_at::<true>(row, first).0, block_at::<true>(row, first + 1).0, table::<true>())
            } else {
                two_blocks(block_at::<false>(row, first).0, block_at::<false>(row, first + 1).0, table::<false>())
            }
        };
        [pair(4 * g), pair(4 * g + 2)]
    }
}

/// The eight sub-block scales `d · (ls − 32)` of the IQ4_XS block at `block`.
///
/// # Safety
/// AVX2 and F16C must be present; 8 bytes must be readable at `block`.
#[inline(always)]
unsafe fn xs_sub_scales(block: *const u8) -> [f32; 8] {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), gemv_avx2_table::xs_sub_scales(block));
        out
    }
}

/// `R` rows against activation row `r` (natural order): two blocks per `vpdpbusd`, the
/// offset `−128 · s · d_x Σq` summed per block. IQ4_XS unpacks each super-block's eight
/// sub-scales once.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn table_row<const R: usize, const XS: bool>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d, dsum32) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum32(r).as_ptr());
    // Blocks of 32 per scale run: a super-block for IQ4_XS, four for MXFP4 (kp is a multiple
    // of 128).
    const MAX_RUN: usize = 8;
    let run_len = if XS { MAX_RUN } else { 4 };
    let runs = w.kp / 32 / run_len;
    let table = table::<XS>();
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [0f32; R]);
    // SAFETY: per row, kp / 32 blocks, a multiple of `run_len` (padding blocks decode to zero weights); kp activations and kp / 32 d
    // and dsum32 values.
    unsafe {
        for run in 0..runs {
            let mut quants = [[std::ptr::null::<u8>(); MAX_RUN]; R];
            let mut scales = [[0f32; MAX_RUN]; R];
            for i in 0..R {
                if XS {
                    let block = rows[i].add(136 * run);
                    scales[i] = xs_sub_scales(block);
                    for (ib, quant) in quants[i].iter_mut().enumerate() {
                        *quant = block.add(8 + 16 * ib);
                    }
                } else {
                    for ib in 0..run_len {
                        (quants[i][ib], scales[i][ib]) = block_at::<false>(rows[i], run_len * run + ib);
                    }
                }
            }
            for pair in 0..run_len / 2 {
                let (b0, b1) = (run_len * run + 2 * pair, run_len * run + 2 * pair + 1);
                let x = _mm512_loadu_si512(q.add(32 * b0).cast());
                let (dx0, dx1) = (*d.add(b0), *d.add(b1));
                let (sum0, sum1) = (*dsum32.add(b0), *dsum32.add(b1));
                for i in 0..R {
                    let (qa, qb) = (quants[i][2 * pair], quants[i][2 * pair + 1]);
                    let (sa, sb) = (scales[i][2 * pair], scales[i][2 * pair + 1]);
                    prefetch(qa.wrapping_add(PREFETCH), R * w.row_stride);
                    let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_blocks(qa, qb, table), x);
                    let scale = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(sa * dx0), _mm512_set1_ps(sb * dx1));
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[i]);
                    offset[i] += sa * sum0 + sb * sum1;
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 128.0 * offset[i])
}
