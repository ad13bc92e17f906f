//! Matmul with quantized weights.
//!
//! Activations are quantized to 8 bits per block of 32 ([`act`]); each weight block is
//! decoded to `s · v + m` per 16-group ([`blocks`]) and multiplied in integers:
//! - one activation row (and up to [`GEMV_MAX_ROWS`]): a GEMV per row ([`gemv`]), with
//!   hand-written kernels for the split layouts of Q4_0/Q8_0/Q4_K/Q6_K ([`layout`]) and a generic
//!   decode-and-dot for the other formats;
//! - more rows on AVX-512 VNNI: weight panels decoded to int8 once per task and a VNNI
//!   register-tiled GEMM ([`gemm_vnni`]);
//! - more rows elsewhere: weight panels decoded to f32 ([`f32_panels`]) and the f32 GEMM (this
//!   path keeps activations in f32, so it is more accurate than the contract requires).

pub(crate) mod act;
pub(crate) mod blocks;
pub(crate) mod decode_avx512;
mod f32_panels;
mod gemm_vnni;
mod gemv;
mod gemv_avx2;
mod gemv_avx2_k;
mod gemv_avx512;
mod gemv_avx512_generic;
mod gemv_avx512_k;
mod gemv_neon;
pub(crate) mod layout;
mod layout_pack;

pub(crate) use layout::QuantRows;

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
    } else if cfg!(target_arch = "x86_64") && level == SimdLevel::Avx512Vnni {
        #[cfg(target_arch = "x86_64")]
        gemm_vnni::gemm(x, m, w, y);
    } else {
        float::gemm(level, x, m, &f32_panels::DecodedPanels(w), y);
    }
}
