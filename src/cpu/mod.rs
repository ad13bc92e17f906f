//! The built-in CPU backend: every op, on the kernels crate's SIMD kernels, on its own thread pool.

mod compile;
mod exec;
mod probe;

pub use probe::cache::{CacheSize, last_level_cache};

use crate::backend::{Backend, DeviceBuffer, DeviceInfo, DeviceKind, Executable, Partition, Peaks, Support};
use crate::error::{Error, Result};
use crate::graph::{Graph, NodeId};
use crate::tensor::{AlignedBytes, Tensor, TensorDesc};
use std::any::Any;
use std::sync::Arc;

/// The CPU backend. It supports every op and dtype, so the session falls back to it.
pub struct CpuBackend {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    packed: compile::PackedCache,
    f32_activations: bool,
}

impl CpuBackend {
    /// A backend using one thread per available core (f32 activations when
    /// `EDGEHAL_F32_ACTIVATIONS=1`, as for the GPU backends).
    pub fn new() -> Result<Self> {
        let f32_acts = std::env::var("EDGEHAL_F32_ACTIVATIONS").is_ok_and(|v| v == "1");
        Ok(Self::with_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))?
            .with_f32_activations(f32_acts))
    }

    /// A backend with `threads` worker threads.
    pub fn with_threads(threads: usize) -> Result<Self> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("edgehal-cpu-{i}"))
            .build()
            .map_err(|e| Error::Backend {
                backend: "cpu".into(),
                why: format!("cannot start {threads} threads: {e}"),
            })?;
        Ok(CpuBackend {
            pool: Arc::new(pool),
            threads,
            packed: compile::PackedCache::default(),
            f32_activations: false,
        })
    }

    /// Keeps activations in f32 in matmuls on quantized weights (the weights are decoded to f32
    /// in the kernel) instead of rounding them to 8 bits per block of 32 as ggml does. Several
    /// times slower; for checking a model against an exact reference or another backend, where
    /// the 8-bit rounding (logit errors of a few tenths on a 30-layer model) flips near-ties.
    pub fn with_f32_activations(mut self, on: bool) -> Self {
        self.f32_activations = on;
        self
    }

    /// Runs `f` on this backend's thread pool (kernels called inside use its threads).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}

/// A tensor in host memory, owned by the CPU backend.
pub struct CpuBuffer {
    pub(crate) desc: TensorDesc,
    pub(crate) data: AlignedBytes,
}

impl DeviceBuffer for CpuBuffer {
    fn desc(&self) -> &TensorDesc {
        &self.desc
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Downcasts a buffer that must belong to the CPU backend.
pub(crate) fn cpu_buffer(b: &dyn DeviceBuffer) -> Result<&CpuBuffer> {
    b.as_any().downcast_ref().ok_or_else(|| foreign_buffer(b))
}

/// Downcasts a mutable buffer that must belong to the CPU backend.
pub(crate) fn cpu_buffer_mut(b: &mut dyn DeviceBuffer) -> Result<&mut CpuBuffer> {
    if b.as_any().is::<CpuBuffer>() {
        Ok(b.as_any_mut().downcast_mut().expect("checked above"))
    } else {
        Err(foreign_buffer(b))
    }
}

fn foreign_buffer(b: &dyn DeviceBuffer) -> Error {
    Error::Backend { backend: "cpu".into(), why: format!("buffer of {:?} belongs to another backend", b.desc().shape) }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn device(&self) -> DeviceInfo {
        DeviceInfo {
            backend: "cpu".into(),
            name: probe::cpu_model(),
            kind: DeviceKind::Cpu,
            memory_bytes: probe::total_memory(),
            features: probe::cpu_features(),
            workers: self.threads,
            device_timestamps: false,
        }
    }

    fn measure_peaks(&self) -> Result<Peaks> {
        Ok(self.install(probe::measure_peaks))
    }

    fn supports(&self, _graph: &Graph, _node: NodeId) -> Support {
        Support::Yes
    }

    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        let exe = self.install(|| {
            compile::CpuExecutable::new(graph, partition, self.pool.clone(), &self.packed, self.f32_activations)
        })?;
        Ok(Box::new(exe))
    }

    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        let len = desc.byte_len("buffer")?;
        let data =
            AlignedBytes::try_zeroed(len).ok_or(Error::OutOfMemory { backend: "cpu".into(), bytes: len as u64 })?;
        Ok(Box::new(CpuBuffer { desc: desc.clone(), data }))
    }

    /// `allocate` already gives zeroed memory (untouched pages until written).
    fn allocate_zeroed(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        self.allocate(desc)
    }

    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        let dst = cpu_buffer_mut(dst)?;
        if dst.desc != *src.desc() {
            return Err(Error::Input(format!(
                "upload: tensor {} {:?} into a buffer of {} {:?}",
                src.dtype(),
                src.shape(),
                dst.desc.dtype,
                dst.desc.shape
            )));
        }
        dst.data.as_mut().copy_from_slice(src.bytes());
        Ok(())
    }

    fn tolerance_profile(&self) -> crate::conform::ToleranceProfile {
        crate::conform::ToleranceProfile::cpu()
    }

    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        let src = cpu_buffer(src)?;
        Tensor::from_bytes(src.desc.dtype, src.desc.shape.clone(), src.data.as_ref())
    }
}
