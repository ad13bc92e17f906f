//! bf16 weights times bf16-rounded activations with AVX-512 BF16 (`vdpbf16ps`): each
//! instruction does 32 products (16 lanes × a pair of consecutive k) into f32 sums, twice the
//! f32 FMA rate. Used for GEMM (m ≥ 2) on CPUs with `avx512_bf16`; GEMV keeps f32 activations
//! (it is bandwidth-bound, so rounding would buy nothing).
//!
//! Activations are rounded to bf16 (to nearest even, like ggml's bf16 `vec_dot_type`), so each
//! is off by at most half a unit, `2⁻⁸·|x|`; products and sums are f32. Activation panels hold
//! `[k/2][MR]` pairs (u32: the even k in the low half), weight slices are interleaved from the
//! `[kc][32]` panels into `[kc/2][32]` pairs once per task and chunk (an odd last k pairs with 0).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::avx512::store_tile_zmm;
use super::driver::{TileKernel, gemm_tiles};
use super::{FloatPanels, HalfPanel, NR, PanelSource, TileOut};

/// Rows per tile: 14 × 2 zmm accumulators, two zmm of weight pairs, one broadcast.
const MR: usize = 14;

/// Whether this CPU runs the bf16 dot-product kernels.
pub(crate) fn supported() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bf16")
}

/// `y[m, n] = bf16(x[m, k]) · wᵀ` for bf16 `panels` (`m >= 2`, lengths checked, [`supported`]).
pub(crate) fn gemm(x: &[f32], m: usize, panels: &FloatPanels, y: &mut [f32]) {
    debug_assert!(supported());
    gemm_tiles(&Bf16DotTiles { panels }, x, m, y);
}

/// The tile family of [`gemm`].
struct Bf16DotTiles<'a> {
    panels: &'a FloatPanels,
}

impl TileKernel for Bf16DotTiles<'_> {
    type Act = u32;
    type Weight = u32;
    const K_PER_ELEM: usize = 2;

    fn mr(&self) -> usize {
        MR
    }

    fn n_k(&self) -> (usize, usize) {
        (self.panels.n(), self.panels.k())
    }

    fn pack_row(&self, row: &[f32], r: usize, panel: &mut [u32]) {
        let mut pairs = [0u32; 64];
        for (c, chunk) in row.chunks(128).enumerate() {
            let len = chunk.len().div_ceil(2);
            // SAFETY: `supported()` was checked by `gemm`; chunk and pairs lengths as passed.
            unsafe { round_pairs(chunk, &mut pairs[..len]) };
            for (j, &pair) in pairs[..len].iter().enumerate() {
                panel[(c * 64 + j) * MR + r] = pair;
            }
        }
    }

    fn weights<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [u32]) -> &'a [u32] {
        let Some(HalfPanel::BF16(bits)) = self.panels.half_panel(p, k0, kc) else {
            unreachable!("bf16_dot::gemm is only called with bf16 panels")
        };
        let out = &mut scratch[..kc.div_ceil(2) * NR];
        // SAFETY: `supported()` was checked by `gemm`; bits holds kc·NR, out kc/2 (up)·NR.
        unsafe { interleave_pairs(bits, kc, out) };
        out
    }

    unsafe fn tile(&self, kc: usize, a: *const u32, b: *const u32, out: &TileOut) {
        // SAFETY: forwarded from the caller; the CPU was checked by `gemm`.
        unsafe { tile_14x32(kc.div_ceil(2), a, b, out) }
    }
}

/// `pairs[j] = bf16(x[2j]) | bf16(x[2j + 1]) << 16` (a missing odd element is 0), rounded to
/// nearest even; `pairs.len() == x.len().div_ceil(2)`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
unsafe fn round_pairs(x: &[f32], pairs: &mut [u32]) {
    let mut j = 0;
    // SAFETY: 32 floats are read from 2j while 2j + 32 <= len; 16 pairs written at j.
    unsafe {
        while 2 * j + 32 <= x.len() {
            let lo = _mm512_loadu_ps(x.as_ptr().add(2 * j));
            let hi = _mm512_loadu_ps(x.as_ptr().add(2 * j + 16));
            let bits: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
            _mm512_storeu_si512(pairs.as_mut_ptr().add(j).cast(), bits);
            j += 16;
        }
    }
    for (pair, two) in pairs[j..].iter_mut().zip(x[2 * j..].chunks(2)) {
        let even = half::bf16::from_f32(two[0]).to_bits() as u32;
        let odd = two.get(1).map_or(0, |&v| half::bf16::from_f32(v).to_bits() as u32);
        *pair = even | odd << 16;
    }
}

/// `[kc][32]` bf16 rows into `[kc/2][32]` pairs: `out[j][c] = bits[2j][c] | bits[2j + 1][c] << 16`
/// (row `kc` is 0 when kc is odd).
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn interleave_pairs(bits: &[u16], kc: usize, out: &mut [u32]) {
    // Word w of the first output takes column w/2 of row (w odd ? b : a); the second, 16 on.
    let lo_idx: [u16; 32] = std::array::from_fn(|w| (w / 2 + 32 * (w % 2)) as u16);
    let hi_idx: [u16; 32] = std::array::from_fn(|w| (16 + w / 2 + 32 * (w % 2)) as u16);
    // SAFETY: row 2j (and 2j + 1 when < kc) lie inside bits (kc·NR); out holds kc/2 (up)·NR.
    unsafe {
        let (lo_idx, hi_idx) = (_mm512_loadu_si512(lo_idx.as_ptr().cast()), _mm512_loadu_si512(hi_idx.as_ptr().cast()));
        for j in 0..kc.div_ceil(2) {
            let a = _mm512_loadu_si512(bits.as_ptr().add(2 * j * NR).cast());
            let b = if 2 * j + 1 < kc {
                _mm512_loadu_si512(bits.as_ptr().add((2 * j + 1) * NR).cast())
            } else {
                _mm512_setzero_si512()
            };
            let dst = out.as_mut_ptr().add(j * NR);
            _mm512_storeu_si512(dst.cast(), _mm512_permutex2var_epi16(a, lo_idx, b));
            _mm512_storeu_si512(dst.add(16).cast(), _mm512_permutex2var_epi16(a, hi_idx, b));
        }
    }
}

/// `out (+)= a · b` over `pairs` k pairs: `a` holds `pairs · MR` pairs, `b` `pairs · NR`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
unsafe fn tile_14x32(pairs: usize, a: *const u32, b: *const u32, out: &TileOut) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    // SAFETY (all pointer reads): a holds pairs·MR, b pairs·NR; the transmutes only retype
    // 512 bits as 32 bf16.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..pairs {
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.cast()));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(16).cast()));
            for (r, row) in acc.iter_mut().enumerate() {
                let ar: __m512bh = std::mem::transmute(_mm512_set1_epi32(*a.add(r) as i32));
                row[0] = _mm512_dpbf16_ps(row[0], ar, b0);
                row[1] = _mm512_dpbf16_ps(row[1], ar, b1);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
        store_tile_zmm(&acc, out);
    }
}
