//! Portable f32 kernels (plain Rust; the compiler vectorizes them for the baseline ISA).

use super::{F32Kernels, NR, TileOut, store_tile};

/// Rows per GEMM tile.
const MR: usize = 4;

pub(super) const KERNELS: F32Kernels = F32Kernels { mr: MR, gemm, gemv, gemv_half: None };

/// See [`super::GemmKernel`].
unsafe fn gemm(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    // SAFETY: the caller passes kc·MR values at `a` and kc·NR at `b`.
    let (a, b) = unsafe { (std::slice::from_raw_parts(a, kc * MR), std::slice::from_raw_parts(b, kc * NR)) };
    let mut acc = [[0f32; NR]; MR];
    for (ak, bk) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (row, &ar) in acc.iter_mut().zip(ak) {
            for (o, &bv) in row.iter_mut().zip(bk) {
                *o += ar * bv;
            }
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { store_tile(&acc, out) }
}

/// See [`super::GemvKernel`].
unsafe fn gemv(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    // SAFETY: the caller passes kc values at `x` and kc·NR at `b`.
    let (x, b) = unsafe { (std::slice::from_raw_parts(x, kc), std::slice::from_raw_parts(b, kc * NR)) };
    for (&xv, bk) in x.iter().zip(b.chunks_exact(NR)) {
        for (o, &bv) in acc.iter_mut().zip(bk) {
            *o += xv * bv;
        }
    }
}
