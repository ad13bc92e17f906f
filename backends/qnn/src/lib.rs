//! edgehal's Qualcomm QNN backend: partitions lowered to QNN graphs of package `qti.aisw` ops, run
//! by the QNN CPU backend (`libQnnCpu.so`) or the HTP NPU backend (`libQnnHtp.so`; on x86-64 Linux
//! Qualcomm's functional simulator), loaded at run time with `libloading` (never linked).
//!
//! - [`desc`]: a QNN graph as plain Rust data (tensors, static weights, op configs);
//! - [`runtime`]: the FFI (declarations written from Qualcomm's documented C API) that loads a
//!   library and creates, validates, finalizes, executes, saves and loads those graphs.

pub mod desc;
pub mod lower;
pub mod runtime;
