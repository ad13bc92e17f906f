//! edgehal-kernels: the math of edgehal.
//!
//! - [`DType`]: element types, including ggml's quant block formats (byte-compatible with GGUF);
//! - [`quant`]: dequantization and quantization of every block format;
//! - [`reference`](mod@reference): obviously-correct kernels accumulating in f64, the oracle for every backend;
//! - [`cpu`]: fast CPU kernels (runtime-dispatched SIMD, multi-threaded with rayon).
//!
//! Everything here is a pure function on slices: no graphs, no devices.

mod dtype;
mod error;
mod params;

pub mod cpu;
pub mod quant;
pub mod reference;

pub use dtype::DType;
pub use error::KernelError;
pub use params::{
    AttentionParams, AttentionShape, BinaryKind, GeluKind, RopeMode, RopeParams, broadcast_shape, broadcast_strides,
};
