//! AVX-512 f32 kernels: a 14 × 32 register tile (28 zmm accumulators, two zmm of weights per
//! k, activations broadcast from memory).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{F32Kernels, NR, TileOut};

/// Rows per GEMM tile.
const MR: usize = 14;

pub(super) const KERNELS: F32Kernels = F32Kernels { mr: MR, gemm, gemv, gemv_half: Some(gemv_half) };

/// See [`super::GemmKernel`].
unsafe fn gemm(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    // SAFETY: only reachable through `SimdLevel::Avx512Vnni`, which checked the CPU.
    unsafe { gemm_14x32(kc, a, b, out) }
}

#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn gemm_14x32(kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    // SAFETY (all pointer reads): a holds kc·MR values, b holds kc·NR.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            for (r, row) in acc.iter_mut().enumerate() {
                let ar = _mm512_set1_ps(*a.add(r));
                row[0] = _mm512_fmadd_ps(ar, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ar, b1, row[1]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { store_tile_zmm(&acc, out) }
}

/// Writes a register tile of `acc.len()` rows × 32 columns to `out` (its valid rows and
/// columns only, masked).
///
/// # Safety
/// `out` must be valid for its rows and columns; AVX-512 F must be available.
#[inline(always)]
pub(super) unsafe fn store_tile_zmm(acc: &[[__m512; 2]], out: &TileOut) {
    let (c, ldc, rows, cols, accumulate) = (out.c, out.ldc, out.rows, out.cols, out.accumulate);
    let mask0: __mmask16 = if cols >= 16 { 0xFFFF } else { (1u16 << cols) - 1 };
    let mask1: __mmask16 = if cols >= 32 {
        0xFFFF
    } else if cols > 16 {
        (1u16 << (cols - 16)) - 1
    } else {
        0
    };
    for (r, row) in acc.iter().enumerate().take(rows) {
        // SAFETY: row r < rows and the masks cover columns < cols, inside c's tile.
        unsafe {
            let dst = c.add(r * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, dst));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, dst.add(16)));
            }
            _mm512_mask_storeu_ps(dst, mask0, v0);
            _mm512_mask_storeu_ps(dst.add(16), mask1, v1);
        }
    }
}

/// See [`super::GemvKernel`].
unsafe fn gemv(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    // SAFETY: only reachable through `SimdLevel::Avx512Vnni`, which checked the CPU.
    unsafe { gemv_32(kc, x, b, acc) }
}

#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn gemv_32(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]) {
    // Two independent k streams so the FMA latency is hidden.
    let mut sum = [_mm512_setzero_ps(); 4];
    // SAFETY (all pointer reads): x holds kc values, b holds kc·NR.
    unsafe {
        let mut kk = 0;
        while kk + 2 <= kc {
            let (x0, x1) = (_mm512_set1_ps(*x.add(kk)), _mm512_set1_ps(*x.add(kk + 1)));
            let row = b.add(kk * NR);
            sum[0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(row), sum[0]);
            sum[1] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(row.add(16)), sum[1]);
            sum[2] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(row.add(32)), sum[2]);
            sum[3] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(row.add(48)), sum[3]);
            kk += 2;
        }
        if kk < kc {
            let x0 = _mm512_set1_ps(*x.add(kk));
            let row = b.add(kk * NR);
            sum[0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(row), sum[0]);
            sum[1] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(row.add(16)), sum[1]);
        }
        let out = acc.as_mut_ptr();
        _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), _mm512_add_ps(sum[0], sum[2])));
        _mm512_storeu_ps(out.add(16), _mm512_add_ps(_mm512_loadu_ps(out.add(16)), _mm512_add_ps(sum[1], sum[3])));
    }
}

/// See [`super::GemvHalfKernel`].
unsafe fn gemv_half(kc: usize, x: *const f32, b: *const u16, bf16: bool, acc: &mut [f32; NR]) {
    // SAFETY: only reachable through `SimdLevel::Avx512Vnni`, which checked the CPU.
    unsafe { if bf16 { gemv_half_32::<true>(kc, x, b, acc) } else { gemv_half_32::<false>(kc, x, b, acc) } }
}

/// 16 f16 (or bf16 when `BF16`) values widened to f32.
#[inline(always)]
unsafe fn widen<const BF16: bool>(p: *const u16) -> __m512 {
    // SAFETY: the caller guarantees 16 readable values; AVX-512 F is enabled in every caller.
    unsafe {
        let bits = _mm256_loadu_si256(p.cast());
        if BF16 {
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(bits)))
        } else {
            _mm512_cvtph_ps(bits)
        }
    }
}

#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn gemv_half_32<const BF16: bool>(kc: usize, x: *const f32, b: *const u16, acc: &mut [f32; NR]) {
    let mut sum = [_mm512_setzero_ps(); 4];
    // SAFETY (all pointer accesses): x holds kc values, b holds kc·NR, acc 32.
    unsafe {
        let mut kk = 0;
        while kk + 2 <= kc {
            let (x0, x1) = (_mm512_set1_ps(*x.add(kk)), _mm512_set1_ps(*x.add(kk + 1)));
            let row = b.add(kk * NR);
            sum[0] = _mm512_fmadd_ps(x0, widen::<BF16>(row), sum[0]);
            sum[1] = _mm512_fmadd_ps(x0, widen::<BF16>(row.add(16)), sum[1]);
            sum[2] = _mm512_fmadd_ps(x1, widen::<BF16>(row.add(32)), sum[2]);
            sum[3] = _mm512_fmadd_ps(x1, widen::<BF16>(row.add(48)), sum[3]);
            kk += 2;
        }
        if kk < kc {
            let x0 = _mm512_set1_ps(*x.add(kk));
            let row = b.add(kk * NR);
            sum[0] = _mm512_fmadd_ps(x0, widen::<BF16>(row), sum[0]);
            sum[1] = _mm512_fmadd_ps(x0, widen::<BF16>(row.add(16)), sum[1]);
        }
        let out = acc.as_mut_ptr();
        _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), _mm512_add_ps(sum[0], sum[2])));
        _mm512_storeu_ps(out.add(16), _mm512_add_ps(_mm512_loadu_ps(out.add(16)), _mm512_add_ps(sum[1], sum[3])));
    }
}
