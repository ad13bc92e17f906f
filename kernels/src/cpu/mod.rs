//! Fast CPU kernels: runtime-dispatched SIMD (AVX-512/VNNI, AVX2, NEON, portable), multi-threaded
//! on the calling rayon pool.
//!
//! - [`matmul`]: `y = x · wᵀ` for f32/f16/bf16 and every quant format, weights prepared once;
//! - [`ops`]: attention (flash-style prefill, split-KV decode), norms, rope, softmax, activations,
//!   broadcast add/mul.

pub mod matmul;
pub mod ops;
