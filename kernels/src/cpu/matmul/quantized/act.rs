//! Quantization of activation rows to 8 bits, the way ggml's Q8_0 does it: per block of 32
//! consecutive elements, scale `d = amax / 127` (kept in f32) and `q = round(x / d)`, so
//! `|x - d·q| <= d / 2 = amax / 254` (plus f32 rounding). Used for every quantized weight
//! format (block size 32 for all, K-quants included).

use super::layout::ActOrder;
use crate::cpu::matmul::features::SimdLevel;

/// Quantized activations: `rows` rows of `kp` elements (zero past the true length).
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
}

/// Quantizes `rows` rows of `k` elements (`k` a multiple of 32) into rows of `kp` elements
/// (`kp >= k`, a multiple of 128), laid out in `order`.
pub(crate) fn quantize_acts(
    level: SimdLevel,
    x: &[f32],
    rows: usize,
    k: usize,
    kp: usize,
    order: ActOrder,
) -> QuantizedActs {
    debug_assert!(k % 32 == 0 && kp % 128 == 0 && kp >= k && x.len() >= rows * k);
    let mut acts = QuantizedActs {
        kp,
        q: vec![0; rows * kp],
        d: vec![0.0; rows * kp / 32],
        dsum: vec![0.0; rows * kp / 16],
        dsum32: vec![0.0; rows * kp / 32],
    };
    let rows_iter = x
        .chunks_exact(k)
        .take(rows)
        .zip(acts.q.chunks_exact_mut(kp))
        .zip(acts.d.chunks_exact_mut(kp / 32))
        .zip(acts.dsum.chunks_exact_mut(kp / 16))
        .zip(acts.dsum32.chunks_exact_mut(kp / 32));
    for ((((xr, qr), dr), sr), s32) in rows_iter {
        let out = RowOut {
            q: qr,
            d: dr,
            dsum: sr,
            dsum32: s32,
        };
        match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the level was checked to be supported when it was chosen.
            SimdLevel::Avx512Vnni => unsafe { quantize_row_avx512(xr, out, order) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            SimdLevel::Avx2 => unsafe { quantize_row_avx2(xr, out, order) },
            _ => quantize_row(xr, out, order),
        }
    }
    acts
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn quantize_row_avx512(x: &[f32], out: RowOut<'_>, order: ActOrder) {
    quantize_row(x, out, order)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_row_avx2(x: &[f32], out: RowOut<'_>, order: ActOrder) {
    quantize_row(x, out, order)
}

/// One row's outputs.
struct RowOut<'a> {
    q: &'a mut [i8],
    d: &'a mut [f32],
    dsum: &'a mut [f32],
    dsum32: &'a mut [f32],
}

/// Quantizes one row (written to vectorize well under any `target_feature`).
#[inline(always)]
fn quantize_row(x: &[f32], out: RowOut<'_>, order: ActOrder) {
    let RowOut { q, d, dsum, dsum32 } = out;
    let mut natural = [0i8; 128];
    for (g, xg) in x.chunks(128).enumerate() {
        for (b, xb) in xg.chunks_exact(32).enumerate() {
            let block = 4 * g + b;
            let (scale, sums) = quantize_block(xb, &mut natural[32 * b..32 * b + 32]);
            d[block] = scale;
            dsum[2 * block] = scale * sums[0] as f32;
            dsum[2 * block + 1] = scale * sums[1] as f32;
            dsum32[block] = scale * (sums[0] + sums[1]) as f32;
        }
        let qg = &mut q[128 * g..128 * g + 128];
        match order {
            ActOrder::Natural => qg.copy_from_slice(&natural),
            _ => {
                for (p, dst) in qg.iter_mut().enumerate() {
                    *dst = natural[order.element_at(p)];
                }
            }
        }
        natural = [0; 128];
    }
}

/// Quantizes 32 values; returns the scale and the sums of the two 16-element halves' quants.
/// A block holding a NaN or infinity gets a NaN scale, so the non-finite value propagates.
#[inline(always)]
fn quantize_block(x: &[f32], q: &mut [i8]) -> (f32, [i32; 2]) {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let finite = x.iter().fold(0.0f32, |a, v| a + (v - v)) == 0.0;
    let d = amax / 127.0;
    let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let mut sums = [0i32; 2];
    for (i, (dst, &v)) in q.iter_mut().zip(x).enumerate() {
        let r = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i32;
        *dst = r as i8;
        sums[i / 16] += r;
    }
    (if finite { d } else { f32::NAN }, sums)
}
