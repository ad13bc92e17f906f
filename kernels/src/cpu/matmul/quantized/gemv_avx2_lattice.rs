//! AVX2 GEMV kernels for the lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
//! IQ1_M), kept in GGUF block order. Per 32-element sub-block the four 8-groups come from the
//! format's own decoding ([`crate::quant::iq_lattice`]): IQ2/IQ3 give code-book magnitudes
//! (at most 62) and sign bits, which are put on the activations (`vpsignb`) so that
//! `vpmaddubsw(magnitudes, ±x)` + `vpmaddwd` form the dot; IQ1 gives points whose levels
//! `8g ± 1` come from the biased code book of [`super::lattice_formats`] and enter as
//! `vpmaddubsw(|x|, sign(w, x))`. The values are signed, so no offset term is needed: each row is
//! `Σ (s · d_x) · Σ w · x` with one scale per 16 elements. Entries are loaded one by one
//! (ggml's AVX2 kernels do the same; gathers are slow on AVX2 parts).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::gemv_avx2::{PREFETCH, hsum256, prefetch};
use super::gemv_avx2_table::dot_abs_x;
use super::lattice_formats::{IQ1_GRID_BIASED, IQ1_M, IQ1_S, dtype_of};
use super::rows_kernel::multi_rows_kernel;
use crate::quant::iq_lattice::{block_scales, iq1_sub_block_points, sub_block_points};

multi_rows_kernel!(lattice_rows, lattice_row, const F: u8);

/// Byte `i` of the result is 0xFF where bit `i` of `bits` is set, else 0.
#[inline(always)]
fn bit_mask(bits: u32) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32(bits as i32),
            _mm256_setr_epi64x(0, 0x0101_0101_0101_0101, 0x0202_0202_0202_0202, 0x0303_0303_0303_0303),
        );
        let select = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
        _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select)
    }
}

/// i32 lanes 0..4 and 4..8: the dot of sub-block `ib` of `block` (format `F`) with the 32
/// activations `x` (`abs_x = |x|`), over its first and second 16 elements.
///
/// # Safety
/// AVX2 must be present; `block` must be a whole block of format `F`, `ib < 8`.
#[inline(always)]
unsafe fn sub_block_dot<const F: u8>(block: &[u8], ib: usize, x: __m256i, abs_x: __m256i) -> __m256i {
    let dtype = dtype_of(F);
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        if F == IQ1_S || F == IQ1_M {
            let mut e = [0u64; 4];
            for (e, (index, negative)) in e.iter_mut().zip(iq1_sub_block_points(dtype, block, ib)) {
                *e = IQ1_GRID_BIASED[index] + if negative { 0 } else { 0x0202_0202_0202_0202 };
            }
            let biased = _mm256_setr_epi64x(e[0] as i64, e[1] as i64, e[2] as i64, e[3] as i64);
            let levels = _mm256_xor_si256(biased, _mm256_set1_epi8(-128));
            dot_abs_x(levels, x, abs_x)
        } else {
            let points = sub_block_points(dtype, block, ib);
            let mags =
                _mm256_setr_epi64x(points[0].0 as i64, points[1].0 as i64, points[2].0 as i64, points[3].0 as i64);
            let signs = u32::from_le_bytes([points[0].1, points[1].1, points[2].1, points[3].1]);
            let signed_x = _mm256_sign_epi8(x, _mm256_or_si256(bit_mask(signs), _mm256_set1_epi8(1)));
            _mm256_madd_epi16(_mm256_maddubs_epi16(mags, signed_x), _mm256_set1_epi16(1))
        }
    }
}

/// `R` rows against activation row `r` (natural order): per block, each row's 16 scales; per
/// sub-block one activation load shared by the rows and one FMA per row, the two 16-element
/// halves' scales `s · d_x` in the low and high four lanes.
///
/// # Safety
/// AVX2, FMA and F16C must be present; each of `rows` must start a packed (GGUF-order) row of
/// `w`, a matrix of format `F`, and `acts` must hold natural-order activations of `w.kp`
/// elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn lattice_row<const R: usize, const F: u8>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let bb = dtype_of(F).block_bytes();
    let mut acc = [_mm256_setzero_ps(); R];
    // SAFETY: per row, kp / 256 blocks of `bb` bytes; kp activations and kp / 32 scales.
    unsafe {
        for blk in 0..w.kp / 256 {
            let (mut blocks, mut scales) = ([&[][..]; R], [[0f32; 16]; R]);
            for i in 0..R {
                blocks[i] = std::slice::from_raw_parts(rows[i].add(bb * blk), bb);
                prefetch(blocks[i].as_ptr().wrapping_add(PREFETCH));
                scales[i] = block_scales(dtype_of(F), blocks[i]);
            }
            for ib in 0..8 {
                let x = _mm256_loadu_si256(q.add(256 * blk + 32 * ib).cast());
                let (abs_x, dx) = (_mm256_abs_epi8(x), *d.add(8 * blk + ib));
                for i in 0..R {
                    let dot = sub_block_dot::<F>(blocks[i], ib, x, abs_x);
                    let scale =
                        _mm256_set_m128(_mm_set1_ps(scales[i][2 * ib + 1] * dx), _mm_set1_ps(scales[i][2 * ib] * dx));
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| hsum256(acc[i]))
}
