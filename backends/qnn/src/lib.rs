//! edgehal's Qualcomm QNN backend: partitions lowered to QNN graphs of package `qti.aisw` ops, run
//! by the QNN CPU backend (`libQnnCpu.so`, name `qnn-cpu`) or the HTP NPU backend
//! (`libQnnHtp.so`, name `qnn-htp`; on x86-64 Linux Qualcomm's functional simulator), loaded at run
//! time with `libloading` (never linked): a missing library is a typed "unavailable: <why>" error.
//!
//! - [`desc`]: a QNN graph as plain Rust data (tensors, static weights, op configs);
//! - [`lower`]: edgehal partitions to such graphs (what maps to which `qti.aisw` op, and which
//!   weights are dequantized at compile time: all ggml quant formats are);
//! - [`runtime`]: the FFI (declarations written from Qualcomm's documented C API) that loads a
//!   library and creates, validates, finalizes, executes, saves and loads those graphs;
//! - [`QnnBackend`]: the edgehal `Backend` (`supports` asks `backendValidateOpConfig` for every
//!   QNN node a node lowers to; `compile` finalizes one QNN graph per partition, or loads its
//!   saved context binary).
//!
//! Libraries: `EDGEHAL_QNN_LIB_DIR` (a directory holding them), or `EDGEHAL_QNN_CPU_LIB` /
//! `EDGEHAL_QNN_HTP_LIB` (files); else the dynamic loader's search path. Context binaries:
//! `EDGEHAL_QNN_CONTEXT_CACHE` (a directory). Per-op profiling: on unless `EDGEHAL_QNN_PROFILE=0`.

mod backend;
mod buffer;
mod context_cache;
pub mod desc;
mod executable;
pub mod lower;
mod probe;
pub mod runtime;
mod trial;

pub use backend::{ContextStats, QnnBackend, QnnOptions};
pub use buffer::QnnBuffer;
pub use runtime::QnnBackendKind;
