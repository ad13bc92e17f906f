//! AVX2 GEMV kernels for the split layouts (see [`super::layout`]).
#![cfg(target_arch = "x86_64")]

use super::QuantRows;
use super::act::QuantizedActs;
use super::gemv::{RowsKernel, generic_rows_inline};
use super::layout::QuantLayout;

/// The dedicated kernel for `layout`, if any.
pub(super) fn kernel(layout: QuantLayout) -> Option<RowsKernel> {
    let _ = layout;
    None
}

/// The generic decode-and-dot compiled for AVX2.
pub(super) fn generic_rows(
    w: &QuantRows,
    j0: usize,
    acts: &QuantizedActs,
    r: usize,
    out: &mut [f32],
) {
    // SAFETY: reachable only through `SimdLevel::Avx2` or higher, which checked the CPU.
    unsafe { generic_avx2(w, j0, acts, r, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn generic_avx2(w: &QuantRows, j0: usize, acts: &QuantizedActs, r: usize, out: &mut [f32]) {
    generic_rows_inline(w, j0, acts, r, out)
}
