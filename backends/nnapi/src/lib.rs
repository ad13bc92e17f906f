//! edgehal's Android NNAPI backend: each partition becomes one NNAPI model, compiled for one
//! device and run with host-memory inputs and outputs.
//!
//! **Status, plainly:** this backend has not run on an Android device. Its lowering is tested
//! against golden model descriptions and its FFI call sequence against a recording fake of the C
//! API (with a small interpreter standing in for the driver). Android deprecated NNAPI in
//! Android 15; it remains for the devices that ship it.
//!
//! - The C API is declared in [`ffi`] and loaded at run time from `libneuralnetworks.so` through
//!   libloading ([`symbols`]); nothing links against it, so the crate builds and tests on any
//!   Linux machine, and a missing library is `Error::Backend { backend: "nnapi", why:
//!   "unavailable: ..." }`. `EDGEHAL_NNAPI_LIB` overrides the library path and
//!   `EDGEHAL_NNAPI_DEVICE` picks a device by name ([`NnapiOptions::from_env`]).
//! - Lowering ([`lower()`]) builds a plain-data [`NnModel`]: matmul as `FULLY_CONNECTED` (weights
//!   `[n, k]` are its layout), softmax, add, mul, silu (`x·LOGISTIC(x)`), swiglu, rms_norm
//!   (`MUL`, `MEAN`, `ADD`, `RSQRT`), reshape/copy (`RESHAPE`), permute (`TRANSPOSE`), f32↔f16
//!   cast, dequantize of weights, and attention as `BATCH_MATMUL` compositions (feature level
//!   6) with causal and additive masks and grouped-query heads. Not lowered: get_rows,
//!   layer_norm, rope, gelu, kv_write (they stay on another backend).
//! - Weights: f32 as constants; f16 as f16 constants with a `CAST` (or widened); bf16 widened;
//!   **every ggml quant format is dequantized to f32 constants at compile time**, except 2-D
//!   Q8_0/Q4_0 weights whose blocks in each row share one scale, which map exactly to
//!   `TENSOR_QUANT8_SYMM_PER_CHANNEL` plus `DEQUANTIZE`. NNAPI's quantized types carry one scale
//!   per tensor or per channel, ggml's one per 32 (or 16) values, so nothing else maps exactly.
//! - `supports` lowers a one-node model and asks
//!   `ANeuralNetworksModel_getSupportedOperationsForDevices`; without it, the feature level each
//!   operation needs (a static table) decides.
//! - Compilation sets a preference and, with a cache directory, `setCaching` with a token hashed
//!   from the model; executions use `compute` or a burst, and with profiling
//!   `setMeasureTiming`/`getDuration` give the partition's device time.
//! - Faults: `ANEURALNETWORKS_DEAD_OBJECT` (the driver or service died) is `Error::DeviceLost`
//!   and stays lost for the backend ([`NnapiBackend::is_device_lost`]); every other result code
//!   is `Error::Backend` naming the entry point and the code ([`error::check`]).

mod backend;
mod buffer;
pub mod devices;
pub mod error;
pub mod ffi;
mod health;
pub mod lower;
pub mod model;
pub mod options;
mod runtime;
pub mod symbols;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use backend::{NnapiBackend, list_devices, single_node_partition};
pub use buffer::NnapiBuffer;
pub use devices::NnapiDevice;
pub use lower::weights::{WeightForm, WeightRecord};
pub use lower::{Lowered, lower};
pub use model::{NnModel, Operand, OperandCode, Operation, OperationCode};
pub use options::{NnapiOptions, Preference};
pub use symbols::Symbols;
