//! Attention and the element-wise ops around matmul: f32 in and out, SIMD chosen at run time
//! (AVX-512, AVX2, portable), multi-threaded on the calling rayon pool when the work is large.
//!
//! Every function checks its lengths and parameters and returns [`KernelError`] instead of
//! panicking. NaN and infinity propagate as the formulas say.

mod activation;
mod attention;
mod attention_block;
mod attention_micro;
mod attention_prefill;
mod binary;
mod norm;
mod parallel;
mod rope;
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd_x86;
mod softmax;
mod vmath;

#[cfg(test)]
mod attention_bench;
#[cfg(test)]
mod attention_tests;
#[cfg(test)]
mod test_util;

pub use activation::{gelu, silu, swiglu};
pub use attention::{KvCache, attention};
pub use binary::binary;
pub use norm::{layer_norm, rms_norm};
pub use rope::rope;
pub use softmax::softmax;

use crate::KernelError;

/// `Err(LengthMismatch)` unless `got == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), KernelError> {
    if expected == got { Ok(()) } else { Err(KernelError::LengthMismatch { what, expected, got, unit: "elements" }) }
}

/// The number of rows of length `d` in a buffer of `len` elements, or an error if `len` is not
/// a whole number of rows (`d = 0` allows only an empty buffer).
pub(crate) fn rows_of(what: &'static str, len: usize, d: usize) -> Result<usize, KernelError> {
    if d == 0 {
        check_len(what, 0, len)?;
        return Ok(0);
    }
    check_len(what, len - len % d, len)?;
    Ok(len / d)
}
