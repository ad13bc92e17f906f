//! Quantization of activation rows to 8 bits, the way ggml's Q8_0 does it: per block of 32
//! consecutive elements, scale `d = amax / 127` (kept in f32) and `q = round(x / d)` (ties to
//! even), so `|x - d·q| <= d / 2 = amax / 254` (plus f32 rounding). Used for every quantized
//! weight format (block size 32 for all, K-quants included). A block holding a NaN or an
//! infinity gets a NaN scale, so non-finite inputs give non-finite outputs.

use rayon::prelude::*;

use super::layout::ActOrder;
use crate::cpu::matmul::features::SimdLevel;

/// Quantized activations: rows of `kp` elements (zero past the true length).
pub(crate) struct QuantizedActs {
    /// Row length, a multiple of 128.
    pub(crate) kp: usize,
    /// `rows × kp` quants, each 128-element group in the order given at quantization.
    pub(crate) q: Vec<i8>,
    /// `rows × kp / 32` scales, one per natural 32-element block.
    pub(crate) d: Vec<f32>,
    /// `rows × kp / 16`: for each natural 16-element group, `d · Σ q` over the group.
    pub(crate) dsum: Vec<f32>,
    /// `rows × kp / 32`: for each natural 32-element block, `d · Σ q` over the block.
    pub(crate) dsum32: Vec<f32>,
    /// `rows × kp / 16`: for each natural 16-element group, `Σ q` (exact, for offsets that
    /// enter the integer sums).
    pub(crate) qsum: Vec<i32>,
}

impl QuantizedActs {
    /// Quants of row `r`.
    #[inline(always)]
    pub(crate) fn row_q(&self, r: usize) -> &[i8] {
        &self.q[r * self.kp..(r + 1) * self.kp]
    }

    /// Block scales of row `r`.
    #[inline(always)]
    pub(crate) fn row_d(&self, r: usize) -> &[f32] {
        &self.d[r * self.kp / 32..(r + 1) * self.kp / 32]
    }

    /// Group sums (scaled) of row `r`.
    #[inline(always)]
    pub(crate) fn row_dsum(&self, r: usize) -> &[f32] {
        &self.dsum[r * self.kp / 16..(r + 1) * self.kp / 16]
    }

    /// Block sums (scaled) of row `r`.
    #[inline(always)]
    pub(crate) fn row_dsum32(&self, r: usize) -> &[f32] {
        &self.dsum32[r * self.kp / 32..(r + 1) * self.kp / 32]
    }

    /// Integer group sums of row `r` (read by the x86 VNNI GEMM only).
    #[inline(always)]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn row_qsum(&self, r: usize) -> &[i32] {
        &self.qsum[r * self.kp / 16..(r + 1) * self.kp / 16]
    }
}

/// One row's outputs.
struct RowOut<'a> {
    q: &'a mut [i8],
    d: &'a mut [f32],
    dsum: &'a mut [f32],
    dsum32: &'a mut [f32],
    qsum: &'a mut [i32],
}

/// Quantizes `rows` rows of `k` elements (`k` a multiple of 32) into rows of `kp` elements
/// (`kp >= k`, a multiple of 128), laid out in `order`. Rows run in parallel.
pub(crate) fn quantize_acts(
    level: SimdLevel,
    x: &[f32],
    rows: usize,
    k: usize,
    kp: usize,
    order: ActOrder,
) -> QuantizedActs {
    debug_assert!(k.is_multiple_of(32) && kp.is_multiple_of(128) && kp >= k);
    debug_assert!(x.len() >= rows * k);
    let mut acts = QuantizedActs {
        kp,
        q: vec![0; rows * kp],
        d: vec![0.0; rows * kp / 32],
        dsum: vec![0.0; rows * kp / 16],
        dsum32: vec![0.0; rows * kp / 32],
        qsum: vec![0; rows * kp / 16],
    };
    if k == 0 {
        return acts;
    }
    let rows_out = acts
        .q
        .chunks_exact_mut(kp)
        .zip(acts.d.chunks_exact_mut(kp / 32))
        .zip(acts.dsum.chunks_exact_mut(kp / 16))
        .zip(acts.dsum32.chunks_exact_mut(kp / 32))
        .zip(acts.qsum.chunks_exact_mut(kp / 16))
        .zip(x.chunks_exact(k))
        .take(rows)
        .map(|(((((q, d), dsum), dsum32), qsum), xr)| (xr, RowOut { q, d, dsum, dsum32, qsum }));
    // Small inputs stay on the calling thread: a parallel region costs a thread wake-up.
    if rows * k >= PARALLEL_MIN_ELEMENTS {
        let rows_out: Vec<_> = rows_out.collect();
        rows_out.into_par_iter().for_each(|(xr, out)| quantize_row(level, xr, out, order));
    } else {
        rows_out.for_each(|(xr, out)| quantize_row(level, xr, out, order));
    }
    acts
}

/// Below this many elements, activations are quantized on the calling thread.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 16;

/// Where the two 8-element halves of natural 16-group `g` (0..8) of a 128-element group go.
#[inline(always)]
fn group_slots(order: ActOrder, g: usize) -> [usize; 2] {
    match order {
        ActOrder::Natural => [16 * g, 16 * g + 8],
        ActOrder::LoHi32 => [64 * (g % 2) + 16 * (g / 2), 64 * (g % 2) + 16 * (g / 2) + 8],
        ActOrder::LoHi16 => [8 * g, 64 + 8 * g],
    }
}

/// Quantizes one row with the best block quantizer of `level`.
fn quantize_row(level: SimdLevel, x: &[f32], out: RowOut<'_>, order: ActOrder) {
    for (b, xb) in x.chunks_exact(32).enumerate() {
        let (quants, d, sums) = match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the level was checked to be supported when it was chosen.
            SimdLevel::Avx512Vnni => unsafe { quantize_block_avx512(xb) },
            _ => quantize_block(xb),
        };
        out.d[b] = d;
        out.dsum[2 * b] = d * sums[0] as f32;
        out.dsum[2 * b + 1] = d * sums[1] as f32;
        out.dsum32[b] = d * (sums[0] + sums[1]) as f32;
        out.qsum[2 * b..2 * b + 2].copy_from_slice(&sums);
        let base = 128 * (b / 4);
        for h in 0..2 {
            let slots = group_slots(order, 2 * (b % 4) + h);
            for (half, &slot) in slots.iter().enumerate() {
                let src = &quants[16 * h + 8 * half..16 * h + 8 * half + 8];
                out.q[base + slot..base + slot + 8].copy_from_slice(src);
            }
        }
    }
}

/// Quantizes 32 values: the quants, the scale and the sums of the two halves' quants.
#[inline(always)]
fn quantize_block(x: &[f32]) -> ([i8; 32], f32, [i32; 2]) {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let finite = x.iter().all(|v| v.is_finite());
    let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let mut q = [0i8; 32];
    for (dst, &v) in q.iter_mut().zip(x) {
        *dst = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    let sum = |h: usize| q[16 * h..16 * h + 16].iter().map(|&v| v as i32).sum::<i32>();
    let d = if finite { amax / 127.0 } else { f32::NAN };
    (q, d, [sum(0), sum(1)])
}

/// [`quantize_block`] with AVX-512 (same results: `vcvtps2dq` rounds ties to even).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn quantize_block_avx512(x: &[f32]) -> ([i8; 32], f32, [i32; 2]) {
    use std::arch::x86_64::*;
    // SAFETY: x holds 32 values; q has room for 32 bytes.
    unsafe {
        let (a, b) = (_mm512_loadu_ps(x.as_ptr()), _mm512_loadu_ps(x.as_ptr().add(16)));
        let (abs_a, abs_b) = (_mm512_abs_ps(a), _mm512_abs_ps(b));
        let inf = _mm512_set1_ps(f32::INFINITY);
        let bad = _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(abs_a, inf) | _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(abs_b, inf);
        if bad != 0 {
            return ([0; 32], f32::NAN, [0, 0]);
        }
        let amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_a, abs_b));
        let inv = _mm512_set1_ps(if amax > 0.0 { 127.0 / amax } else { 0.0 });
        let qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, inv));
        let qb = _mm512_cvtps_epi32(_mm512_mul_ps(b, inv));
        let mut q = [0i8; 32];
        _mm_storeu_si128(q.as_mut_ptr().cast(), _mm512_cvtsepi32_epi8(qa));
        _mm_storeu_si128(q.as_mut_ptr().add(16).cast(), _mm512_cvtsepi32_epi8(qb));
        let sums = [_mm512_reduce_add_epi32(qa), _mm512_reduce_add_epi32(qb)];
        (q, amax / 127.0, sums)
    }
}
