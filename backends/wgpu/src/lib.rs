//! edgehal's wgpu backend: the WGSL kernels of `edgehal-shaders`, lowered by `edgehal-gpu`, on any
//! adapter wgpu finds (Vulkan, Metal, DX12, GL).
//!
//! ```no_run
//! use edgehal::{Backend, Graph, DType, Policy, Session, Tensor};
//! use std::sync::Arc;
//!
//! let gpu = Arc::new(edgehal_wgpu::WgpuBackend::new()?);
//! println!("{}", gpu.device().name);
//! let mut g = Graph::new();
//! let x = g.input("x", DType::F32, &[4, 64])?;
//! let y = g.silu(x)?;
//! g.output(y)?;
//! let cpu = Arc::new(edgehal::CpuBackend::new()?);
//! let mut s = Session::new(g, vec![gpu, cpu], Policy::default())?;
//! let out = s.run(&[("x", &Tensor::from_f32([4, 64], &vec![0.5; 256])?)])?;
//! # Ok::<(), edgehal::Error>(())
//! ```
//!
//! Adapter choice: on Linux only `Backends::VULKAN` is asked (so one GPU is not listed twice, once
//! through Vulkan and once through GL); `EDGEHAL_WGPU_BACKENDS` (`vulkan,gl,metal,dx12` or `all`)
//! overrides it, and `EDGEHAL_WGPU_ADAPTER` (an index into [`adapters`] or a substring of the
//! adapter's name) picks one adapter; else the first GPU, in wgpu's order, wins over a CPU adapter.

mod buffer;
mod context;
mod exec;
mod pipelines;
mod probe;

pub use context::{AdapterSummary, WgpuOptions, adapters};

use buffer::WgpuBuffer;
use context::Context;
use edgehal::{
    Backend, DeviceBuffer, DeviceInfo, DeviceKind, Error, Executable, Graph, NodeId, Partition, Peaks, Result, Support,
    Tensor, TensorDesc,
};
use edgehal_gpu::Caps;
use std::sync::Arc;

/// The wgpu backend: one adapter, one device and queue.
pub struct WgpuBackend {
    cx: Arc<Context>,
}

impl WgpuBackend {
    /// The adapter chosen by the environment (see the crate docs), or a typed "unavailable" error.
    pub fn new() -> Result<Self> {
        Self::with_options(WgpuOptions::from_env())
    }

    /// The adapter chosen by `options`.
    pub fn with_options(options: WgpuOptions) -> Result<Self> {
        Ok(WgpuBackend { cx: Arc::new(Context::new(&options)?) })
    }

    /// The capability table the kernels are picked from.
    pub fn caps(&self) -> &Caps {
        &self.cx.caps
    }

    /// Whether the device was lost: every later call on this backend (and the sessions and
    /// buffers made with it) fails with `Error::DeviceLost`; create a new backend.
    pub fn is_device_lost(&self) -> bool {
        self.cx.health.is_lost()
    }

    /// Fault-injection test hook: the next wait for the queue (after a run, an upload or a
    /// download) reports the device lost and destroys the wgpu device, so the loss is real from
    /// then on. For tests of error handling only.
    #[doc(hidden)]
    pub fn inject_device_lost(&self) {
        self.cx.health.inject_loss();
    }

    /// Errors wgpu reported outside an operation that could return them (validation of a command
    /// that slipped through), oldest first; empty when all went well.
    pub fn uncaptured_errors(&self) -> Vec<String> {
        self.cx.uncaptured_errors()
    }
}

impl Backend for WgpuBackend {
    fn name(&self) -> &str {
        "wgpu"
    }

    fn device(&self) -> DeviceInfo {
        let info = &self.cx.info;
        let mut features =
            vec![format!("api={:?}", info.backend), format!("driver={} {}", info.driver, info.driver_info)];
        features.extend(self.cx.caps.feature_names());
        if self.cx.timestamps {
            features.push("timestamp-query".into());
        }
        if self.cx.timestamps_in_passes {
            features.push("timestamp-query-inside-passes".into());
        }
        DeviceInfo {
            backend: "wgpu".into(),
            name: info.name.clone(),
            kind: match info.device_type {
                wgpu::DeviceType::Cpu => DeviceKind::Cpu,
                _ => DeviceKind::Gpu,
            },
            memory_bytes: self.cx.caps.max_buffer,
            features,
            workers: self.cx.caps.max_invocations as usize,
            device_timestamps: self.cx.timestamps,
        }
    }

    fn measure_peaks(&self) -> Result<Peaks> {
        probe::measure_peaks(&self.cx)
    }

    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        edgehal_gpu::supports(graph, node, &self.cx.caps)
    }

    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        let program = edgehal_gpu::lower(graph, partition, &self.cx.caps, "wgpu")?;
        Ok(Box::new(exec::WgpuExecutable::new(self.cx.clone(), program)?))
    }

    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        Ok(Box::new(WgpuBuffer::new(&self.cx, desc)?))
    }

    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        buffer::upload(&self.cx, dst, src)
    }

    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        buffer::download(&self.cx, src)
    }
}

/// A typed error for this backend.
pub(crate) fn backend_error(why: impl Into<String>) -> Error {
    Error::Backend { backend: "wgpu".into(), why: why.into() }
}
