//! AVX-512 VNNI GEMV kernels for the K-quants with 16-element groups: Q6_K (split layout,
//! LoHi16 activations) and Q2_K/Q3_K (GGUF blocks, natural activations). Their 2-bit fields
//! are expanded by broadcasting 32 bytes to both halves of a zmm and shifting each half by its
//! own amount, so one zmm holds 64 consecutive elements.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::q3_k_scales;
use super::gemv_avx512::{PREFETCH, dot_lo_hi, idx, load_x128, prefetch};
use super::rows_kernel::multi_rows_kernel;

multi_rows_kernel!(q6_k_rows, q6_k_row);
multi_rows_kernel!(q2_k_rows, q2_k_row);
multi_rows_kernel!(q3_k_rows, q3_k_row);

/// Lane indices repeating values 0..8 twice each.
const REPEAT2_LO: [i32; 16] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];
/// Lane indices repeating values 8..16 twice each.
const REPEAT2_HI: [i32; 16] = [8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15];
/// Lane indices repeating values 4c..4c + 4 four times each, for c = 0..4.
const REPEAT4: [[i32; 16]; 4] = {
    let mut idx = [[0; 16]; 4];
    let mut c = 0;
    while c < 4 {
        let mut lane = 0;
        while lane < 16 {
            idx[c][lane] = (4 * c + lane / 4) as i32;
            lane += 1;
        }
        c += 1;
    }
    idx
};

/// 16-bit shift counts: `first` for the low 256 bits, `second` for the high 256 bits.
#[inline(always)]
fn shifts(first: i16, second: i16) -> __m512i {
    // SAFETY: AVX-512 F is enabled in every caller.
    unsafe { _mm512_inserti64x4::<1>(_mm512_set1_epi16(first), _mm256_set1_epi16(second)) }
}

/// 32 bytes at `p` in both halves of a zmm.
#[inline(always)]
unsafe fn broadcast_32(p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm512_broadcast_i64x4(_mm256_loadu_si256(p.cast())) }
}

/// The f16 at `p` as f32, broadcast.
#[inline(always)]
unsafe fn f16_splat(p: *const u8) -> __m512 {
    // SAFETY: the caller guarantees 2 readable bytes; F16C is enabled in every caller.
    unsafe {
        let bits = u16::from_le_bytes([*p, *p.add(1)]);
        _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32))))
    }
}

/// `d_x` of each of the 16 groups of super-block `sb` (one per 32-block, repeated).
#[inline(always)]
unsafe fn group_dx(d: *const f32, sb: usize) -> __m512 {
    // SAFETY: the caller guarantees 8 readable values.
    unsafe { _mm512_permutexvar_ps(idx(&REPEAT2_LO), _mm512_castps256_ps512(_mm256_loadu_ps(d.add(8 * sb)))) }
}

/// Q6_K row (LoHi16 activations): per half super-block a 64-byte load of low nibbles and a
/// 32-byte load of high bit pairs (broadcast to both halves and shifted into bits 4..6);
/// lanes 2s, 2s+1 belong to 16-group 8h + s. The `-32 d·sc` offset goes through `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q6_k_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (repeat_lo, repeat_hi) = (idx(&REPEAT2_LO), idx(&REPEAT2_HI));
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    for sb in 0..w.kp / 256 {
        // SAFETY: per row, this super-block's 18 header and 192 quant bytes; its 256
        // activations, 8 d and 16 dsum values.
        unsafe {
            let dx = group_dx(d, sb);
            let sums = _mm512_loadu_ps(dsum.add(16 * sb));
            let x = [load_x128(q.add(256 * sb)), load_x128(q.add(256 * sb + 128))];
            for i in 0..R {
                let header = rows[i].add(w.scale_offset + 18 * sb);
                let sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(header.cast())));
                let group_scale = _mm512_mul_ps(sc, f16_splat(header.add(16)));
                offset[i] = _mm512_fmadd_ps(group_scale, sums, offset[i]);
                let scale = _mm512_mul_ps(group_scale, dx);
                for (half, repeat) in [(0, repeat_lo), (1, repeat_hi)] {
                    let base = rows[i].add(192 * sb + 96 * half);
                    prefetch(base.wrapping_add(PREFETCH), R * w.row_stride);
                    let (w_lo, w_hi) = q6_k_half(base);
                    let dot = dot_lo_hi(w_lo, w_hi, x[half]);
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(repeat, scale), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 32.0 * _mm512_reduce_add_ps(offset[i]))
}

/// The 6-bit values of one split Q6_K half super-block at `p` (64 low-nibble bytes, 32 high
/// bit-pair bytes) in LoHi16 positions: (positions 0..64, positions 64..128).
#[inline(always)]
pub(super) unsafe fn q6_k_half(p: *const u8) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees 96 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let nibble = _mm512_set1_epi8(0x0F);
        let bits45 = _mm512_set1_epi8(0x30);
        let low = _mm512_loadu_si512(p.cast());
        let high = broadcast_32(p.add(64));
        // The first 32 bytes take bit pairs 0 and 4, the last 32 pairs 2 and 6.
        let w_lo = _mm512_or_si512(
            _mm512_and_si512(low, nibble),
            _mm512_and_si512(_mm512_sllv_epi16(high, shifts(4, 2)), bits45),
        );
        let w_hi = _mm512_or_si512(
            _mm512_and_si512(_mm512_srli_epi16(low, 4), nibble),
            _mm512_and_si512(_mm512_srlv_epi16(high, shifts(0, 2)), bits45),
        );
        (w_lo, w_hi)
    }
}

/// The values `low | high << 2` (ggml's + 4) of half `h` of the GGUF Q3_K block at `block`,
/// as two zmm of 64 consecutive elements.
#[inline(always)]
pub(super) unsafe fn q3_k_half(block: *const u8, h: usize) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees a 110-byte block; AVX-512 BW is enabled in every caller.
    unsafe {
        let bit2 = _mm512_set1_epi8(4);
        let hmask = broadcast_32(block);
        let (low_a, low_b) = two_bit_fields(block.add(32 + 32 * h));
        let t0 = 4 * h as i16;
        // Bit 4h + t of hmask[l], moved to bit 2.
        let high_a = _mm512_srlv_epi16(hmask, shifts(t0, t0 + 1));
        let high_b = _mm512_srlv_epi16(hmask, shifts(t0 + 2, t0 + 3));
        (
            _mm512_or_si512(low_a, _mm512_and_si512(_mm512_slli_epi16(high_a, 2), bit2)),
            _mm512_or_si512(low_b, _mm512_and_si512(_mm512_slli_epi16(high_b, 2), bit2)),
        )
    }
}

/// The 2-bit fields of one GGUF half super-block (32 bytes at `p`, element 32t + l at bits 2t
/// of byte l) as two zmm of 64 consecutive elements.
#[inline(always)]
pub(super) unsafe fn two_bit_fields(p: *const u8) -> (__m512i, __m512i) {
    // SAFETY: the caller guarantees 32 readable bytes; AVX-512 BW is enabled in every caller.
    unsafe {
        let bytes = broadcast_32(p);
        let three = _mm512_set1_epi8(3);
        (
            _mm512_and_si512(_mm512_srlv_epi16(bytes, shifts(0, 2)), three),
            _mm512_and_si512(_mm512_srlv_epi16(bytes, shifts(4, 6)), three),
        )
    }
}

/// Accumulates two 64-element products of half `h` with per-16-group lane scales.
#[inline(always)]
fn accumulate_half(acc: __m512, w: (__m512i, __m512i), x: (__m512i, __m512i), scale: __m512, h: usize) -> __m512 {
    // SAFETY: VNNI is enabled in every caller.
    unsafe {
        let zero = _mm512_setzero_si512();
        let dot_a = _mm512_dpbusd_epi32(zero, w.0, x.0);
        let dot_b = _mm512_dpbusd_epi32(zero, w.1, x.1);
        let acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_a), _mm512_permutexvar_ps(idx(&REPEAT4[2 * h]), scale), acc);
        _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_b), _mm512_permutexvar_ps(idx(&REPEAT4[2 * h + 1]), scale), acc)
    }
}

/// Q2_K row on GGUF blocks (natural activations): scales[16] (scale | min << 4), qs[64], d,
/// dmin; the mins go through `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q2_k_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    for sb in 0..w.kp / 256 {
        // SAFETY: per row, one 84-byte block; 256 activations, 8 d and 16 dsum values.
        unsafe {
            let dx = group_dx(d, sb);
            let sums = _mm512_loadu_ps(dsum.add(16 * sb));
            let x = [load_x128(q.add(256 * sb)), load_x128(q.add(256 * sb + 128))];
            for i in 0..R {
                let block = rows[i].add(84 * sb);
                prefetch(block.wrapping_add(PREFETCH), R * w.row_stride);
                let packed = _mm512_cvtepu8_epi32(_mm_loadu_si128(block.cast()));
                let sc = _mm512_cvtepi32_ps(_mm512_and_si512(packed, _mm512_set1_epi32(0x0F)));
                let mins = _mm512_cvtepi32_ps(_mm512_srli_epi32(packed, 4));
                let scale = _mm512_mul_ps(_mm512_mul_ps(sc, f16_splat(block.add(80))), dx);
                offset[i] = _mm512_fmadd_ps(_mm512_mul_ps(mins, sums), f16_splat(block.add(82)), offset[i]);
                for (h, &xh) in x.iter().enumerate() {
                    let fields = two_bit_fields(block.add(16 + 32 * h));
                    acc[i] = accumulate_half(acc[i], fields, xh, scale, h);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - _mm512_reduce_add_ps(offset[i]))
}

/// Q3_K row on GGUF blocks (natural activations): hmask[32], qs[64], scales[12], d; the
/// value `v = low | high << 2` is ggml's + 4, the `-4 s` offset goes through `d_x Σ q`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q3_k_row<const R: usize>(w: &QuantRows, rows: [*const u8; R], acts: &QuantizedActs, r: usize) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    for sb in 0..w.kp / 256 {
        // SAFETY: per row, one 110-byte block; 256 activations, 8 d and 16 dsum values.
        unsafe {
            let dx = group_dx(d, sb);
            let sums = _mm512_loadu_ps(dsum.add(16 * sb));
            let x = [load_x128(q.add(256 * sb)), load_x128(q.add(256 * sb + 128))];
            for i in 0..R {
                let block = rows[i].add(110 * sb);
                prefetch(block.wrapping_add(PREFETCH), R * w.row_stride);
                let scales = q3_k_scales(std::slice::from_raw_parts(block.add(96), 12));
                let biased = _mm512_cvtepu8_epi32(_mm_loadu_si128(scales.as_ptr().cast()));
                let sc = _mm512_cvtepi32_ps(_mm512_sub_epi32(biased, _mm512_set1_epi32(32)));
                let group_scale = _mm512_mul_ps(sc, f16_splat(block.add(108)));
                offset[i] = _mm512_fmadd_ps(group_scale, sums, offset[i]);
                let scale = _mm512_mul_ps(group_scale, dx);
                for (h, &xh) in x.iter().enumerate() {
                    acc[i] = accumulate_half(acc[i], q3_k_half(block, h), xh, scale, h);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 4.0 * _mm512_reduce_add_ps(offset[i]))
}
