//! Quantized GEMV: `y[j] = w[j] · x` for one quantized activation row, rows split across the
//! current rayon pool, each ISA's dedicated kernel per format or the generic decode-and-dot
//! below.

use rayon::prelude::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::GROUP;
use super::layout::ActOrder;
use crate::cpu::matmul::features::SimdLevel;

/// Computes `out[i] = w[j0 + i] · acts[act_row]` for `i < out.len()`.
pub(super) type RowsKernel = fn(w: &QuantRows, j0: usize, acts: &QuantizedActs, act_row: usize, out: &mut [f32]);

/// The kernel `level` uses for `w` and the activation order it needs. AVX-512 and AVX2 have
/// a dedicated kernel for every format, NEON for all but Q2_K and Q3_K; the generic
/// decode-and-dot covers the rest.
fn kernel(level: SimdLevel, w: &QuantRows) -> (RowsKernel, ActOrder) {
    let dedicated = match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512Vnni => super::gemv_avx512::kernel(w),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => super::gemv_avx2::kernel(w),
        #[cfg(target_arch = "aarch64")]
        SimdLevel::Neon => super::gemv_neon::kernel(w),
        _ => None,
    };
    match dedicated {
        Some(kernel) => (kernel, w.layout.act_order()),
        None => (generic_rows, ActOrder::Natural),
    }
}

/// The activation order `gemv` needs for this level and layout.
pub(super) fn act_order(level: SimdLevel, w: &QuantRows) -> ActOrder {
    kernel(level, w).1
}

/// `y[n] = w · x_q` for activation row `act_row` (quantized in [`act_order`]'s order).
pub(super) fn gemv(level: SimdLevel, w: &QuantRows, acts: &QuantizedActs, act_row: usize, y: &mut [f32]) {
    let (rows_kernel, _) = kernel(level, w);
    let threads = rayon::current_num_threads();
    // Fairly long tasks: each starts with cold weight streams.
    let rows_per_task = (w.n / (8 * threads)).clamp(4, 256);
    y.par_chunks_mut(rows_per_task).enumerate().for_each(|(task, out)| {
        rows_kernel(w, task * rows_per_task, acts, act_row, out);
    });
}

/// The generic decode-and-dot (natural activation order, any layout): blocks decoded by
/// [`QuantRows::decode_block`], integer dot products per 16-group.
pub(super) fn generic_rows(w: &QuantRows, j0: usize, acts: &QuantizedActs, act_row: usize, out: &mut [f32]) {
    let (q, d, dsum) = (acts.row_q(act_row), acts.row_d(act_row), acts.row_dsum(act_row));
    let bl = w.dtype.block_len();
    let (mut v, mut s, mut m) = ([0u8; 256], [0f32; 256 / GROUP], [0f32; 256 / GROUP]);
    for (i, y) in out.iter_mut().enumerate() {
        let row = w.row(j0 + i);
        let mut acc = 0f32;
        for b in 0..w.blocks_per_row() {
            w.decode_block(row, b, &mut v, &mut s, &mut m);
            for g in 0..bl / GROUP {
                let e0 = b * bl + g * GROUP;
                let dot = group_dot(&v[g * GROUP..(g + 1) * GROUP], &q[e0..e0 + GROUP]);
                acc += d[e0 / 32] * (s[g] * dot as f32) + m[g] * dsum[e0 / GROUP];
            }
        }
        *y = acc;
    }
}

/// Σ v·q over one 16-group.
#[inline(always)]
fn group_dot(v: &[u8], q: &[i8]) -> i32 {
    v.iter().zip(q).map(|(&a, &b)| a as i32 * b as i32).sum()
}
