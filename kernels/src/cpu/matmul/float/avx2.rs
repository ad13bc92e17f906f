//! AVX2 + FMA f32 kernels: a 6 × 16 register tile (12 ymm accumulators), run on each half of
//! a 32-column panel.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{F32Kernels, NR, TileOut, store_tile};

/// Rows per GEMM tile.
const MR: usize = 6;

pub(super) const KERNELS: F32Kernels = F32Kernels { mr: MR, gemm, gemv, gemv_half: Some(gemv_half) };

/// See [`super::GemmKernel`].
unsafe fn gemm(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    // SAFETY: only reachable through `SimdLevel::Avx2` or higher, which checked the CPU.
    unsafe { gemm_6x32(kc, a, b, out) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_6x32(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    for half in 0..2 {
        let half_cols = out.cols.saturating_sub(16 * half).min(16);
        if half_cols == 0 {
            break;
        }
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        // SAFETY (all pointer reads): a holds kc·MR values, b holds kc·NR.
        unsafe {
            let (mut ak, mut bk) = (a, b.add(16 * half));
            for _ in 0..kc {
                let b0 = _mm256_loadu_ps(bk);
                let b1 = _mm256_loadu_ps(bk.add(8));
                for (r, row) in acc.iter_mut().enumerate() {
                    let ar = _mm256_broadcast_ss(&*ak.add(r));
                    row[0] = _mm256_fmadd_ps(ar, b0, row[0]);
                    row[1] = _mm256_fmadd_ps(ar, b1, row[1]);
                }
                ak = ak.add(MR);
                bk = bk.add(NR);
            }
        }
        let dst = out.c.wrapping_add(16 * half);
        if out.rows == MR && half_cols == 16 {
            for (r, row) in acc.iter().enumerate() {
                // SAFETY: full tile, inside c.
                unsafe {
                    let d = dst.add(r * out.ldc);
                    let (mut v0, mut v1) = (row[0], row[1]);
                    if out.accumulate {
                        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(d));
                        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(d.add(8)));
                    }
                    _mm256_storeu_ps(d, v0);
                    _mm256_storeu_ps(d.add(8), v1);
                }
            }
        } else {
            let mut tile = [[0f32; NR]; MR];
            for (t, row) in tile.iter_mut().zip(&acc) {
                // SAFETY: t has room for 16 values.
                unsafe {
                    _mm256_storeu_ps(t.as_mut_ptr(), row[0]);
                    _mm256_storeu_ps(t.as_mut_ptr().add(8), row[1]);
                }
            }
            // SAFETY: rows and half_cols bound the writes inside c's tile.
            unsafe { store_tile(&tile, &TileOut { c: dst, cols: half_cols, ..*out }) };
        }
    }
}

/// See [`super::GemvKernel`].
unsafe fn gemv(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    // SAFETY: only reachable through `SimdLevel::Avx2` or higher, which checked the CPU.
    unsafe { gemv_32(kc, x, b, acc) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_32(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    let mut sum = [_mm256_setzero_ps(); 4];
    // SAFETY (all pointer accesses): x holds kc values, b holds kc·NR, acc 32.
    unsafe {
        for kk in 0..kc {
            let xv = _mm256_broadcast_ss(&*x.add(kk));
            let row = b.add(kk * NR);
            for (v, s) in sum.iter_mut().enumerate() {
                *s = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row.add(8 * v)), *s);
            }
        }
        for (v, s) in sum.iter().enumerate() {
            let out = acc.as_mut_ptr().add(8 * v);
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), *s));
        }
    }
}

/// See [`super::GemvHalfKernel`].
unsafe fn gemv_half(kc: usize, x: *const f32, b: *const u16, bf16: bool, acc: &mut [f32; NR]) {
    // SAFETY: only reachable through `SimdLevel::Avx2` or higher, which checked the CPU.
    unsafe { if bf16 { gemv_half_32::<true>(kc, x, b, acc) } else { gemv_half_32::<false>(kc, x, b, acc) } }
}

/// 8 f16 (or bf16 when `BF16`) values widened to f32.
#[inline(always)]
unsafe fn widen<const BF16: bool>(p: *const u16) -> __m256 {
    // SAFETY: the caller guarantees 8 readable values; AVX2 and F16C are enabled in every caller.
    unsafe {
        let bits = _mm_loadu_si128(p.cast());
        if BF16 {
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(bits)))
        } else {
            _mm256_cvtph_ps(bits)
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemv_half_32<const BF16: bool>(kc: usize, x: *const f32, b: *const u16, acc: &mut [f32; NR]) {
    let mut sum = [_mm256_setzero_ps(); 4];
    // SAFETY (all pointer accesses): x holds kc values, b holds kc·NR, acc 32.
    unsafe {
        for kk in 0..kc {
            let xv = _mm256_broadcast_ss(&*x.add(kk));
            let row = b.add(kk * NR);
            for (v, s) in sum.iter_mut().enumerate() {
                *s = _mm256_fmadd_ps(xv, widen::<BF16>(row.add(8 * v)), *s);
            }
        }
        for (v, s) in sum.iter().enumerate() {
            let out = acc.as_mut_ptr().add(8 * v);
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), *s));
        }
    }
}
