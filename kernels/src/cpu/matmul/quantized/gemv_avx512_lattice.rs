//! AVX-512 VNNI kernels for the signed lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
//! IQ3_S), kept in GGUF block order. Each 8-group is a code-book entry (eight magnitudes) and a
//! sign byte ([`crate::quant::iq_lattice`]): eight entries make a zmm, the sign bytes its
//! byte mask, and `vpsubb` under that mask negates. Values enter the integer form as
//! `level + 128` with `m = −128 · s`, one scale per 16 elements.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::gemv_avx512::{PREFETCH, REPEAT4_HI, REPEAT4_LO, idx, load_x128, prefetch, rows_kernel};
use crate::DType;
use crate::quant::iq_lattice::{sub_block_points, sub_block_scales};

rows_kernel!(lattice_rows, lattice_row);

/// The 64 values (`level + 128`) of sub-blocks `ib` and `ib + 1` of `block`.
///
/// # Safety
/// AVX-512 F/BW must be present.
#[inline(always)]
unsafe fn two_sub_blocks(dtype: DType, block: &[u8], ib: usize) -> __m512i {
    let halves = [sub_block_points(dtype, block, ib), sub_block_points(dtype, block, ib + 1)];
    let entries: [i64; 8] = std::array::from_fn(|i| halves[i / 4][i % 4].0 as i64);
    let negate = (0..8).fold(0u64, |m, i| m | ((halves[i / 4][i % 4].1 as u64) << (8 * i)));
    // SAFETY: AVX-512 F/BW are enabled in every caller; reading an 8-element array.
    unsafe {
        let magnitudes = _mm512_loadu_si512(entries.as_ptr().cast());
        let signed = _mm512_mask_sub_epi8(magnitudes, negate, _mm512_setzero_si512(), magnitudes);
        _mm512_xor_si512(signed, _mm512_set1_epi8(-128))
    }
}

/// Elements `128g..128g + 128` of a row as `[__m512i; 2]` (the GEMM's decoder).
///
/// # Safety
/// AVX-512 F/BW must be present; `row` must start a packed row of `w` (a signed lattice format)
/// and `g < kp / 128`.
#[inline(always)]
pub(super) unsafe fn decode128(w: &QuantRows, row: *const u8, g: usize) -> [__m512i; 2] {
    let bb = w.dtype.block_bytes();
    // SAFETY: block g / 2 lies inside the row (caller's contract).
    let block = unsafe { std::slice::from_raw_parts(row.add(bb * (g / 2)), bb) };
    let ib = 4 * (g % 2);
    // SAFETY: forwarded from the caller.
    unsafe { [two_sub_blocks(w.dtype, block, ib), two_sub_blocks(w.dtype, block, ib + 2)] }
}

/// `R` rows against activation row `r` (natural order): 128 elements per step, per-16 scales
/// spread over the `vpdpbusd` lanes, the offset `−128 · s · d_x Σq` summed per 16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn lattice_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (dtype, bb) = (w.dtype, w.dtype.block_bytes());
    let (lanes_lo, lanes_hi) = (idx(&REPEAT4_LO), idx(&REPEAT4_HI));
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [0f32; R]);
    // SAFETY: per row, kp / 256 blocks; kp activations, kp / 32 d and kp / 16 dsum values.
    unsafe {
        for blk in 0..w.kp / 256 {
            for i in 0..R {
                let at = rows[i].add(bb * blk);
                prefetch(at.wrapping_add(PREFETCH), R * w.row_stride);
                let block = std::slice::from_raw_parts(at, bb);
                for half in 0..2 {
                    let e0 = 256 * blk + 128 * half;
                    let x = load_x128(q.add(e0));
                    let ib = 4 * half;
                    let dot_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks(dtype, block, ib), x.0);
                    let dot_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks(dtype, block, ib + 2), x.1);
                    let mut scaled = [0f32; 16];
                    for sub in 0..4 {
                        let [s0, s1] = sub_block_scales(dtype, block, ib + sub);
                        let dx = *d.add(e0 / 32 + sub);
                        scaled[2 * sub] = s0 * dx;
                        scaled[2 * sub + 1] = s1 * dx;
                        offset[i] += s0 * *dsum.add(e0 / 16 + 2 * sub) + s1 * *dsum.add(e0 / 16 + 2 * sub + 1);
                    }
                    let scaled = _mm512_loadu_ps(scaled.as_ptr());
                    acc[i] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_lo), _mm512_permutexvar_ps(lanes_lo, scaled), acc[i]);
                    acc[i] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_hi), _mm512_permutexvar_ps(lanes_hi, scaled), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 128.0 * offset[i])
}
