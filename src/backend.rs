//! The backend contract: what a device must do to take a piece of the graph.
//!
//! One contract serves op-by-op devices (CPU, GPUs) and whole-graph compilers (NPUs): the session
//! asks [`Backend::supports`] per node, groups consecutive nodes placed on one backend into a
//! [`Partition`], and hands each partition to [`Backend::compile`] once. A CPU turns it into a list of
//! kernel calls, a GPU into pipelines and a recorded command list, an NPU into a finalized native
//! graph. Weights inside a partition are compile-time constants (a backend may repack them);
//! everything else crosses the boundary as [`DeviceBuffer`]s the session allocates on the backend.

use crate::error::Result;
use crate::graph::{Graph, NodeId, ValueId};
use crate::tensor::{Tensor, TensorDesc};
use std::any::Any;

/// What kind of processor a device is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A CPU.
    Cpu,
    /// A GPU.
    Gpu,
    /// An NPU / DSP.
    Npu,
}

/// A device as a backend reports it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceInfo {
    /// The backend's name (`cpu`, `wgpu`, `vulkan`, `qnn`, `nnapi`).
    pub backend: String,
    /// The device's own name (CPU model, GPU name).
    pub name: String,
    /// Processor kind.
    pub kind: DeviceKind,
    /// Memory available to the backend, in bytes.
    pub memory_bytes: u64,
    /// Feature flags (ISA extensions, shader features).
    pub features: Vec<String>,
    /// Parallel workers the backend uses (threads, compute units).
    pub workers: usize,
    /// Whether per-node times come from device timestamps (else host clocks).
    pub device_timestamps: bool,
}

/// Peak rates measured by probes on the device itself (not datasheet numbers).
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct Peaks {
    /// f32 multiply-add rate, in GFLOP/s (a multiply-add counts 2).
    pub f32_gflops: f64,
    /// Sustained read bandwidth from main memory, in GB/s (10⁹ bytes). GPU backends measure it
    /// with a copy kernel and count the bytes read and written.
    pub read_gbps: f64,
    /// f16 multiply-add rate in GFLOP/s, where the device has f16 arithmetic and a probe for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f16_gflops: Option<f64>,
    /// How `read_gbps` was measured, where the backend says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_probe: Option<ReadProbe>,
}

/// How a read-bandwidth peak was measured: the best of `passes` passes over `bytes`.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReadProbe {
    /// Bytes of the buffer read in one pass.
    pub bytes: u64,
    /// The last-level cache the buffer was sized from (0: not sized from a cache).
    pub llc_bytes: u64,
    /// Threads (CPU) or workgroups (GPU) of the best pass.
    pub threads: usize,
    /// Access pattern of the best pass.
    pub pattern: &'static str,
    /// The loads used (`avx512`, `avx2`, `neon`, `vec4<u32> copy`).
    pub loads: &'static str,
    /// Passes tried in all (thread counts × patterns × passes; 0: timed by the backend's own
    /// repeat loop).
    pub passes: usize,
}

/// A backend's answer to "can you run this node?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// Yes.
    Yes,
    /// No, and why (shown in placement reports).
    No(String),
}

/// A connected piece of the graph placed on one backend.
#[derive(Clone, Debug, Default)]
pub struct Partition {
    /// Nodes in execution order.
    pub nodes: Vec<NodeId>,
    /// Values read from outside (run inputs, other partitions' outputs), bound by position.
    pub inputs: Vec<ValueId>,
    /// Values produced here and needed outside (graph outputs, other partitions), bound by position.
    pub outputs: Vec<ValueId>,
    /// State values this partition reads or updates in place, bound by position.
    pub states: Vec<ValueId>,
}

/// Memory on a device holding one tensor.
pub trait DeviceBuffer: Any + Send + Sync {
    /// Dtype and shape of what it holds.
    fn desc(&self) -> &TensorDesc;
    /// For downcasting by the owning backend.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting by the owning backend.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The buffers a compiled partition runs on, in the order of its [`Partition`] lists.
pub struct Bindings<'a> {
    /// One per `Partition::inputs`.
    pub inputs: Vec<&'a dyn DeviceBuffer>,
    /// One per `Partition::outputs`.
    pub outputs: Vec<&'a mut dyn DeviceBuffer>,
    /// One per `Partition::states`.
    pub states: Vec<&'a mut dyn DeviceBuffer>,
}

/// The time one node took.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NodeTiming {
    /// The node.
    pub node: NodeId,
    /// Start, in nanoseconds since the partition's run began.
    pub start_ns: u64,
    /// Duration in nanoseconds.
    pub duration_ns: u64,
}

/// A compiled partition.
pub trait Executable: Send {
    /// Runs once. `position` resolves `Position::Run` parameters; with `profile` set, returns one
    /// timing per node (device timestamps where the backend has them).
    fn run(&mut self, bindings: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>>;
    /// Bytes of intermediate memory this executable holds (after buffer reuse).
    fn scratch_bytes(&self) -> u64;
    /// Bytes of constants (weights, possibly repacked) it holds.
    fn constant_bytes(&self) -> u64;
    /// Device cycles per node of the last profiled run, where the device counts them (an NPU's
    /// per-op cycle counters, e.g. QNN HTP); empty where it does not.
    fn last_cycles(&self) -> Vec<(NodeId, u64)> {
        Vec::new()
    }
}

/// A device that can run (part of) a graph.
pub trait Backend: Send + Sync {
    /// Short name used on the command line and in reports.
    fn name(&self) -> &str;
    /// The device.
    fn device(&self) -> DeviceInfo;
    /// Runs the probes (FMA rate, read bandwidth); takes up to a few seconds.
    fn measure_peaks(&self) -> Result<Peaks>;
    /// Whether this backend can run `node` of `graph` with its dtypes and shapes.
    fn supports(&self, graph: &Graph, node: NodeId) -> Support;
    /// Compiles a partition (weights are read from `graph`).
    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>>;
    /// Allocates device memory for a tensor of `desc`, or a typed error at the device's limits.
    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>>;
    /// Allocates a buffer holding zeros (a fresh KV cache). The default uploads a host tensor of
    /// zeros; a backend whose fresh memory is already zero overrides it to skip that copy (and
    /// the host pages it would touch).
    fn allocate_zeroed(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        let mut buf = self.allocate(desc)?;
        self.upload(buf.as_mut(), &Tensor::zeros(desc.clone())?)?;
        Ok(buf)
    }
    /// Copies a host tensor into a buffer of the same dtype and shape.
    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()>;
    /// Copies a buffer back to the host.
    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor>;

    /// The arithmetic the conformance suite should hold this backend to: its accumulation precision
    /// and which quant matmuls quantize activations to 8 bits. The default is f32 accumulation with
    /// 8-bit activations allowed for every quant format; override it to be held to less.
    fn tolerance_profile(&self) -> crate::conform::ToleranceProfile {
        crate::conform::ToleranceProfile::default()
    }
}
