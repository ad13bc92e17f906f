//! AVX-512 VNNI GEMV kernels for NVFP4, TQ2_0 and TQ1_0, in GGUF block order. All use one
//! `vpdpbusd` per 64 weights with unsigned codes `v` and subtract the activation sum that the
//! code's bias adds, in i32 (exact): `Σ (v − c) · x = Σ v · x − c · Σ x`, with `Σ x` per four
//! lanes from a second `vpdpbusd` against ones, shared by every row of the call.
//!
//! - NVFP4 (`{ u8 d[4]; u8 qs[32] }`, 64 elements): one block is one register. Its qword `s`
//!   of quant bytes is spread over lane `s` as low then high nibbles (the sub-block's element
//!   order), the doubled E2M1 table is looked up with `vpshufb` as `value + 128` (c = 128), and
//!   each lane's UE4M3 scale times its activation block's scale multiplies the lane.
//! - TQ2_0 (`{ u8 qs[64]; f16 d }`, 256 elements): bit pair `l` of the 64 quant bytes is
//!   elements `32l..32l + 32` (low half) and `128 + 32l..` (high half), levels 0..2 (c = 1).
//! - TQ1_0 (`{ u8 qs[48]; u8 qh[4]; f16 d }`, 256 elements): digit n of a byte is
//!   `(byte · 3^n mod 256) · 3 >> 8`, computed for 64 bytes at once with a multiplier per
//!   128-bit lane (16-bit multiplies, even and odd bytes apart) and two unsigned compares (the
//!   digit is `[m ≥ 86] + [m ≥ 171]`). Four registers cover a block: digits 0–1 and 2–3 of
//!   `qs[0..32]` (elements 0..128), digits 0–3 of `qs[32..48]` (160..224), and digit 4 of
//!   `qs[0..48]` with the four digits of `qh` (128..160 and 224..256); levels 0..2 (c = 1).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::f16_at;
use super::gemv_avx512::{PREFETCH, REPEAT4_LO, prefetch};
use super::gemv_avx512_table;
use super::rows_kernel::multi_rows_kernel;
use crate::DType;

multi_rows_kernel!(nvfp4_rows, nvfp4_row);
multi_rows_kernel!(tq2_0_rows, tq2_0_row);
multi_rows_kernel!(tq1_0_rows, tq1_0_row);

/// The 64 natural-order values (`value + 128`) of the NVFP4 block at `block`: its qword `s` of
/// quant bytes spread over lane `s` as low then high nibbles, looked up in `table` (MXFP4's
/// doubled E2M1 values, biased).
///
/// # Safety
/// AVX-512 F/BW must be present; `block` must point at a whole NVFP4 block.
#[inline(always)]
unsafe fn nvfp4_values(block: *const u8, table: __m512i) -> __m512i {
    // SAFETY: bytes 4..36 of the block (caller's contract).
    unsafe {
        let qs = _mm512_castsi256_si512(_mm256_loadu_si256(block.add(4).cast()));
        let spread = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3), qs);
        let codes = _mm512_srlv_epi64(spread, _mm512_setr_epi64(0, 4, 0, 4, 0, 4, 0, 4));
        _mm512_shuffle_epi8(table, _mm512_and_si512(codes, _mm512_set1_epi8(0x0F)))
    }
}

/// `R` NVFP4 rows against activation row `r` (natural order).
///
/// # Safety
/// AVX-512 F/BW/VNNI must be present; each of `rows` must start a packed row of `w`, an NVFP4
/// matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn nvfp4_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 36;
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let mut acc = [_mm512_setzero_ps(); R];
    // SAFETY: per row, k / 64 blocks of 36 bytes; 64 activations and 2 scales per block.
    unsafe {
        // NVFP4's values are MXFP4's doubled E2M1 table.
        let table = gemv_avx512_table::table::<false>();
        let (ones, repeat4) = (_mm512_set1_epi8(1), _mm512_loadu_si512(REPEAT4_LO.as_ptr().cast()));
        for b in 0..w.k / 64 {
            let x = _mm512_loadu_si512(q.add(64 * b).cast());
            let x_sum128 = _mm512_slli_epi32::<7>(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, x));
            let (dx0, dx1) = (*d.add(2 * b), *d.add(2 * b + 1));
            let dx = _mm_setr_ps(dx0, dx0, dx1, dx1);
            for i in 0..R {
                let block = rows[i].add(BLOCK_BYTES * b);
                prefetch(block.wrapping_add(PREFETCH), R * w.row_stride);
                let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nvfp4_values(block, table), x);
                let s = [0, 1, 2, 3].map(|j| crate::quant::ue4m3_half(*block.add(j)));
                let scale4 = _mm_mul_ps(_mm_loadu_ps(s.as_ptr()), dx);
                let scale = _mm512_permutexvar_ps(repeat4, _mm512_castps128_ps512(scale4));
                acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(dot, x_sum128)), scale, acc[i]);
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]))
}

/// Adds to each of the `R` accumulators 64 ternary weights, `codes(i)` for row `i` (levels
/// 0..2, value `(level − 1) · dw[i]`), against activations `lo..lo + 32` (low half) and
/// `hi..hi + 32` (high half) of the quants `q` with block scales `d`.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be present; `q` must hold both runs of 32, `d` their blocks' scales.
#[inline(always)]
unsafe fn ternary_pass<const R: usize>(
    acc: &mut [__m512; R],
    codes: impl Fn(usize) -> __m512i,
    dw: &[f32; R],
    q: *const i8,
    d: *const f32,
    lo: usize,
    hi: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let x = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_loadu_si256(q.add(lo).cast())),
            _mm256_loadu_si256(q.add(hi).cast()),
        );
        let x_sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), x);
        let (dx_lo, dx_hi) = (*d.add(lo / 32), *d.add(hi / 32));
        for i in 0..R {
            let dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), codes(i), x), x_sum);
            let scale = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(dw[i] * dx_lo), _mm512_set1_ps(dw[i] * dx_hi));
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[i]);
        }
    }
}

/// `R` TQ2_0 rows against activation row `r` (natural order).
///
/// # Safety
/// AVX-512 F/BW/VNNI and F16C must be present; each of `rows` must start a packed row of `w`,
/// a TQ2_0 matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,f16c")]
unsafe fn tq2_0_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 66;
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let mut acc = [_mm512_setzero_ps(); R];
    // SAFETY: per row, k / 256 blocks of 66 bytes; 256 activations and 8 scales per block.
    unsafe {
        let levels = _mm512_set1_epi8(3);
        for b in 0..w.k / 256 {
            let mut dw = [0f32; R];
            let mut qs = [_mm512_setzero_si512(); R];
            for i in 0..R {
                let block = rows[i].add(BLOCK_BYTES * b);
                prefetch(block.wrapping_add(PREFETCH), R * w.row_stride);
                dw[i] = f16_at(std::slice::from_raw_parts(block, BLOCK_BYTES), 64);
                qs[i] = _mm512_loadu_si512(block.cast());
            }
            for l in 0..4 {
                let shift = _mm_cvtsi32_si128(2 * l as i32);
                let codes = |i: usize| _mm512_and_si512(_mm512_srl_epi16(qs[i], shift), levels);
                ternary_pass(&mut acc, codes, &dw, q, d, 256 * b + 32 * l, 256 * b + 128 + 32 * l);
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]))
}

/// The 16-bit multipliers of TQ1_0's four registers (see the module docs): 3^n per 128-bit
/// lane, and in the last lane of the last one 3^n per 32-bit lane (the four `qh` digits).
const TQ1_MULTIPLIERS: [[i16; 32]; 4] = {
    const fn lanes(p: [i16; 4]) -> [i16; 32] {
        let mut out = [0; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = p[i / 8];
            i += 1;
        }
        out
    }
    let mut last = lanes([81, 81, 81, 0]);
    let qh = [1, 1, 3, 3, 9, 9, 27, 27];
    let mut i = 0;
    while i < 8 {
        last[24 + i] = qh[i];
        i += 1;
    }
    [lanes([1, 1, 3, 3]), lanes([9, 9, 27, 27]), lanes([1, 3, 9, 27]), last]
};

/// The base-3 digits (0..2) `(b · p mod 256) · 3 >> 8` of the 64 bytes `b` of `bytes`, with
/// the multiplier `p` of each 16-bit lane in `p16` (the same for both bytes of a lane).
///
/// # Safety
/// AVX-512 F/BW must be present.
#[inline(always)]
unsafe fn base3_digits(bytes: __m512i, p16: __m512i) -> __m512i {
    // SAFETY: AVX-512 F/BW are enabled in every caller.
    unsafe {
        let (low, high) = (_mm512_set1_epi16(0x00FF), _mm512_set1_epi16(0xFF00u16 as i16));
        let even = _mm512_and_si512(_mm512_mullo_epi16(bytes, p16), low);
        let odd = _mm512_mullo_epi16(_mm512_and_si512(bytes, high), p16);
        let m = _mm512_or_si512(even, odd);
        let one = _mm512_set1_epi8(1);
        let digit = _mm512_maskz_mov_epi8(_mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(86)), one);
        _mm512_mask_add_epi8(digit, _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(171u8 as i8)), digit, one)
    }
}

/// The four registers of base-3 digits (levels 0..2) of the TQ1_0 block at `block` (see the
/// module docs), given [`TQ1_MULTIPLIERS`] as vectors.
///
/// # Safety
/// AVX-512 F/BW must be present; `block` must point at a whole TQ1_0 block.
#[inline(always)]
unsafe fn tq1_0_digits(block: *const u8, p16: &[__m512i; 4]) -> [__m512i; 4] {
    // SAFETY: bytes 0..52 of the block (caller's contract).
    unsafe {
        let qs32 = _mm256_loadu_si256(block.cast());
        let qs16 = _mm_loadu_si128(block.add(32).cast());
        let qh = _mm_set1_epi32(std::ptr::read_unaligned(block.add(48).cast::<i32>()));
        let twice = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(qs32), qs32);
        let last = _mm512_inserti32x4::<3>(_mm512_inserti32x4::<2>(twice, qs16), qh);
        let bytes = [twice, twice, _mm512_broadcast_i32x4(qs16), last];
        // A loop, not `array::from_fn`: its closure may stay a call in `target_feature` code.
        let mut digits = [_mm512_setzero_si512(); 4];
        for g in 0..4 {
            digits[g] = base3_digits(bytes[g], p16[g]);
        }
        digits
    }
}

/// The 64-element halves `2h`, `2h + 1` of the TQ2_0 block at `block` as levels 0..2: bit pair
/// `l` of quant bytes `32h..32h + 32` is elements `128h + 32l..`.
///
/// # Safety
/// AVX-512 F/BW must be present; `block` must point at a whole TQ2_0 block, `h < 2`.
#[inline(always)]
unsafe fn tq2_0_levels(block: *const u8, h: usize) -> [__m512i; 2] {
    // SAFETY: bytes 32h..32h + 32 of the block (caller's contract).
    unsafe {
        let qs = _mm256_loadu_si256(block.add(32 * h).cast());
        let three = _mm256_set1_epi8(3);
        let field = |shift: i32| _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(shift)), three);
        let pair = |a: __m256i, b: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b);
        [pair(field(0), field(2)), pair(field(4), field(6))]
    }
}

/// Elements `128g..128g + 128` of a row as `[__m512i; 2]`, each `level + 128` (the GEMM's
/// decoder; NVFP4, TQ2_0 and TQ1_0 read as `s · v − 128 · s` per 16 elements).
///
/// # Safety
/// AVX-512 F/BW must be present; `row` must start a packed row of `w` (one of these formats)
/// and `g < kp / 128`.
#[inline(always)]
pub(super) unsafe fn decode128(w: &QuantRows, row: *const u8, g: usize) -> [__m512i; 2] {
    // SAFETY: the blocks read lie inside the row (caller's contract; NVFP4 rows are padded to
    // whole 128-element groups).
    unsafe {
        let bias = _mm512_set1_epi8(127);
        match w.dtype {
            DType::NVFP4 => {
                let table = gemv_avx512_table::table::<false>();
                [nvfp4_values(row.add(72 * g), table), nvfp4_values(row.add(72 * g + 36), table)]
            }
            DType::TQ2_0 => {
                let [lo, hi] = tq2_0_levels(row.add(66 * (g / 2)), g % 2);
                [_mm512_add_epi8(lo, bias), _mm512_add_epi8(hi, bias)]
            }
            _ => {
                let mut p16 = [_mm512_setzero_si512(); 4];
                for (v, m) in p16.iter_mut().zip(&TQ1_MULTIPLIERS) {
                    *v = _mm512_loadu_si512(m.as_ptr().cast());
                }
                let [r0, r1, r2, r3] = tq1_0_digits(row.add(54 * (g / 2)), &p16);
                // Registers 0 and 1 hold elements 0..128; register 3's halves 128..160 and
                // 224..256 go around register 2 (160..224).
                let [lo, hi] = if g.is_multiple_of(2) {
                    [r0, r1]
                } else {
                    [_mm512_shuffle_i64x2::<0x44>(r3, r2), _mm512_shuffle_i64x2::<0xEE>(r2, r3)]
                };
                [_mm512_add_epi8(lo, bias), _mm512_add_epi8(hi, bias)]
            }
        }
    }
}

/// `R` TQ1_0 rows against activation row `r` (natural order).
///
/// # Safety
/// AVX-512 F/BW/VNNI and F16C must be present; each of `rows` must start a packed row of `w`,
/// a TQ1_0 matrix, and `acts` must hold natural-order activations of at least `w.k` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,f16c")]
unsafe fn tq1_0_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    const BLOCK_BYTES: usize = 54;
    // Per register: the first elements of its low and high 256-bit halves (see the module
    // docs; the multipliers are in `TQ1_MULTIPLIERS`).
    const HALVES: [(usize, usize); 4] = [(0, 32), (64, 96), (160, 192), (128, 224)];
    let (q, d) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr());
    let mut acc = [_mm512_setzero_ps(); R];
    // SAFETY: per row, k / 256 blocks of 54 bytes (each read below lies inside its block);
    // 256 activations and 8 scales per block.
    unsafe {
        let p16 = TQ1_MULTIPLIERS.map(|m| _mm512_loadu_si512(m.as_ptr().cast()));
        for b in 0..w.k / 256 {
            let mut dw = [0f32; R];
            let mut regs = [[_mm512_setzero_si512(); 4]; R];
            for i in 0..R {
                let block = rows[i].add(BLOCK_BYTES * b);
                prefetch(block.wrapping_add(PREFETCH), R * w.row_stride);
                dw[i] = f16_at(std::slice::from_raw_parts(block, BLOCK_BYTES), 52);
                regs[i] = tq1_0_digits(block, &p16);
            }
            for (g, &(lo, hi)) in HALVES.iter().enumerate() {
                ternary_pass(&mut acc, |i| regs[i][g], &dw, q, d, 256 * b + lo, 256 * b + hi);
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]))
}
