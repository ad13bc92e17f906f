//! edgehal: LLM-inference kernels on the accelerators of edge devices, behind one op-graph executor.
//!
//! Build a [`Graph`], hand it to a [`Session`] with the backends you prefer, run it:
//!
//! ```
//! use edgehal::{CpuBackend, DType, Graph, Policy, Session, Tensor};
//! use std::sync::Arc;
//!
//! let mut g = Graph::new();
//! let x = g.input("x", DType::F32, &[1, 64])?;
//! let w = g.weight("w", Tensor::from_f32_as(DType::Q8_0, [32, 64], &vec![0.5; 32 * 64])?);
//! let y = g.matmul(x, w)?;
//! let y = g.rms_norm(y, None, 1e-6)?;
//! g.output(y)?;
//! let mut session = Session::new(g, vec![Arc::new(CpuBackend::new()?)], Policy::default())?;
//! let out = session.run(&[("x", &Tensor::from_f32([1, 64], &vec![1.0; 64])?)])?;
//! assert_eq!(out.at(0).unwrap().shape(), &[1, 32]);
//! # Ok::<(), edgehal::Error>(())
//! ```

mod backend;
pub mod conform;
mod cpu;
pub mod energy;
mod error;
pub mod gguf;
mod graph;
pub mod memory;
pub mod models;
mod ops;
mod profile;
mod session;
mod tensor;
pub mod tokenizer;

pub use backend::{
    Backend, Bindings, DeviceBuffer, DeviceInfo, DeviceKind, Executable, NodeTiming, Partition, Peaks, ReadProbe,
    Support,
};
pub use cpu::{CacheSize, CpuBackend, CpuBuffer, last_level_cache};
pub use edgehal_kernels::{
    self as kernels, AttentionParams, AttentionShape, BinaryKind, DType, GeluKind, KernelError, RopeMode, RopeParams,
};
pub use error::{Error, Result};
pub use graph::{Graph, Node, NodeId, Value, ValueId, ValueSource};
pub use ops::{AttentionOp, Op, OpCost, Position, RopeOp};
pub use profile::{OpRecord, Profile};
pub use session::{
    Cost, CostModel, CostTable, DeviceCosts, Objective, Outputs, PartitionInfo, PlacementDecision, Plan, Policy,
    RooflineCosts, RunOptions, Session, StateSet,
};
pub use tensor::{AlignedBytes, SharedBytes, Tensor, TensorDesc};
