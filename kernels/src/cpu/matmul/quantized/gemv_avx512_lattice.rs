//! AVX-512 VNNI kernels for the lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
//! IQ1_M), kept in GGUF block order. Each 8-group of IQ2/IQ3 is a code-book entry (eight
//! magnitudes) and a sign byte ([`crate::quant::iq_lattice`]). Per two sub-blocks (64 elements)
//! the entry indices are widened into one vector and the IQ2 entries fetched with one
//! `vpgatherdq` (the code books are 1–8 KiB and stay in L1); IQ3's sixteen 4-byte entries are
//! loaded one by one ([`entries16`]). The eight sign bytes are the byte mask under which `vpsubb`
//! negates. IQ1's 8-groups are a ternary point `g` and a shift `±1`, level `8g ± 1`: the points
//! are gathered from a copy of the code book that holds `8g + 127` ([`super::lattice_formats::IQ1_GRID_BIASED`]) and the
//! groups with a positive shift get 2 more. Values enter the integer form as `level + 128` with
//! `m = −128 · s`, one scale per 16 elements. The format is a const parameter, so no per-block
//! dispatch remains.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::gemv_avx512::{PREFETCH, idx, load_x128, prefetch};
use super::lattice_formats::{IQ1_GRID_BIASED, IQ1_M, IQ1_S, IQ2_S, IQ2_XS, IQ2_XXS, IQ3_XXS, dtype_of};
use super::rows_kernel::multi_rows_kernel;
use crate::quant::iq_grids::{IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID};
use crate::quant::iq_lattice::KSIGNS;

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

/// Sixteen 4-byte code-book entries in one vector, from scalar loads: on Zen 5 these measured as
/// fast as two 8-lane `vpgatherdd` and faster than one 16-lane one (IQ3_S GEMV 9.2 → 6.6 ms),
/// while 8-byte entries gather faster than they load (IQ2_XXS 3.8 vs 4.8 ms).
#[inline(always)]
fn entries16(grid: &[u32], index: [usize; 16]) -> __m512i {
    let e = index.map(|i| grid[i] as i32);
    // SAFETY: AVX-512 F is enabled in every caller.
    unsafe {
        _mm512_setr_epi32(
            e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15],
        )
    }
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
                let (a, b) = (u64_at(block.add(2 + 8 * ib)), u64_at(block.add(10 + 8 * ib)));
                let q = _mm256_cvtepu16_epi32(_mm_set_epi64x(b as i64, a as i64));
                let index = _mm256_and_si256(q, _mm256_set1_epi32(511));
                let mags = _mm512_i32gather_epi64::<8>(index, IQ2XS_GRID.as_ptr().cast());
                let sign = |v: u64, l: u32| KSIGNS[((v >> (16 * l + 9)) & 127) as usize] as u64;
                (mags, (0..4).fold(0u64, |m, l| m | sign(a, l) << (8 * l) | sign(b, l) << (32 + 8 * l)))
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
                let index = std::array::from_fn(|k| *block.add(2 + 8 * ib + k) as usize);
                let aux = u64_at(block.add(66 + 4 * ib));
                (entries16(&IQ3XXS_GRID, index), ksigns8(aux as u32, (aux >> 32) as u32))
            }
            // 16 index bytes at 2 + 8ib with a ninth bit each in qh[ib] (at 66); signs at 74.
            _ => {
                let qh = [*block.add(66 + ib) as usize, *block.add(67 + ib) as usize];
                let index =
                    std::array::from_fn(|k| *block.add(2 + 8 * ib + k) as usize | ((qh[k / 8] >> (k % 8)) & 1) << 8);
                (entries16(&IQ3S_GRID, index), u64_at(block.add(74 + 4 * ib)))
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
    if F == IQ1_S || F == IQ1_M {
        // SAFETY: forwarded from the caller.
        return unsafe { iq1_two_sub_blocks::<F>(block, ib) };
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        let (mags, negate) = points::<F>(block, ib);
        let signed = _mm512_mask_sub_epi8(mags, negate, _mm512_setzero_si512(), mags);
        _mm512_xor_si512(signed, _mm512_set1_epi8(-128))
    }
}

/// The 64 values (`level + 128`) of IQ1 sub-blocks `ib` and `ib + 1` (`ib` even). Per group an
/// 11-bit index (a `qs` byte and 3 bits of `qh`) and a shift sign: IQ1_S keeps one u16 `qh` per
/// sub-block (index bits 3l..3l + 3, sign in bit 15), IQ1_M one nibble per group (index bits
/// 0..3, sign in bit 3).
///
/// # Safety
/// AVX-512 F/BW/VL must be present; `block` must point at a whole block of format `F`.
#[inline(always)]
unsafe fn iq1_two_sub_blocks<const F: u8>(block: *const u8, ib: usize) -> __m512i {
    // SAFETY: every read lies inside the block (IQ1_S: qs at 2, qh at 34, 50 bytes; IQ1_M: qs at
    // 0, qh at 32, 56 bytes; ib <= 6).
    unsafe {
        let (qs_at, qh_at) = if F == IQ1_S { (2 + 4 * ib, 34 + 2 * ib) } else { (4 * ib, 32 + 2 * ib) };
        let low = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(u64_at(block.add(qs_at)) as i64));
        let qh = _mm256_set1_epi32(block.add(qh_at).cast::<i32>().read_unaligned());
        let (index_shift, sign_shift, sign_bit) = if F == IQ1_S {
            (_mm256_setr_epi32(0, 3, 6, 9, 16, 19, 22, 25), _mm256_setr_epi32(15, 15, 15, 15, 31, 31, 31, 31), 1)
        } else {
            let nibbles = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
            (nibbles, nibbles, 8)
        };
        let high = _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(qh, index_shift), _mm256_set1_epi32(7)), 8);
        let points = _mm512_i32gather_epi64::<8>(_mm256_or_si256(low, high), IQ1_GRID_BIASED.as_ptr().cast());
        let negative = _mm256_test_epi32_mask(_mm256_srlv_epi32(qh, sign_shift), _mm256_set1_epi32(sign_bit));
        // Bytes stay below 138, so adding 2 to each byte as one u64 add carries nowhere.
        _mm512_mask_add_epi64(points, !negative, points, _mm512_set1_epi8(2))
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

/// The 16 per-16 scales of a block of format `F`, as ggml computes them: `d · (0.5 + ls) / 4`
/// (IQ2), `d · (0.5 + ls) / 2` (IQ3_XXS), `d · (2n + 1)` (IQ3_S), `d · (2n + 1) / 8` (IQ1, whose
/// levels are 8 times ggml's); the power-of-two factor is exact, so `(code + 0.5) · (d / 4)` is
/// the same float as ggml's `d · (0.5 + ls) · 0.25`.
///
/// # Safety
/// AVX-512 F and F16C must be present; `block` must point at a whole block of format `F`.
#[inline(always)]
unsafe fn block_scales<const F: u8>(block: *const u8) -> __m512 {
    if F == IQ1_S || F == IQ1_M {
        // SAFETY: forwarded from the caller.
        return unsafe { iq1_block_scales::<F>(block) };
    }
    // SAFETY: every read lies inside the block (offsets per ggml-common.h).
    unsafe {
        let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(block.cast::<u16>().read_unaligned() as i32)));
        let codes: [f32; 16] = std::array::from_fn(|g| {
            let ib = g / 2;
            match F {
                IQ2_XXS => (*block.add(9 + 8 * ib) >> 4) as f32,
                IQ2_XS | IQ2_S => {
                    let at = if F == IQ2_XS { 66 } else { 74 };
                    ((*block.add(at + ib) >> (4 * (g % 2))) & 15) as f32
                }
                IQ3_XXS => (*block.add(69 + 4 * ib) >> 4) as f32,
                _ => ((*block.add(106 + ib / 2) >> (4 * (ib % 2))) & 15) as f32,
            }
        });
        let codes = _mm512_loadu_ps(codes.as_ptr());
        match F {
            IQ2_XXS | IQ2_XS | IQ2_S => {
                _mm512_mul_ps(_mm512_add_ps(codes, _mm512_set1_ps(0.5)), _mm512_set1_ps(d * 0.25))
            }
            IQ3_XXS => _mm512_mul_ps(_mm512_add_ps(codes, _mm512_set1_ps(0.5)), _mm512_set1_ps(d * 0.5)),
            _ => _mm512_mul_ps(_mm512_fmadd_ps(codes, _mm512_set1_ps(2.0), _mm512_set1_ps(1.0)), _mm512_set1_ps(d)),
        }
    }
}

/// [`block_scales`] of IQ1: IQ1_S has a 3-bit code per 32 (bits 12..15 of `qh[ib]`, f16 `d` at
/// 0); IQ1_M one per 16 (bits `3(j % 4)` of the u16 `scales[j / 4]` at 48), its f16 `d` the top
/// nibbles of those four u16.
///
/// # Safety
/// AVX-512 F and F16C must be present; `block` must point at a whole block of format `F`.
#[inline(always)]
unsafe fn iq1_block_scales<const F: u8>(block: *const u8) -> __m512 {
    // SAFETY: every read lies inside the block (IQ1_S: d at 0, qh at 34..50; IQ1_M: scales at
    // 48..56).
    unsafe {
        let u16_at = |at: usize| block.add(at).cast::<u16>().read_unaligned();
        let (bits, codes): (u16, [i32; 16]) = if F == IQ1_S {
            (u16_at(0), std::array::from_fn(|j| ((u16_at(34 + 2 * (j / 2)) >> 12) & 7) as i32))
        } else {
            let sc = [u16_at(48), u16_at(50), u16_at(52), u16_at(54)];
            let bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
            (bits, std::array::from_fn(|j| ((sc[j / 4] >> (3 * (j % 4))) & 7) as i32))
        };
        let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)));
        let codes = _mm512_cvtepi32_ps(_mm512_loadu_si512(codes.as_ptr().cast()));
        _mm512_mul_ps(_mm512_fmadd_ps(codes, _mm512_set1_ps(2.0), _mm512_set1_ps(1.0)), _mm512_set1_ps(d * 0.125))
    }
}

/// Lane indices spreading per-16 scales over the `vpdpbusd` lanes of 16-groups `4q..4q + 4`.
const QUARTER_LANES: [[i32; 16]; 4] = {
    let mut t = [[0; 16]; 4];
    let mut q = 0;
    while q < 4 {
        let mut lane = 0;
        while lane < 16 {
            t[q][lane] = (4 * q + lane / 4) as i32;
            lane += 1;
        }
        q += 1;
    }
    t
};

/// Lane indices repeating each of 8 per-32 values twice (per-32 activation scales to per-16).
const REPEAT2: [i32; 16] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];

multi_rows_kernel!(lattice_rows, lattice_row, const F: u8);

/// `R` rows against activation row `r` (natural order): per block, the 16 scales times the
/// activation scales in one vector, spread over the `vpdpbusd` lanes of each 64-element dot;
/// the offset `−128 · s · d_x Σq` accumulates per lane and is reduced once.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn lattice_row<const R: usize, const F: u8>(
    w: &QuantRows,
    rows: [*const u8; R],
    acts: &QuantizedActs,
    r: usize,
) -> [f32; R] {
    let (q, d, dsum) = (acts.row_q(r).as_ptr(), acts.row_d(r).as_ptr(), acts.row_dsum(r).as_ptr());
    let bb = dtype_of(F).block_bytes();
    let quarters = QUARTER_LANES.map(|l| idx(&l));
    let repeat2 = idx(&REPEAT2);
    let (mut acc, mut offset) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    // SAFETY: per row, kp / 256 blocks; kp activations, kp / 32 d and kp / 16 dsum values.
    unsafe {
        for blk in 0..w.kp / 256 {
            let dx = _mm512_permutexvar_ps(repeat2, _mm512_castps256_ps512(_mm256_loadu_ps(d.add(8 * blk))));
            let dsum16 = _mm512_loadu_ps(dsum.add(16 * blk));
            for i in 0..R {
                let at = rows[i].add(bb * blk);
                prefetch(at.wrapping_add(PREFETCH), R * w.row_stride);
                let s = block_scales::<F>(at);
                offset[i] = _mm512_fmadd_ps(s, dsum16, offset[i]);
                let scaled = _mm512_mul_ps(s, dx);
                for half in 0..2 {
                    let x = load_x128(q.add(256 * blk + 128 * half));
                    let ib = 4 * half;
                    let dot_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks::<F>(at, ib), x.0);
                    let dot_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), two_sub_blocks::<F>(at, ib + 2), x.1);
                    let (lanes_lo, lanes_hi) = (quarters[2 * half], quarters[2 * half + 1]);
                    acc[i] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_lo), _mm512_permutexvar_ps(lanes_lo, scaled), acc[i]);
                    acc[i] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_hi), _mm512_permutexvar_ps(lanes_hi, scaled), acc[i]);
                }
            }
        }
    }
    std::array::from_fn(|i| _mm512_reduce_add_ps(acc[i]) - 128.0 * _mm512_reduce_add_ps(offset[i]))
}
