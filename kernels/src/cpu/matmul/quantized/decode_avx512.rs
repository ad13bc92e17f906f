//! AVX-512 decoding of packed weight rows straight into the VNNI GEMM's panel layout
//! (`[k/4][32 columns][4]` unsigned bytes): 128 natural-order values of a row at a time in
//! registers ([`decode128`], the same values as [`QuantRows::decode_block`]), then a 16 × 16
//! transpose of 4-byte groups so that each k quad of 16 columns is one 64-byte store.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::blocks::{IQ4_NL_VALUES, f16_at};
use super::gemv_avx512::{add_fifth_bit, nibbles};
use super::gemv_avx512_k::{q3_k_half, q6_k_half, two_bit_fields};
use super::gemv_avx512_lattice as lattice;
use super::lattice_formats::{IQ1_M, IQ1_S, IQ2_S, IQ2_XS, IQ2_XXS, IQ3_S, IQ3_XXS};
use super::layout::{QuantLayout, area_bytes};
use crate::DType;

/// Output columns per panel.
const NR: usize = 32;

/// `[a.L0, b.L0, a.L1, b.L1]` and `[a.L2, b.L2, a.L3, b.L3]` (L = 128-bit lanes).
#[inline(always)]
fn interleave_lanes(a: __m512i, b: __m512i) -> [__m512i; 2] {
    // SAFETY: AVX-512 F is enabled in every caller.
    unsafe {
        let first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
        let second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
        [_mm512_permutex2var_epi64(a, first, b), _mm512_permutex2var_epi64(a, second, b)]
    }
}

/// Elements `128g..128g + 128` of the packed row at `row`, natural order, as unsigned values
/// (the `v` of [`super::blocks`]).
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `row` must start a packed row of `w` and `g < kp / 128`.
#[inline(always)]
pub(crate) unsafe fn decode128(w: &QuantRows, row: *const u8, g: usize) -> [__m512i; 2] {
    // SAFETY: the offsets stay inside the row's areas for group g (see `super::layout`).
    unsafe {
        match (w.layout, w.dtype) {
            (QuantLayout::SplitNibble32, dtype) => {
                let (mut lo, mut hi) = nibbles(row.add(64 * g));
                if matches!(dtype, DType::Q5_0 | DType::Q5_1) {
                    lo = add_fifth_bit(lo, row.add(w.high_offset + 16 * g));
                    hi = add_fifth_bit(hi, row.add(w.high_offset + 16 * g + 8));
                }
                if dtype == DType::IQ4_NL {
                    let mut table = [0u8; 16];
                    for (t, &value) in table.iter_mut().zip(&IQ4_NL_VALUES) {
                        *t = (value as u8) ^ 0x80;
                    }
                    let table = _mm512_broadcast_i32x4(_mm_loadu_si128(table.as_ptr().cast()));
                    lo = _mm512_shuffle_epi8(table, lo);
                    hi = _mm512_shuffle_epi8(table, hi);
                }
                interleave_lanes(lo, hi)
            }
            (QuantLayout::SplitQ8_0, _) => {
                [_mm512_loadu_si512(row.add(128 * g).cast()), _mm512_loadu_si512(row.add(128 * g + 64).cast())]
            }
            (QuantLayout::SplitK4, dtype) => {
                let (sb, half) = (g / 2, g % 2);
                let (mut lo, mut hi) = nibbles(row.add(128 * sb + 64 * half));
                if dtype == DType::Q5_K {
                    let masks = row.add(w.high_offset + 32 * sb + 16 * half);
                    lo = add_fifth_bit(lo, masks);
                    hi = add_fifth_bit(hi, masks.add(8));
                }
                interleave_lanes(lo, hi)
            }
            (QuantLayout::SplitQ6K, _) => {
                let (lo, hi) = q6_k_half(row.add(192 * (g / 2) + 96 * (g % 2)));
                // Lane L of the low unpack is 16-group 2L, of the high unpack 16-group 2L + 1.
                interleave_lanes(_mm512_unpacklo_epi64(lo, hi), _mm512_unpackhi_epi64(lo, hi))
            }
            (QuantLayout::Gguf, DType::Q2_K) => {
                let (a, b) = two_bit_fields(row.add(84 * (g / 2) + 16 + 32 * (g % 2)));
                [a, b]
            }
            (QuantLayout::Gguf, DType::Q3_K) => {
                let (a, b) = q3_k_half(row.add(110 * (g / 2)), g % 2);
                [a, b]
            }
            (QuantLayout::Gguf, DType::MXFP4 | DType::IQ4_XS) => super::gemv_avx512_table::decode128(w, row, g),
            (QuantLayout::Gguf, DType::IQ2_XXS) => lattice::decode128::<IQ2_XXS>(w, row, g),
            (QuantLayout::Gguf, DType::IQ2_XS) => lattice::decode128::<IQ2_XS>(w, row, g),
            (QuantLayout::Gguf, DType::IQ2_S) => lattice::decode128::<IQ2_S>(w, row, g),
            (QuantLayout::Gguf, DType::IQ3_XXS) => lattice::decode128::<IQ3_XXS>(w, row, g),
            (QuantLayout::Gguf, DType::IQ3_S) => lattice::decode128::<IQ3_S>(w, row, g),
            (QuantLayout::Gguf, DType::NVFP4 | DType::TQ2_0 | DType::TQ1_0) => {
                super::gemv_avx512_fp4_ternary::decode128(w, row, g)
            }
            (QuantLayout::Gguf, DType::IQ1_S) => lattice::decode128::<IQ1_S>(w, row, g),
            (QuantLayout::Gguf, DType::IQ1_M) => lattice::decode128::<IQ1_M>(w, row, g),
            (layout, dtype) => unreachable!("no AVX-512 decoder for {dtype} in {layout:?}"),
        }
    }
}

/// Whether [`decode128`] decodes `dtype` (in its packed layout).
pub(crate) fn has_decoder(dtype: DType) -> bool {
    match QuantLayout::for_dtype(dtype) {
        QuantLayout::Gguf => {
            matches!(
                dtype,
                DType::Q2_K | DType::Q3_K | DType::MXFP4 | DType::IQ4_XS | DType::NVFP4 | DType::TQ2_0 | DType::TQ1_0
            ) || crate::quant::iq_lattice::is_lattice(dtype)
        }
        _ => true,
    }
}

/// Prefetches every byte of blocks `b0..b1` of a packed row (all areas of split layouts).
#[inline(always)]
pub(super) fn prefetch_blocks(w: &QuantRows, row: &[u8], b0: usize, b1: usize) {
    let b1 = b1.min(w.blocks_per_row());
    let areas: [(usize, usize); 4] = if w.layout == QuantLayout::Gguf {
        [(0, w.dtype.block_bytes()), (0, 0), (0, 0), (0, 0)]
    } else {
        let sizes = area_bytes(w.dtype);
        [(0, sizes[0]), (w.high_offset, sizes[1]), (w.scale_offset, sizes[2]), (w.min_offset, sizes[3])]
    };
    for (offset, size) in areas {
        for at in (offset + b0 * size..offset + b1 * size).step_by(64) {
            // SAFETY: prefetching an address inside the row; SSE is baseline on x86_64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row[at..].as_ptr().cast()) };
        }
    }
}

/// The scale and offset of each `group`-element group (16 or 32) of blocks `b0..b1` of a
/// packed row, into `s` and `m` from index 0. The 32-element split formats widen 16 f16 scales
/// at a time; the others go block by block through [`QuantRows::decode_scales`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn decode_scales_run(
    w: &QuantRows,
    row: &[u8],
    b0: usize,
    b1: usize,
    group: usize,
    s: &mut [f32],
    m: &mut [f32],
) {
    let bl = w.dtype.block_len();
    if bl == 32 && group == 32 && w.layout != QuantLayout::Gguf {
        let fixed = match w.dtype {
            DType::Q5_0 => -16.0,
            DType::Q8_0 | DType::IQ4_NL => -128.0,
            _ => -8.0,
        };
        let has_min = matches!(w.dtype, DType::Q4_1 | DType::Q5_1);
        for first in (b0..b1).step_by(16) {
            let count = 16.min(b1 - first);
            let mask: __mmask16 = if count == 16 { 0xFFFF } else { (1 << count) - 1 };
            let i = first - b0;
            // SAFETY: blocks first..first + count of the row's f16 scale (and min) areas; the
            // outputs hold b1 - b0 values.
            unsafe {
                let load = |offset: usize| {
                    let p = row[offset + 2 * first..].as_ptr();
                    _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p.cast()))
                };
                let d = load(w.scale_offset);
                let offset = if has_min { load(w.min_offset) } else { _mm512_mul_ps(d, _mm512_set1_ps(fixed)) };
                _mm512_mask_storeu_ps(s[i..].as_mut_ptr(), mask, d);
                _mm512_mask_storeu_ps(m[i..].as_mut_ptr(), mask, offset);
            }
        }
        return;
    }
    if w.layout == QuantLayout::SplitQ6K && group == 16 {
        for b in b0..b1 {
            let header = &row[w.scale_offset + 18 * b..w.scale_offset + 18 * b + 18];
            let d = f16_at(header, 16);
            let i = 16 * (b - b0);
            // SAFETY: 16 signed scale bytes; the outputs hold 16 (b1 - b0) values.
            unsafe {
                let sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(header.as_ptr().cast())));
                let scale = _mm512_mul_ps(sc, _mm512_set1_ps(d));
                _mm512_storeu_ps(s[i..i + 16].as_mut_ptr(), scale);
                _mm512_storeu_ps(m[i..i + 16].as_mut_ptr(), _mm512_mul_ps(scale, _mm512_set1_ps(-32.0)));
            }
        }
        return;
    }
    let (mut bs, mut bm) = ([0f32; 16], [0f32; 16]);
    for b in b0..b1 {
        w.decode_scales(row, b, &mut bs, &mut bm);
        for j in 0..bl / group {
            let at = (b - b0) * bl / group + j;
            s[at] = bs[j * group / 16];
            m[at] = bm[j * group / 16];
        }
    }
}

/// Transposes a 16 × 16 matrix of 32-bit elements held one row per register.
#[inline(always)]
pub(super) fn transpose16(r: [__m512i; 16]) -> [__m512i; 16] {
    // SAFETY: AVX-512 F is enabled in every caller.
    unsafe {
        let t: [__m512i; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[2 * (i / 2)], r[2 * (i / 2) + 1]);
            if i % 2 == 0 { _mm512_unpacklo_epi32(a, b) } else { _mm512_unpackhi_epi32(a, b) }
        });
        // Within each 128-bit lane, rows 4q..4q+4 are now transposed 4 × 4 blocks.
        let u: [__m512i; 16] = std::array::from_fn(|i| {
            let (base, which) = (4 * (i / 4), i % 4);
            let (a, b) = (t[base + which / 2], t[base + 2 + which / 2]);
            if which % 2 == 0 { _mm512_unpacklo_epi64(a, b) } else { _mm512_unpackhi_epi64(a, b) }
        });
        let v: [__m512i; 16] = std::array::from_fn(|i| {
            let (base, which) = (8 * (i / 8), i % 8);
            let (a, b) = (u[base + which % 4], u[base + 4 + which % 4]);
            if which < 4 { _mm512_shuffle_i32x4::<0x88>(a, b) } else { _mm512_shuffle_i32x4::<0xdd>(a, b) }
        });
        std::array::from_fn(|i| {
            let (a, b) = (v[i % 8], v[8 + i % 8]);
            if i < 8 { _mm512_shuffle_i32x4::<0x88>(a, b) } else { _mm512_shuffle_i32x4::<0xdd>(a, b) }
        })
    }
}

/// Writes the values of rows `32p..32p + 32` (zero past `n`), elements `k0..k0 + kc` rounded
/// up to 128 (`k0` a multiple of 128), into `out` laid out `[k/4][32][4]`.
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `out` must hold `kc.div_ceil(128) · 128 · 32` bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn decode_panel_values(w: &QuantRows, p: usize, k0: usize, kc: usize, out: &mut [u8]) {
    let groups = kc.div_ceil(128);
    assert!(out.len() >= groups * 128 * NR && k0.is_multiple_of(128));
    let mut buffer = [[_mm512_setzero_si512(); 2]; 16];
    for half in 0..2 {
        for gi in 0..groups {
            for (r, values) in buffer.iter_mut().enumerate() {
                let j = p * NR + 16 * half + r;
                *values = if j < w.n {
                    // SAFETY: row j of w, group k0/128 + gi < kp/128.
                    unsafe { decode128(w, w.row(j).as_ptr(), k0 / 128 + gi) }
                } else {
                    [_mm512_setzero_si512(); 2]
                };
            }
            for h in 0..2 {
                let quads = transpose16(buffer.map(|halves| halves[h]));
                for (q, quad) in quads.iter().enumerate() {
                    let at = ((128 * gi + 64 * h) / 4 + q) * 4 * NR + 64 * half;
                    // SAFETY: `at + 64 <= groups · 128 · 32`, checked above.
                    unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(at).cast(), *quad) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::matmul::features::SimdLevel;

    #[test]
    fn transpose16_transposes() {
        if !SimdLevel::Avx512Vnni.is_supported() {
            return;
        }
        let input: [[u32; 16]; 16] = std::array::from_fn(|i| std::array::from_fn(|j| (100 * i + j) as u32));
        // SAFETY: AVX-512 checked above; 16 u32 per row.
        let output = unsafe {
            let rows = std::array::from_fn(|i| _mm512_loadu_si512(input[i].as_ptr().cast()));
            let t = transpose16(rows);
            let mut out = [[0u32; 16]; 16];
            for (o, v) in out.iter_mut().zip(t) {
                _mm512_storeu_si512(o.as_mut_ptr().cast(), v);
            }
            out
        };
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(output[i][j], input[j][i], "({i}, {j})");
            }
        }
    }
}
