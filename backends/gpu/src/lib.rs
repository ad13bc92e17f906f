//! What edgehal's GPU backends share: the capability table ([`Caps`]) and the lowering of a graph
//! partition to a [`Program`] of shader dispatches over the WGSL kernels of `edgehal-shaders`.
//!
//! The split: this crate decides *what* runs — which module and entry point (variant picked from
//! the capability table), which buffers in which binding order, the uniform parameters and the
//! workgroup counts. The wgpu and Vulkan backends decide *how*: memory, pipelines, descriptors,
//! command recording, synchronisation and timestamps. A kernel and its host-side lowering change
//! together in one place, and both backends run the same dispatches, so a conformance failure on
//! one backend and not the other points at the backend, not the kernel.

mod caps;
pub mod coverage;
pub mod health;
mod lower;
pub mod probe;
mod program;

pub use caps::Caps;
pub use lower::{lower, padded, supports};
pub use program::{Buf, Command, Dispatch, Program, Word, grid};
