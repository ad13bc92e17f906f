//! [`QnnBackend`]: the edgehal `Backend` over one QNN backend library (CPU or HTP).

use crate::buffer::{self, QnnBuffer};
use crate::context_cache::ContextCache;
use crate::executable::QnnExecutable;
use crate::lower::{lower_node_alone, lower_partition};
use crate::runtime::{CompileOptions, LoadOptions, QnnBackendKind, QnnRuntime};
use crate::trial::Trials;
use edgehal::conform::{ComputePrecision, ToleranceProfile};
use edgehal::{
    Backend, DType, DeviceBuffer, DeviceInfo, DeviceKind, Executable, Graph, NodeId, Op, Partition, Peaks, Result,
    Support, Tensor, TensorDesc,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a [`QnnBackend`] is set up.
#[derive(Clone, Debug)]
pub struct QnnOptions {
    /// Where the library is and how verbose its log is.
    pub load: LoadOptions,
    /// Collect per-op profile events on every execution (HTP: cycles per op).
    pub profiling: bool,
    /// A directory for context binaries: a compiled partition is saved there and loaded instead
    /// of compiled on the next run (the on-device start-up path). `None`: compile every time.
    pub context_cache: Option<PathBuf>,
}

impl QnnOptions {
    /// From the environment: the library options of [`LoadOptions::from_env`], profiling on
    /// unless `EDGEHAL_QNN_PROFILE=0`, context binaries in `EDGEHAL_QNN_CONTEXT_CACHE` if set.
    pub fn from_env(kind: QnnBackendKind) -> Self {
        QnnOptions {
            load: LoadOptions::from_env(kind),
            profiling: std::env::var("EDGEHAL_QNN_PROFILE").map_or(true, |v| v != "0"),
            context_cache: std::env::var_os("EDGEHAL_QNN_CONTEXT_CACHE").filter(|v| !v.is_empty()).map(PathBuf::from),
        }
    }
}

/// Counters of context-binary use, for tests and reports.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextStats {
    /// Partitions compiled from their QNN graph description.
    pub compiled: usize,
    /// Partitions loaded from a saved context binary.
    pub loaded: usize,
    /// Context binaries written.
    pub saved: usize,
}

/// A QNN backend (`qnn-cpu` or `qnn-htp`).
pub struct QnnBackend {
    runtime: Arc<QnnRuntime>,
    options: QnnOptions,
    cache: Option<ContextCache>,
    trials: Trials,
    graphs: AtomicUsize,
    compiled: AtomicUsize,
    loaded: AtomicUsize,
    saved: AtomicUsize,
}

impl QnnBackend {
    /// The backend `kind` as the environment sets it up, or a typed "unavailable: <why>" error.
    pub fn new(kind: QnnBackendKind) -> Result<Self> {
        Self::with_options(kind, QnnOptions::from_env(kind))
    }

    /// The backend `kind` set up by `options`.
    pub fn with_options(kind: QnnBackendKind, options: QnnOptions) -> Result<Self> {
        let runtime = QnnRuntime::load(kind, &options.load)?;
        let cache = options.context_cache.as_deref().map(|dir| ContextCache::new(dir, &runtime));
        Ok(QnnBackend {
            runtime,
            options,
            cache,
            trials: Trials::default(),
            graphs: AtomicUsize::new(0),
            compiled: AtomicUsize::new(0),
            loaded: AtomicUsize::new(0),
            saved: AtomicUsize::new(0),
        })
    }

    /// The loaded runtime (library path, API version, build id).
    pub fn runtime(&self) -> &Arc<QnnRuntime> {
        &self.runtime
    }

    /// How partitions were obtained so far.
    pub fn context_stats(&self) -> ContextStats {
        ContextStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            loaded: self.loaded.load(Ordering::Relaxed),
            saved: self.saved.load(Ordering::Relaxed),
        }
    }

    fn compile_options(&self) -> CompileOptions {
        CompileOptions {
            profiling: self.options.profiling,
            htp_fp16_precision: self.runtime.kind() == QnnBackendKind::Htp,
        }
    }

    fn kind_name(&self) -> &'static str {
        self.runtime.kind().name()
    }
}

impl Backend for QnnBackend {
    fn name(&self) -> &str {
        self.kind_name()
    }

    fn device(&self) -> DeviceInfo {
        let kind = self.runtime.kind();
        let mut features = vec![
            format!("api={}", self.runtime.api_version()),
            format!("build={}", self.runtime.build_id()),
            format!("library={}", self.runtime.library_path().display()),
        ];
        if self.options.profiling {
            features.push("per-op-profiling".into());
        }
        if kind == QnnBackendKind::Htp {
            features.push("fp16-precision".into());
        }
        DeviceInfo {
            backend: kind.name().into(),
            name: match kind {
                QnnBackendKind::Cpu => "Qualcomm QNN CPU backend".into(),
                QnnBackendKind::Htp => "Qualcomm QNN HTP backend (x86-64: functional simulator)".into(),
            },
            kind: match kind {
                QnnBackendKind::Cpu => DeviceKind::Cpu,
                QnnBackendKind::Htp => DeviceKind::Npu,
            },
            memory_bytes: 0,
            features,
            workers: 1,
            device_timestamps: false,
        }
    }

    fn measure_peaks(&self) -> Result<Peaks> {
        crate::probe::measure_peaks(self)
    }

    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        let n = graph.node(node);
        if self.runtime.kind() == QnnBackendKind::Htp {
            // Measured on the x86-64 simulator (QNN 2.36 core API, conformance 2026-11-24): Cast to
            // f32 returns wrong values, and LayerNorm graphs fail in graphExecute with
            // QNN_GRAPH_ERROR_SET_PROFILE for some shapes the trial run does not catch.
            match n.op {
                Op::Cast { to: DType::F32 } => return Support::No("qnn-htp: Cast to f32 gives wrong values".into()),
                Op::LayerNorm { .. } => return Support::No("qnn-htp: LayerNorm fails in graphExecute (6006)".into()),
                _ => {}
            }
        }
        let lowered = match lower_node_alone(graph, node, self.runtime.kind()) {
            Ok(l) => l,
            Err(e) => return Support::No(e.to_string()),
        };
        for (i, op) in lowered.desc.ops.iter().enumerate() {
            if let Err(why) = self.runtime.validate_op(&lowered.desc, i) {
                return Support::No(format!("{} refuses {}: {why}", self.kind_name(), op.type_name));
            }
        }
        self.trials.check(&self.runtime, &lowered.desc, &self.compile_options())
    }

    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        let name = format!("edgehal_{}", self.graphs.fetch_add(1, Ordering::Relaxed));
        let mut lowered = lower_partition(graph, partition, self.runtime.kind(), &name)?;
        let options = self.compile_options();
        let qnn = match &self.cache {
            Some(cache) => {
                // The graph name is part of what is hashed: name the graph by its content.
                lowered.desc.name = cache.graph_name(&lowered.desc);
                match cache.load(&self.runtime, &lowered.desc, &options)? {
                    Some(g) => {
                        self.loaded.fetch_add(1, Ordering::Relaxed);
                        g
                    }
                    None => {
                        let g = self.runtime.compile(&lowered.desc, &options)?;
                        self.compiled.fetch_add(1, Ordering::Relaxed);
                        cache.save(&lowered.desc, &g)?;
                        self.saved.fetch_add(1, Ordering::Relaxed);
                        g
                    }
                }
            }
            None => {
                let g = self.runtime.compile(&lowered.desc, &options)?;
                self.compiled.fetch_add(1, Ordering::Relaxed);
                g
            }
        };
        Ok(Box::new(QnnExecutable::new(self.kind_name(), qnn, &lowered, partition)?))
    }

    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        Ok(Box::new(QnnBuffer::new(self.kind_name(), desc)?))
    }

    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        buffer::upload(self.kind_name(), dst, src)
    }

    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        buffer::download(self.kind_name(), src)
    }

    /// The CPU backend computes in f32; HTP runs float graphs in f16.
    fn tolerance_profile(&self) -> ToleranceProfile {
        let compute = match self.runtime.kind() {
            QnnBackendKind::Cpu => ComputePrecision::F32,
            QnnBackendKind::Htp => ComputePrecision::F16,
        };
        ToleranceProfile { compute, quantized_activations: Vec::new(), bf16_activations: Vec::new() }
    }
}
