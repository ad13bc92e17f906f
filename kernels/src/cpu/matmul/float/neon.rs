//! NEON f32 kernels: a 4 × 16 register tile (16 q-register accumulators), run on each half of
//! a 32-column panel.
#![cfg(target_arch = "aarch64")]

use std::arch::aarch64::*;

use super::{F32Kernels, NR, TileOut, store_tile};

/// Rows per GEMM tile.
const MR: usize = 4;

pub(super) const KERNELS: F32Kernels = F32Kernels { mr: MR, gemm, gemv, gemv_half: None };

/// See [`super::GemmKernel`].
unsafe fn gemm(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    for half in 0..2 {
        let half_cols = out.cols.saturating_sub(16 * half).min(16);
        if half_cols == 0 {
            break;
        }
        // SAFETY: NEON is always present on aarch64.
        let mut acc = [[unsafe { vdupq_n_f32(0.0) }; 4]; MR];
        // SAFETY (all pointer reads): a holds kc·MR values, b holds kc·NR.
        unsafe {
            let (mut ak, mut bk) = (a, b.add(16 * half));
            for _ in 0..kc {
                let av = vld1q_f32(ak);
                let bv = [vld1q_f32(bk), vld1q_f32(bk.add(4)), vld1q_f32(bk.add(8)), vld1q_f32(bk.add(12))];
                for v in 0..4 {
                    acc[0][v] = vfmaq_laneq_f32::<0>(acc[0][v], bv[v], av);
                    acc[1][v] = vfmaq_laneq_f32::<1>(acc[1][v], bv[v], av);
                    acc[2][v] = vfmaq_laneq_f32::<2>(acc[2][v], bv[v], av);
                    acc[3][v] = vfmaq_laneq_f32::<3>(acc[3][v], bv[v], av);
                }
                ak = ak.add(MR);
                bk = bk.add(NR);
            }
        }
        let mut tile = [[0f32; NR]; MR];
        for (t, row) in tile.iter_mut().zip(&acc) {
            for (v, &q) in row.iter().enumerate() {
                // SAFETY: t has room for 16 values.
                unsafe { vst1q_f32(t.as_mut_ptr().add(4 * v), q) };
            }
        }
        // SAFETY: rows and half_cols bound the writes inside c's tile.
        unsafe { store_tile(&tile, &TileOut { c: out.c.wrapping_add(16 * half), cols: half_cols, ..*out }) };
    }
}

/// See [`super::GemvKernel`].
unsafe fn gemv(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    // SAFETY (all pointer accesses): x holds kc values, b holds kc·NR, acc 32.
    unsafe {
        let mut sum = [vdupq_n_f32(0.0); 8];
        for kk in 0..kc {
            let xv = vdupq_n_f32(*x.add(kk));
            let row = b.add(kk * NR);
            for (v, s) in sum.iter_mut().enumerate() {
                *s = vfmaq_f32(*s, xv, vld1q_f32(row.add(4 * v)));
            }
        }
        for (v, s) in sum.iter().enumerate() {
            let out = acc.as_mut_ptr().add(4 * v);
            vst1q_f32(out, vaddq_f32(vld1q_f32(out), *s));
        }
    }
}
