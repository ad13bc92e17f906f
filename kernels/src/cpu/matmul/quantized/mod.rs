//! Matmul with quantized weights.
//!
//! Activations are quantized to 8 bits per block of 32 ([`act`]); weights are read in the
//! integer form `s · v + m` per 16-element group ([`blocks`]) from their packed layout
//! ([`layout`]) and multiplied in integers:
//! - up to [`GEMV_MAX_ROWS`] activation rows: a GEMV per row ([`gemv`]); AVX-512 VNNI and AVX2
//!   have a hand-written kernel for every format, NEON for all but Q2_K/Q3_K, and the rest
//!   runs a generic decode-and-dot;
//! - more rows on AVX-512 VNNI: weight panels decoded in registers ([`decode_avx512`]) and a
//!   VNNI register-tiled GEMM ([`gemm_vnni`]);
//! - more rows elsewhere: weight panels decoded to f32 ([`f32_panels`]) and the f32 GEMM (this
//!   path keeps activations in f32, so it is more accurate than the contract requires).

pub(crate) mod act;
pub(crate) mod blocks;
pub(crate) mod decode_avx512;
mod f32_panels;
mod gemm_vnni;
mod gemv;
mod gemv_avx2;
mod gemv_avx2_fp4_ternary;
mod gemv_avx2_k;
mod gemv_avx2_lattice;
mod gemv_avx2_table;
mod gemv_avx512;
mod gemv_avx512_fp4_ternary;
mod gemv_avx512_k;
mod gemv_avx512_lattice;
mod gemv_avx512_table;
mod gemv_neon;
mod lattice_formats;
pub(crate) mod layout;
mod layout_pack;
mod rows_kernel;

pub(crate) use layout::QuantRows;

use crate::DType;
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::float;

/// Up to this many activation rows, the GEMV runs once per row.
pub(crate) const GEMV_MAX_ROWS: usize = 3;

/// `y[m, n] = x[m, k] · wᵀ` (lengths checked by the caller, `m >= 1`).
pub(crate) fn matmul(level: SimdLevel, x: &[f32], m: usize, w: &QuantRows, y: &mut [f32]) {
    if m <= GEMV_MAX_ROWS {
        let order = gemv::act_order(level, w);
        let acts = act::quantize_acts(level, x, m, w.k, w.kp.div_ceil(128) * 128, order);
        for (r, yr) in y.chunks_exact_mut(w.n).enumerate() {
            gemv::gemv(level, w, &acts, r, yr);
        }
    } else if vnni_gemm(level, w.dtype) {
        #[cfg(target_arch = "x86_64")]
        gemm_vnni::gemm(x, m, w, y);
    } else {
        float::gemm(level, x, m, &f32_panels::DecodedPanels(w), y);
    }
}

/// Whether `m` rows at `level` take a path that quantizes the activations to 8 bits: the
/// GEMV, and the VNNI GEMM where it has a panel decoder for the format.
#[cfg(test)]
pub(crate) fn quantizes_rows(level: SimdLevel, dtype: DType, m: usize) -> bool {
    m <= GEMV_MAX_ROWS || vnni_gemm(level, dtype)
}

/// Whether more rows run the VNNI GEMM: AVX-512 VNNI and a panel decoder for the format (every
/// block format has one; f32, f16 and bf16 take the float GEMM).
fn vnni_gemm(level: SimdLevel, dtype: DType) -> bool {
    #[cfg(target_arch = "x86_64")]
    return level == SimdLevel::Avx512Vnni && decode_avx512::has_decoder(dtype);
    #[cfg(not(target_arch = "x86_64"))]
    return {
        let _ = (level, dtype);
        false
    };
}

/// `y[m, n] = x[m, k] · wᵀ` with activations kept in f32: weight panels decoded to f32 and the
/// f32 GEMM (GEMV for one row). Slower than [`matmul`]; rounding only in f32.
pub(crate) fn matmul_f32_acts(level: SimdLevel, x: &[f32], m: usize, w: &QuantRows, y: &mut [f32]) {
    float::gemm(level, x, m, &f32_panels::DecodedPanels(w), y);
}
