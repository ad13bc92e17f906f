//! AVX2 GEMV kernels for NVFP4, TQ2_0 and TQ1_0 in GGUF block order (the AVX-512 ones are in
//! [`super::gemv_avx512_fp4_ternary`], whose module docs give the layouts). Per 32 elements one
//! activation load is shared by the rows of a call:
//!
//! - NVFP4: the 16 quant bytes of two sub-blocks are split into nibbles as MXFP4's are
//!   ([`super::gemv_avx2_table`]) and one qword permute puts them in element order; the dot is
//!   `vpmaddubsw(|x|, sign(w, x))`, each half's UE4M3 scale times the activation scale.
//! - TQ2_0 and TQ1_0: levels `u` in 0..2 are unsigned, so `vpmaddubsw(u, x) − vpmaddubsw(1, x)`
//!   is `Σ (u − 1) · x` in i16 (at most 4 · 127 per pair), one scale `d · d_x` per 32. TQ1_0's
//!   base-3 digits are `[m ≥ 86] + [m ≥ 171]` of `m = byte · 3^n mod 256` (16-bit multiplies,
//!   even and odd bytes apart; unsigned compares through `vpmaxub`).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::f16_at;
use super::gemv_avx2::{PREFETCH, hsum256, prefetch};
use super::gemv_avx2_table::{NEXT_ROWS_LEAD, dot_abs_x, prefetch_l2, table, weights};
use super::rows_kernel::multi_rows_kernel;

multi_rows_kernel!(nvfp4_rows, nvfp4_row);
multi_rows_kernel!(tq2_0_rows, tq2_0_row);
multi_rows_kernel!(tq1_0_rows, tq1_0_row);

/// Prefetches the block at `block` ahead in its row (L1) and in the rows the next call reads (L2).
#[inline(always)]
fn prefetch_block(block: *const u8, next_rows: usize) {
    prefetch(block.wrapping_add(PREFETCH));
    prefetch_l2(block.wrapping_add(next_rows + NEXT_ROWS_LEAD));
}

/// `R` NVFP4 rows against activation row `r` (natural order).
///
/// # Safety
/// AVX2, FMA and F16C must be present; each of `rows` must start a packed row of `w`, an NVFP4
/// matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nvfp4_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 36;
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let table = table::<false>();
    let mut acc = [_mm256_setzero_ps(); R];
    // SAFETY: per row, k / 64 blocks of 36 bytes; 64 activations and 2 scales per block.
    unsafe {
        for b in 0..w.k / 64 {
            for h in 0..2 {
                let x = _mm256_loadu_si256(q.add(64 * b + 32 * h).cast());
                let (abs_x, dx) = (_mm256_abs_epi8(x), *d.add(2 * b + h));
                for i in 0..R {
                    let block = rows[i].add(BLOCK_BYTES * b);
                    if h == 0 {
                        prefetch_block(block, R * w.row_stride);
                    }
                    // Low nibbles of both sub-blocks, then high: qwords 0, 2, 1, 3 are elements
                    // 0..8, 8..16 (sub-block 2h) and 16..24, 24..32 (sub-block 2h + 1).
                    let values = _mm256_permute4x64_epi64::<0xD8>(weights(block.add(4 + 16 * h), table));
                    let dot = dot_abs_x(values, x, abs_x);
                    let (s0, s1) =
                        (crate::quant::ue4m3_half(*block.add(2 * h)), crate::quant::ue4m3_half(*block.add(2 * h + 1)));
                    let scale = _mm256_set_m128(_mm_set1_ps(s1 * dx), _mm_set1_ps(s0 * dx));
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| hsum256(acc[i]))
}

/// i32 lanes: `Σ (u − 1) · x` over each 4 elements, for levels `u` in 0..2 and `x_sum =
/// vpmaddubsw(1, x)`.
#[inline(always)]
fn ternary_dot(u: __m256i, x: __m256i, x_sum: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe { _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(u, x), x_sum), _mm256_set1_epi16(1)) }
}

/// `R` TQ2_0 rows against activation row `r` (natural order): bit pair `l` of quant bytes
/// `32h..32h + 32` is elements `128h + 32l..`.
///
/// # Safety
/// AVX2, FMA and F16C must be present; each of `rows` must start a packed row of `w`, a TQ2_0
/// matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tq2_0_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 66;
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let mut acc = [_mm256_setzero_ps(); R];
    // SAFETY: per row, k / 256 blocks of 66 bytes; 256 activations and 8 scales per block.
    unsafe {
        let (ones, three) = (_mm256_set1_epi8(1), _mm256_set1_epi8(3));
        for b in 0..w.k / 256 {
            let mut dw = [0f32; R];
            for i in 0..R {
                let block = rows[i].add(BLOCK_BYTES * b);
                prefetch_block(block, R * w.row_stride);
                dw[i] = f16_at(std::slice::from_raw_parts(block, BLOCK_BYTES), 64);
            }
            for chunk in 0..8 {
                let (h, l) = (chunk / 4, chunk % 4);
                let x = _mm256_loadu_si256(q.add(256 * b + 32 * chunk).cast());
                let (x_sum, dx) = (_mm256_maddubs_epi16(ones, x), *d.add(8 * b + chunk));
                let shift = _mm_cvtsi32_si128(2 * l as i32);
                for i in 0..R {
                    let qs = _mm256_loadu_si256(rows[i].add(BLOCK_BYTES * b + 32 * h).cast());
                    let u = _mm256_and_si256(_mm256_srl_epi16(qs, shift), three);
                    let dot = ternary_dot(u, x, x_sum);
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw[i] * dx), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| hsum256(acc[i]))
}

/// The 16-bit multipliers of TQ1_0's eight 32-element chunks: `3^n` for chunks 0..5 (digit n
/// of `qs[0..32]`), then per 128-bit lane digits 0 | 1 and 2 | 3 of `qs[32..48]`, then digit 4
/// of `qs[32..48]` | the four digits of `qh` (four bytes each).
const TQ1_MULTIPLIERS: [[i16; 16]; 8] = {
    const fn lanes(lo: [i16; 8], hi: [i16; 8]) -> [i16; 16] {
        let mut out = [0; 16];
        let mut i = 0;
        while i < 8 {
            out[i] = lo[i];
            out[8 + i] = hi[i];
            i += 1;
        }
        out
    }
    const fn all(p: i16) -> [i16; 8] {
        [p; 8]
    }
    [
        lanes(all(1), all(1)),
        lanes(all(3), all(3)),
        lanes(all(9), all(9)),
        lanes(all(27), all(27)),
        lanes(all(81), all(81)),
        lanes(all(1), all(3)),
        lanes(all(9), all(27)),
        lanes(all(81), [1, 1, 3, 3, 9, 9, 27, 27]),
    ]
};

/// The base-3 digits (0..2) `[m ≥ 86] + [m ≥ 171]`, `m = b · p mod 256`, of the 32 bytes `b`
/// of `bytes`, with the multiplier `p` of each 16-bit lane in `p16`.
#[inline(always)]
fn base3_digits(bytes: __m256i, p16: __m256i) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let even = _mm256_and_si256(_mm256_mullo_epi16(bytes, p16), _mm256_set1_epi16(0x00FF));
        let odd = _mm256_mullo_epi16(_mm256_and_si256(bytes, _mm256_set1_epi16(0xFF00u16 as i16)), p16);
        let m = _mm256_or_si256(even, odd);
        let at_least = |c: i8| _mm256_cmpeq_epi8(_mm256_max_epu8(m, _mm256_set1_epi8(c)), m);
        _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_add_epi8(at_least(86), at_least(171u8 as i8)))
    }
}

/// The bytes whose digits are TQ1_0 chunk `chunk` of the block at `block` (see
/// [`TQ1_MULTIPLIERS`]).
///
/// # Safety
/// AVX2 must be present; `block` must point at a whole TQ1_0 block.
#[inline(always)]
unsafe fn tq1_0_chunk_bytes(block: *const u8, chunk: usize) -> __m256i {
    // SAFETY: bytes 0..52 of the block (caller's contract).
    unsafe {
        match chunk {
            0..5 => _mm256_loadu_si256(block.cast()),
            5 | 6 => _mm256_broadcastsi128_si256(_mm_loadu_si128(block.add(32).cast())),
            _ => {
                let qh = _mm_set1_epi32(std::ptr::read_unaligned(block.add(48).cast::<i32>()));
                _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(_mm_loadu_si128(block.add(32).cast())), qh)
            }
        }
    }
}

/// `R` TQ1_0 rows against activation row `r` (natural order).
///
/// # Safety
/// AVX2, FMA and F16C must be present; each of `rows` must start a packed row of `w`, a TQ1_0
/// matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tq1_0_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 54;
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let mut acc = [_mm256_setzero_ps(); R];
    // SAFETY: per row, k / 256 blocks of 54 bytes; 256 activations and 8 scales per block.
    unsafe {
        let ones = _mm256_set1_epi8(1);
        for b in 0..w.k / 256 {
            let mut dw = [0f32; R];
            for i in 0..R {
                let block = rows[i].add(BLOCK_BYTES * b);
                prefetch_block(block, R * w.row_stride);
                dw[i] = f16_at(std::slice::from_raw_parts(block, BLOCK_BYTES), 52);
            }
            for (chunk, p16) in TQ1_MULTIPLIERS.iter().enumerate() {
                let p16 = _mm256_loadu_si256(p16.as_ptr().cast());
                let x = _mm256_loadu_si256(q.add(256 * b + 32 * chunk).cast());
                let (x_sum, dx) = (_mm256_maddubs_epi16(ones, x), *d.add(8 * b + chunk));
                for i in 0..R {
                    let u = base3_digits(tq1_0_chunk_bytes(rows[i].add(BLOCK_BYTES * b), chunk), p16);
                    let dot = ternary_dot(u, x, x_sum);
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw[i] * dx), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| hsum256(acc[i]))
}
