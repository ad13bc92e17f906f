//! The QNN C API through `libloading`: loading a backend library ([`QnnRuntime::load`]),
//! validating ops, building and finalizing graphs from a [`crate::desc::QnnGraphDesc`]
//! ([`QnnRuntime::compile`]), executing them with client buffers ([`QnnGraph::execute`]) with
//! optional per-node profiling ([`ExecProfile`]), and saving/loading context binaries.
//!
//! The declarations in `ffi` are written from Qualcomm's documented API; no Qualcomm header or
//! library is part of this crate. Library messages go to `tracing` (target `edgehal_qnn::qnn`),
//! to stderr when `EDGEHAL_QNN_LOG` is set, and into error messages.

mod context;
mod error;
pub(crate) mod ffi;
mod graph;
mod library;
mod log;
mod profile;
mod system;
mod tensors;

pub use error::error_name;
pub use graph::{CompileOptions, QnnGraph};
pub use library::{CORE_API_MAJOR, LoadOptions, MIN_CORE_API_MINOR, QnnBackendKind, QnnRuntime, default_cache_dir};
pub use profile::{ExecProfile, ProfileEvent, ProfileUnit, event_kind_name};
