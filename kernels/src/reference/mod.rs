//! Reference kernels: obviously correct, accumulating in f64. The oracle for every backend.
//!
//! Every kernel takes `f32` inputs (callers convert f16, bf16 and quant blocks to f32 exactly
//! beforehand), accumulates in `f64` and returns its result as a `Vec<f64>` so that a backend's
//! output can be compared against it without the oracle's own rounding getting in the way.
//!
//! These are internal oracle functions, not a user-facing API: each documents its preconditions
//! and `assert!`s them, panicking with a message that names the broken one.
//!
//! Conventions shared by the softmax-like kernels ([`softmax()`], [`attention()`]): a row whose every
//! entry is `-inf` (every key masked) yields zeros; a `NaN` or `+inf` entry makes the whole row `NaN`.

mod activation;
mod attention;
mod binary;
mod layout;
mod matmul;
mod norm;
mod rope;
mod softmax;

#[cfg(test)]
mod testing;

pub use activation::{gelu, silu, swiglu};
pub use attention::attention;
pub use binary::binary;
pub use layout::{get_rows, kv_write, permute};
pub use matmul::matmul;
pub use norm::{layer_norm, rms_norm};
pub use rope::rope;
pub use softmax::softmax;
