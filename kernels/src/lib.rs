//! edgehal-kernels: the math of edgehal.
//!
//! - [`DType`]: element types, including ggml's quant block formats (byte-compatible with GGUF);
//! - [`quant`]: dequantization and quantization of every block format;
//! - [`reference`](mod@reference): obviously-correct kernels accumulating in f64, the oracle for every backend;
//! - [`cpu`]: fast CPU kernels (runtime-dispatched SIMD, multi-threaded with rayon).
//!
//! Everything here is a pure function on slices: no graphs, no devices.
//!
//! ```
//! use edgehal_kernels::{DType, cpu::matmul, quant, reference};
//!
//! let (n, k) = (8, 64);
//! let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
//! let blocks = quant::quantize(DType::Q8_0, &w)?; // GGUF-compatible bytes
//! assert_eq!(blocks.len(), DType::Q8_0.bytes_for(n * k).unwrap());
//! let x = vec![0.25f32; k];
//! let mut y = vec![0f32; n];
//! matmul::matmul(&x, 1, &matmul::PackedWeights::new(DType::Q8_0, n, k, &blocks)?, &mut y)?;
//! let exact = reference::matmul(&x, &quant::dequantize(DType::Q8_0, &blocks, n * k)?, 1, k, n);
//! assert!(y.iter().zip(&exact).all(|(a, b)| (*a as f64 - b).abs() < 1e-3));
//! # Ok::<(), edgehal_kernels::KernelError>(())
//! ```

mod aligned;
mod dtype;
mod error;
mod params;

pub mod cpu;
pub mod quant;
pub mod reference;

pub use aligned::AlignedBytes;
pub use dtype::DType;
pub use error::KernelError;
pub use params::{
    AttentionParams, AttentionShape, BinaryKind, GeluKind, RopeMode, RopeParams, broadcast_shape, broadcast_strides,
};
