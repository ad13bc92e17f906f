//! Matrix multiplication `y = x · wᵀ` with weights stored `[n, k]` (GGUF layout) in f32, f16,
//! bf16 or any ggml quant format.
//!
//! Weights are prepared once ([`PackedWeights::new`]): float weights into 32-row panels (still
//! 16-bit for f16/bf16); quantized weights split per row into SIMD-friendly areas (quants,
//! fifth bits, scales, mins) of the same total size as the GGUF bytes, except Q2_K and Q3_K
//! which keep their GGUF blocks. No f32 copy of the weights is ever made: kernels widen or
//! decode small tiles on the fly.
//!
//! - f32/f16/bf16: a register-blocked f32 GEMM (14 × 32 tiles on AVX-512, 6 × 16 on AVX2,
//!   4 × 16 on NEON) over packed activation panels, cache-blocked over k; GEMV for one row.
//!   bf16 GEMM on CPUs with AVX-512 BF16 multiplies bf16-rounded activations with `vdpbf16ps`
//!   instead ([`rounds_activations_to_bf16`]).
//! - quantized: 8-bit activations (ggml Q8_0 style, blocks of 32, see
//!   [`quantizes_activations`]) times integer weights (`vpdpbusd` on AVX-512 VNNI,
//!   `vpmaddubsw` on AVX2, `smull` on NEON); GEMV kernels per format, and on AVX-512 VNNI a
//!   6 × 32 register-tiled GEMM for more than three rows.
//!
//! The SIMD level is detected once ([`simd_level`]); work runs on the current rayon pool.

mod features;
mod float;
mod out_ptr;
mod quantized;
#[cfg(test)]
mod tests;

use crate::{DType, KernelError};
use features::SimdLevel;
use float::FloatPanels;
use quantized::QuantRows;

/// Weights prepared for fast matmul (repacked into a kernel-friendly layout if that helps; the
/// GGUF bytes stay the interchange format).
pub struct PackedWeights {
    dtype: DType,
    n: usize,
    k: usize,
    storage: Storage,
}

/// The packed form.
enum Storage {
    Float(FloatPanels),
    Quant(QuantRows),
}

impl PackedWeights {
    /// `bytes` holds n rows of k elements of `dtype` in GGUF layout. Errors: k not a multiple
    /// of the block, wrong byte length, I32.
    pub fn new(dtype: DType, n: usize, k: usize, bytes: &[u8]) -> Result<Self, KernelError> {
        if dtype == DType::I32 {
            return Err(KernelError::Unsupported { op: "matmul", dtype });
        }
        let row_bytes =
            dtype.bytes_for(k).ok_or(KernelError::NotBlockMultiple { dtype, elems: k, block: dtype.block_len() })?;
        let expected = row_bytes.checked_mul(n).ok_or(KernelError::LengthMismatch {
            what: "weights",
            expected: usize::MAX,
            got: bytes.len(),
            unit: "bytes",
        })?;
        if bytes.len() != expected {
            return Err(KernelError::LengthMismatch { what: "weights", expected, got: bytes.len(), unit: "bytes" });
        }
        // The packed layouts pad a row to whole 128-element groups and the rows to whole
        // panels; with n = 0 the byte check above allows any k, so bound the padded panel
        // (256 elements is a multiple of every block, 64 rows of every panel height).
        let panel = k
            .checked_next_multiple_of(256)
            .and_then(|kp| dtype.bytes_for(kp))
            .and_then(|row| row.checked_mul(64))
            .filter(|&b| b <= isize::MAX as usize);
        if panel.is_none() {
            return Err(KernelError::RowTooLong { what: "weights", dtype, elems: k });
        }
        let storage = if dtype.is_float() {
            Storage::Float(FloatPanels::pack(dtype, n, k, bytes))
        } else {
            Storage::Quant(QuantRows::pack(dtype, n, k, bytes))
        };
        Ok(PackedWeights { dtype, n, k, storage })
    }

    /// The element type of the weights.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Rows of `w` (output features).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Columns of `w` (input features).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes the packed form occupies (for memory reports).
    pub fn packed_bytes(&self) -> usize {
        match &self.storage {
            Storage::Float(p) => p.packed_bytes(),
            Storage::Quant(q) => q.bytes().len(),
        }
    }
}

impl std::fmt::Debug for PackedWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedWeights")
            .field("dtype", &self.dtype)
            .field("n", &self.n)
            .field("k", &self.k)
            .field("packed_bytes", &self.packed_bytes())
            .finish()
    }
}

/// y\[m,n\] = x\[m,k\] · wᵀ; x f32. m = 1 takes the GEMV path.
///
/// Errors when `x.len() != m·k` or `y.len() != m·n`.
pub fn matmul(x: &[f32], m: usize, w: &PackedWeights, y: &mut [f32]) -> Result<(), KernelError> {
    matmul_at(SimdLevel::detected(), x, m, w, y)
}

/// [`matmul`] that keeps activations in f32 for quantized weights too (weights decoded to f32
/// panels, f32 FMAs): an order of magnitude closer to the exact product than the 8-bit
/// activations [`matmul`] uses, at several times its cost. For bf16 weights it keeps the f32
/// activations too (widened weights, f32 FMAs) where [`matmul`] would round them to bf16; for
/// f32 and f16 weights it is [`matmul`].
pub fn matmul_f32_activations(x: &[f32], m: usize, w: &PackedWeights, y: &mut [f32]) -> Result<(), KernelError> {
    run_matmul(SimdLevel::detected(), x, m, w, y, true)
}

/// [`matmul`] with an explicit SIMD level (which must be supported by this CPU).
pub(crate) fn matmul_at(
    level: SimdLevel,
    x: &[f32],
    m: usize,
    w: &PackedWeights,
    y: &mut [f32],
) -> Result<(), KernelError> {
    run_matmul(level, x, m, w, y, false)
}

/// Checks lengths, then multiplies at `level`; `f32_acts` keeps activations f32 for every
/// weight dtype (see [`matmul_f32_activations`]).
fn run_matmul(
    level: SimdLevel,
    x: &[f32],
    m: usize,
    w: &PackedWeights,
    y: &mut [f32],
    f32_acts: bool,
) -> Result<(), KernelError> {
    let check = |what: &'static str, expected: Option<usize>, got: usize| match expected {
        Some(e) if e == got => Ok(()),
        _ => Err(KernelError::LengthMismatch { what, expected: expected.unwrap_or(usize::MAX), got, unit: "elements" }),
    };
    check("x", m.checked_mul(w.k), x.len())?;
    check("y", m.checked_mul(w.n), y.len())?;
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    if w.k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    match &w.storage {
        #[cfg(target_arch = "x86_64")]
        Storage::Float(panels) if !f32_acts && rounds_to_bf16_at(level, w.dtype, m) => {
            float::bf16_dot::gemm(x, m, panels, y)
        }
        Storage::Float(panels) => float::gemm(level, x, m, panels, y),
        Storage::Quant(rows) if f32_acts => quantized::matmul_f32_acts(level, x, m, rows, y),
        Storage::Quant(rows) => quantized::matmul(level, x, m, rows, y),
    }
    Ok(())
}

/// Whether `matmul` quantizes activations to 8 bits for this weight dtype (the conformance
/// tolerance depends on it).
///
/// True for every quantized format: activations are quantized like ggml's Q8_0, in blocks of
/// **32** consecutive elements (K-quants included) with an f32 scale `amax / 127` and
/// round-to-nearest, so each activation is off by at most `amax / 254` of its block. (Paths
/// that decode weights to f32 instead, used on CPUs without AVX-512 VNNI for more than a few
/// rows, are more accurate than that.) False for f32, f16 and bf16.
pub fn quantizes_activations(dtype: DType) -> bool {
    dtype.is_quantized()
}

/// Whether `matmul` may round activations to bf16 for this weight dtype on this CPU: true for
/// bf16 weights where the CPU has AVX-512 BF16 (`vdpbf16ps`, used for two rows or more), where
/// each activation is off by at most half a bf16 unit, `2⁻⁸·|x|` (products and sums stay f32;
/// one-row GEMV keeps f32 activations, so a row's result can differ by that much between a
/// batch and a single row). The conformance tolerance depends on it.
pub fn rounds_activations_to_bf16(dtype: DType) -> bool {
    rounds_to_bf16_at(SimdLevel::detected(), dtype, 2)
}

/// Whether [`matmul_at`] at `level` takes the bf16 dot-product path for `m` rows of `dtype`.
fn rounds_to_bf16_at(level: SimdLevel, dtype: DType, m: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        dtype == DType::BF16 && m >= 2 && level == SimdLevel::Avx512Vnni && float::bf16_dot::supported()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (level, dtype, m);
        false
    }
}

/// The SIMD level chosen at run time, for reports: "avx512-vnni", "avx2", "neon" or "scalar".
pub fn simd_level() -> &'static str {
    SimdLevel::detected().name()
}
