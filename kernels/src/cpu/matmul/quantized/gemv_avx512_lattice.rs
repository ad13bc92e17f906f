//! AVX-512 VNNI kernels for the signed lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
//! IQ3_S), kept in GGUF block order. Each 8-group is a code-book entry (eight magnitudes) and a
//! sign byte ([`crate::quant::iq_lattice`]). Per two sub-blocks (64 elements) the entry indices
//! are widened into one vector and the entries fetched with one gather (`vpgatherdq` of 8-byte
//! entries, or `vpgatherdd` of IQ3's 4-byte ones; the code books are 1–8 KiB and stay in L1);
//! the eight sign bytes are the byte mask under which `vpsubb` negates. Values enter the
//! integer form as `level + 128` with `m = −128 · s`, one scale per 16 elements. The format is
//! a const parameter, so no per-block dispatch remains.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::gemv_avx512::{PREFETCH, REPEAT4_HI, REPEAT4_LO, idx, load_x128, prefetch, rows_kernel};
use crate::DType;
use crate::quant::iq_grids::{IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID};
use crate::quant::iq_lattice::sub_block_scales;

/// The formats, as the const parameter of the kernels.
pub(super) const IQ2_XXS: u8 = 0;
pub(super) const IQ2_XS: u8 = 1;
pub(super) const IQ2_S: u8 = 2;
pub(super) const IQ3_XXS: u8 = 3;
pub(super) const IQ3_S: u8 = 4;

/// The kernel parameter of a signed lattice `dtype`.
pub(super) fn format_of(dtype: DType) -> Option<u8> {
    Some(match dtype {
        DType::IQ2_XXS => IQ2_XXS,
        DType::IQ2_XS => IQ2_XS,
        DType::IQ2_S => IQ2_S,
        DType::IQ3_XXS => IQ3_XXS,
        DType::IQ3_S => IQ3_S,
        _ => return None,
    })
}

const fn dtype_of(f: u8) -> DType {
    match f {
        IQ2_XXS => DType::IQ2_XXS,
        IQ2_XS => DType::IQ2_XS,
        IQ2_S => DType::IQ2_S,
        IQ3_XXS => DType::IQ3_XXS,
        _ => DType::IQ3_S,
    }
}

/// ggml's `ksigns_iq2xs`: 7 sign bits plus an eighth that makes the count of negatives even.
static KSIGNS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u32 | ((i as u32).count_ones() & 1) << 7) as u8;
        i += 1;
    }
    t
};

/// The sign bytes of the four 7-bit sign indices of `aux0` (groups 0..4) and `aux1` (4..8).
#[inline(always)]
fn ksigns8(aux0: u32, aux1: u32) -> u64 {
    (0..4).fold(0u64, |m, l| {
        m | (KSIGNS[((aux0 >> (7 * l)) & 127) as usize] as u64) << (8 * l)
            | (KSIGNS[((aux1 >> (7 * l)) & 127) as usize] as u64) << (32 + 8 * l)
    })
}

/// `n` bytes at `p` as a little-endian integer.
#[inline(always)]
unsafe fn u64_at(p: *const u8) -> u64 {
    // SAFETY: the caller guarantees 8 readable bytes.
    unsafe { p.cast::<u64>().read_unaligned() }
}

/// The eight entries' magnitudes and sign mask of sub-blocks `ib` and `ib + 1` (`ib` even).
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `block` must point at a whole block of format `F`.
#[inline(always)]
unsafe fn points<const F: u8>(block: *const u8, ib: usize) -> (__m512i, u64) {
    // SAFETY: every read below lies inside the block (ib <= 6; offsets per ggml-common.h).
    unsafe {
        match F {
            // Per sub-block 8 bytes at 2 + 8ib: 4 index bytes, then the u32 of signs and scale.
            IQ2_XXS => {
                let (q0, q1) = (u64_at(block.add(2 + 8 * ib)), u64_at(block.add(10 + 8 * ib)));
                let index = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(((q0 & 0xffff_ffff) | (q1 << 32)) as i64));
                let mags = _mm512_i32gather_epi64::<8>(index, IQ2XXS_GRID.as_ptr().cast());
                (mags, ksigns8((q0 >> 32) as u32, (q1 >> 32) as u32))
            }
            // One u16 per group: 9-bit index, 7-bit sign index.
            IQ2_XS => {
                let q = _mm256_cvtepu16_epi32(_mm_loadu_si128(block.add(2 + 8 * ib).cast()));
                let index = _mm256_and_si256(q, _mm256_set1_epi32(511));
                let mags = _mm512_i32gather_epi64::<8>(index, IQ2XS_GRID.as_ptr().cast());
                let signs = _mm256_i32gather_epi32::<1>(KSIGNS.as_ptr().cast(), _mm256_srli_epi32(q, 9));
                let bytes = _mm256_cvtepi32_epi8(_mm256_and_si256(signs, _mm256_set1_epi32(0xff)));
                (mags, _mm_cvtsi128_si64(bytes) as u64)
            }
            // Index bytes at 2 + 4ib, 2 high bits per group in qh[ib] (at 66), sign bytes at 34.
            IQ2_S => {
                let low = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(u64_at(block.add(2 + 4 * ib)) as i64));
                let (qh0, qh1) = (*block.add(66 + ib) as i32, *block.add(67 + ib) as i32);
                let qh = _mm256_setr_epi32(qh0, qh0, qh0, qh0, qh1, qh1, qh1, qh1);
                let high = _mm256_srlv_epi32(qh, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
                let high = _mm256_slli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(3)), 8);
                let mags = _mm512_i32gather_epi64::<8>(_mm256_or_si256(low, high), IQ2S_GRID.as_ptr().cast());
                (mags, u64_at(block.add(34 + 4 * ib)))
            }
            // Two 4-magnitude entries per group (16 index bytes at 2 + 8ib); signs as IQ2_XXS in
            // the u32s at 66 + 4ib.
            IQ3_XXS => {
                let index = _mm512_cvtepu8_epi32(_mm_loadu_si128(block.add(2 + 8 * ib).cast()));
                let mags = _mm512_i32gather_epi32::<4>(index, IQ3XXS_GRID.as_ptr().cast());
                let aux = u64_at(block.add(66 + 4 * ib));
                (mags, ksigns8(aux as u32, (aux >> 32) as u32))
            }
            // 16 index bytes at 2 + 8ib with a ninth bit each in qh[ib] (at 66); signs at 74.
            _ => {
                let low = _mm512_cvtepu8_epi32(_mm_loadu_si128(block.add(2 + 8 * ib).cast()));
                let (qh0, qh1) = (*block.add(66 + ib) as i32, *block.add(67 + ib) as i32);
                let qh = _mm512_inserti32x8::<1>(_mm512_set1_epi32(qh0), _mm256_set1_epi32(qh1));
                let shifts = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
                let high = _mm512_and_si512(_mm512_srlv_epi32(qh, shifts), _mm512_set1_epi32(1));
                let index = _mm512_or_si512(low, _mm512_slli_epi32::<8>(high));
                (_mm512_i32gather_epi32::<4>(index, IQ3S_GRID.as_ptr().cast()), u64_at(block.add(74 + 4 * ib)))
            }
        }
    }
}

/// The 64 values (`level + 128`) of sub-blocks `ib` and `ib + 1` of `block`.
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `block` must point at a whole block of format `F`.
#[inline(always)]
unsafe fn two_sub_blocks<const F: u8>(block: *const u8, ib: usize) -> __m512i {
    // SAFETY: forwarded from the caller.
    unsafe {
        let (mags, negate) = points::<F>(block, ib);
        let signed = _mm512_mask_sub_epi8(mags, negate, _mm512_setzero_si512(), mags);
        _mm512_xor_si512(signed, _mm512_set1_epi8(-128))
    }
}

/// Elements `128g..128g + 128` of a row as `[__m512i; 2]` (the GEMM's decoder).
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `row` must start a packed row of `w` (format `F`) and
/// `g < kp / 128`.
#[inline(always)]
pub(super) unsafe fn decode128<const F: u8>(w: &QuantRows, row: *const u8, g: usize) -> [__m512i; 2] {
    // SAFETY: block g / 2 lies inside the row (caller's contract).
    unsafe {
        let block = row.add(w.dtype.block_bytes() * (g / 2));
        let ib = 4 * (g % 2);
        [two_sub_blocks::<F>(block, ib), two_sub_blocks::<F>(block, ib + 2)]
    }
}

rows_kernel!(lattice_rows, lattice_row, const F: u8);

/// `R` rows against activation row `r` (natural order): 128 elements per step, per-16 scales
/// spread over the `vpdpbusd` lanes, the offset `−128 · s · d_x Σq` summed per 16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn lattice_row<const R: usize, const F: u8>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let (dtype, bb) = (dtype_of(F), dtype_of(F).block_bytes());
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
                    let dot_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks::<F>(at, ib), x.0);
                    let dot_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks::<F>(at, ib + 2), x.1);
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
