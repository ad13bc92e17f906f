//! The f32 GEMM/GEMV machinery: weights come as `[kc][32]` f32 panel slices from a
//! [`PanelSource`] (packed f32 directly, f16/bf16 widened, or quantized weights decoded on
//! non-VNNI CPUs), activations are packed into `[k][MR]` row panels, and a per-ISA register-
//! blocked microkernel computes `MR × 32` output tiles. bf16 GEMM on CPUs with AVX-512 BF16
//! takes [`bf16_dot`] instead (bf16 pairs, `vdpbf16ps`) through the same driver.

mod avx2;
mod avx512;
pub(crate) mod bf16_dot;
mod driver;
mod neon;
pub(crate) mod panels;
mod scalar;

pub(crate) use driver::gemm;
pub(crate) use panels::{FloatPanels, NR};

use crate::cpu::matmul::features::SimdLevel;

/// Weights seen as panels of [`NR`] output columns in f32.
pub(crate) trait PanelSource: Sync {
    /// Output columns (weight rows).
    fn n(&self) -> usize;
    /// Inner dimension.
    fn k(&self) -> usize;
    /// `panel` k ranges must start at multiples of this (the quant block length, or 1).
    fn k_step(&self) -> usize;
    /// The f32 weights of panel `p` for `k0..k0 + kc`, laid out `[kc][NR]` (columns past `n`
    /// zero). Returns a slice of the packed data, or of `scratch` (`>= kc · NR` long) after
    /// filling it.
    fn panel<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [f32]) -> &'a [f32];
    /// The same slice still 16-bit, when the weights are f16 or bf16 (for kernels that widen
    /// in registers).
    fn half_panel(&self, _p: usize, _k0: usize, _kc: usize) -> Option<HalfPanel<'_>> {
        None
    }
}

/// A `[kc][NR]` panel slice of 16-bit floats.
#[derive(Copy, Clone)]
pub(crate) enum HalfPanel<'a> {
    /// IEEE binary16 bits.
    F16(&'a [u16]),
    /// bfloat16 bits.
    BF16(&'a [u16]),
}

/// Where a GEMM tile goes: `rows × cols` values at `c` with row stride `ldc`.
#[derive(Copy, Clone)]
pub(crate) struct TileOut {
    /// Top-left output element.
    pub(crate) c: *mut f32,
    /// Output row stride.
    pub(crate) ldc: usize,
    /// Valid rows (`<= MR`).
    pub(crate) rows: usize,
    /// Valid columns (`<= NR`).
    pub(crate) cols: usize,
    /// Add to the output instead of overwriting it.
    pub(crate) accumulate: bool,
}

/// `c[r·ldc + j] (+)= Σ_kk a[kk·MR + r] · b[kk·NR + j]` for the tile's valid rows and columns.
/// `a` holds `kc · MR` values, `b` `kc · NR`.
pub(crate) type GemmKernel = unsafe fn(kc: usize, a: *const f32, b: *const f32, out: &TileOut);

/// `acc[j] += Σ_kk x[kk] · b[kk·NR + j]`; `x` holds `kc` values, `b` `kc · NR`.
pub(crate) type GemvKernel = unsafe fn(kc: usize, x: *const f32, b: *const f32, acc: &mut [f32; NR]);

/// [`GemvKernel`] on a 16-bit panel (`b` holds `kc · NR` f16, or bf16 when `bf16`).
pub(crate) type GemvHalfKernel = unsafe fn(kc: usize, x: *const f32, b: *const u16, bf16: bool, acc: &mut [f32; NR]);

/// One ISA's f32 kernels.
#[derive(Copy, Clone)]
pub(crate) struct F32Kernels {
    /// Rows per GEMM tile.
    pub(crate) mr: usize,
    /// The GEMM microkernel.
    pub(crate) gemm: GemmKernel,
    /// The GEMV panel kernel.
    pub(crate) gemv: GemvKernel,
    /// The GEMV kernel for f16/bf16 panels, if the ISA widens them in registers.
    pub(crate) gemv_half: Option<GemvHalfKernel>,
}

impl F32Kernels {
    /// The kernels of `level` (which must be supported by this CPU).
    pub(crate) fn for_level(level: SimdLevel) -> F32Kernels {
        match level {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => avx512::KERNELS,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => avx2::KERNELS,
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => neon::KERNELS,
            _ => scalar::KERNELS,
        }
    }
}

/// Writes a tile held in memory to `out` (its valid rows and columns only).
///
/// # Safety
/// `out` must be valid for its rows and columns.
#[inline(always)]
pub(crate) unsafe fn store_tile(tile: &[[f32; NR]], out: &TileOut) {
    for (r, row) in tile.iter().enumerate().take(out.rows) {
        for (j, &value) in row.iter().enumerate().take(out.cols) {
            // SAFETY: r < rows, j < cols, per the caller's contract.
            unsafe {
                let dst = out.c.add(r * out.ldc + j);
                *dst = if out.accumulate { *dst + value } else { value };
            }
        }
    }
}
