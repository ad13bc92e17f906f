//! [`NnapiBackend`]: the `edgehal::Backend` contract over the NNAPI runtime.

use crate::buffer::{NnapiBuffer, nnapi_buffer, nnapi_buffer_mut};
use crate::devices::{self, DeviceHandle, NnapiDevice};
use crate::error::{BACKEND, backend_error, unsupported};
use crate::lower::{Lowered, lower};
use crate::options::NnapiOptions;
use crate::runtime::{Api, NativeCompilation, NativeModel};
use crate::symbols::{DEFAULT_LIBRARY, LoadedLibrary, Symbols};
use edgehal::{
    Backend, Bindings, DeviceBuffer, DeviceInfo, DeviceKind, Error, Executable, Graph, NodeId, NodeTiming, Partition,
    Peaks, Result, Support, Tensor, TensorDesc, ValueSource,
};
use std::path::PathBuf;
use std::sync::Arc;

/// The backend is shared between threads; an executable moves between them (see [`NnapiBackend`]).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<NnapiBackend>();
    send::<NnapiExecutable>();
};

/// The NNAPI backend: one runtime, one chosen device (or the runtime's own choice on runtimes
/// without the device API), compiling each partition into one NNAPI model.
///
/// **Threads.** `NnapiBackend` is `Send + Sync` (checked at compile time in this module), so one
/// backend is shared by sessions on many threads through an `Arc`: the runtime's entry points,
/// the device handle and the options are immutable after creation, and the only shared mutable
/// state, the lost-or-not record, sits behind a mutex. Each `compile` builds its own NNAPI model and
/// compilation, which no other executable touches; a finished model is immutable and NNAPI
/// allows its use from any thread. An executable is `Send` but not `Sync`: `run` takes `&mut
/// self` and creates one `ANeuralNetworksExecution` per run (the compilation's burst, when there
/// is one, is used by that one executable only), so one session runs on one thread at a time and
/// may move between threads. Executions of two sessions may reach the runtime at the same time;
/// ordering their work on the device is the runtime's and the driver's job.
///
/// **Faults.** The first `ANEURALNETWORKS_DEAD_OBJECT` from any entry point (the driver or the
/// NNAPI service died) is `Error::DeviceLost`, and the backend stays lost: every later compile,
/// allocate, upload, download and run returns `Error::DeviceLost` naming what it was about to do
/// and the first loss, without calling NNAPI again (dropping what was made still frees its
/// handles). Drop the sessions and the backend, and create a new backend.
pub struct NnapiBackend {
    api: Arc<Api>,
    device: Option<(DeviceHandle, NnapiDevice)>,
    feature_level: i64,
    options: NnapiOptions,
}

impl NnapiBackend {
    /// Opens `libneuralnetworks.so` (or `EDGEHAL_NNAPI_LIB`) and picks the device named by
    /// `EDGEHAL_NNAPI_DEVICE` (see [`NnapiOptions::from_env`]). Where there is no library this is
    /// `Error::Backend { backend: "nnapi", why: "unavailable: ..." }`.
    pub fn new() -> Result<Self> {
        Self::with_options(NnapiOptions::from_env()?)
    }

    /// Opens the library and picks the device that `options` name.
    pub fn with_options(options: NnapiOptions) -> Result<Self> {
        let path = options.library.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LIBRARY));
        let api = Api::from_library(LoadedLibrary::open(&path)?);
        Self::from_api(Arc::new(api), options)
    }

    /// A backend over an explicit symbol table (a test fake, or entry points found another way).
    /// The functions must stay callable for the life of the process.
    pub fn from_symbols(symbols: Symbols, options: NnapiOptions) -> Result<Self> {
        Self::from_api(Arc::new(Api::from_symbols(symbols)), options)
    }

    fn from_api(api: Arc<Api>, options: NnapiOptions) -> Result<Self> {
        let listed = devices::enumerate(&api)?;
        let device = devices::choose(&listed, options.device.as_deref())?;
        let runtime = devices::runtime_feature_level(&api);
        let feature_level = device.as_ref().map_or(runtime, |(_, d)| d.feature_level.min(runtime));
        Ok(NnapiBackend { api, device, feature_level, options })
    }

    /// Every device the runtime lists.
    pub fn devices(&self) -> Result<Vec<NnapiDevice>> {
        Ok(devices::enumerate(&self.api)?.into_iter().map(|(_, d)| d).collect())
    }

    /// The device partitions are compiled for (`None`: the runtime's choice).
    pub fn chosen_device(&self) -> Option<&NnapiDevice> {
        self.device.as_ref().map(|(_, d)| d)
    }

    /// The feature level models are lowered for: the device's, capped by the runtime's.
    pub fn feature_level(&self) -> i64 {
        self.feature_level
    }

    /// The options in force.
    pub fn options(&self) -> &NnapiOptions {
        &self.options
    }

    /// Whether the NNAPI service was lost (an entry point returned `ANEURALNETWORKS_DEAD_OBJECT`):
    /// every later call on this backend, and on the executables compiled by it, fails with
    /// `Error::DeviceLost`; create a new backend.
    pub fn is_device_lost(&self) -> bool {
        self.api.health.is_lost()
    }

    /// Lowers a partition to the model [`Backend::compile`] would build (no FFI calls).
    pub fn lower(&self, graph: &Graph, partition: &Partition) -> Result<Lowered> {
        lower(graph, partition, self.feature_level)
    }

    /// The device's answer per operation, or `None` where it cannot be asked: no device API, or
    /// a lost service (then the lowering's static table answers, and `compile` reports the loss
    /// as `Error::DeviceLost` rather than the session seeing an unsupported node).
    fn ask_device(&self, lowered: &Lowered) -> Result<Option<Vec<bool>>> {
        let Some((dev, _)) = &self.device else { return Ok(None) };
        if self.api.symbols.model_get_supported_operations_for_devices.is_none() || self.is_device_lost() {
            return Ok(None);
        }
        let asked = NativeModel::build(&self.api, Arc::new(lowered.model.clone()))
            .and_then(|model| model.supported_operations(*dev, lowered.model.operations.len()));
        match asked {
            Err(Error::DeviceLost { .. }) => Ok(None),
            other => other,
        }
    }
}

/// The devices of the runtime found as [`NnapiBackend::new`] finds it (for `edgehal devices`).
pub fn list_devices() -> Result<Vec<NnapiDevice>> {
    let options = NnapiOptions::from_env()?;
    let path = options.library.unwrap_or_else(|| PathBuf::from(DEFAULT_LIBRARY));
    let api = Api::from_library(LoadedLibrary::open(&path)?);
    Ok(devices::enumerate(&api)?.into_iter().map(|(_, d)| d).collect())
}

/// A partition of the one node `n`: its run-time inputs and states, its output.
pub fn single_node_partition(graph: &Graph, n: NodeId) -> Partition {
    let node = graph.node(n);
    let mut part = Partition { nodes: vec![n], outputs: vec![node.output], ..Partition::default() };
    for &v in &node.inputs {
        let list = match graph.value(v).source {
            ValueSource::Weight(_) => continue,
            ValueSource::State(_) => &mut part.states,
            _ if graph.state_of(v).is_some() => &mut part.states,
            _ => &mut part.inputs,
        };
        if !list.contains(&v) {
            list.push(v);
        }
    }
    part
}

impl Backend for NnapiBackend {
    fn name(&self) -> &str {
        BACKEND
    }

    fn device(&self) -> DeviceInfo {
        let mut features =
            vec![format!("feature-level={}", self.feature_level), format!("preference={:?}", self.options.preference)];
        let name = match &self.device {
            Some((_, d)) => {
                features.push(format!("type={}", d.type_name()));
                features.push(format!("version={}", d.version));
                d.name.clone()
            }
            None => "NNAPI (runtime's device choice)".into(),
        };
        if self.options.burst && self.api.symbols.burst_create.is_some() {
            features.push("burst".into());
        }
        DeviceInfo {
            backend: BACKEND.into(),
            name,
            kind: DeviceKind::Npu,
            // NNAPI does not report device memory.
            memory_bytes: 0,
            features,
            workers: 1,
            device_timestamps: self.device.is_some() && self.api.symbols.execution_set_measure_timing.is_some(),
        }
    }

    fn measure_peaks(&self) -> Result<Peaks> {
        Err(unsupported(
            "measure_peaks",
            "no NNAPI probe measures FMA rate or bandwidth yet, and edgehal reports no datasheet figures",
        ))
    }

    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        let lowered = match lower(graph, &single_node_partition(graph, node), self.feature_level) {
            Ok(l) => l,
            Err(e) => return Support::No(e.to_string()),
        };
        match self.ask_device(&lowered) {
            // The lowering refused every operation above the device's feature level (static table).
            Ok(None) => Support::Yes,
            Ok(Some(flags)) if flags.iter().all(|&f| f) => Support::Yes,
            Ok(Some(flags)) => {
                let refused: Vec<&str> = lowered
                    .model
                    .operations
                    .iter()
                    .zip(&flags)
                    .filter(|(_, f)| !**f)
                    .map(|(o, _)| o.code.name())
                    .collect();
                let device = self.chosen_device().map_or("", |d| d.name.as_str());
                Support::No(format!("device {device} does not support NNAPI operations {}", refused.join(", ")))
            }
            Err(e) => Support::No(format!("asking the device failed: {e}")),
        }
    }

    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        self.api.health.check("compiling a partition")?;
        let lowered = lower(graph, partition, self.feature_level)?;
        let salt = match &self.device {
            Some((_, d)) => format!("{} {} {}", d.name, d.version, self.feature_level),
            None => format!("runtime {}", self.feature_level),
        };
        let token = lowered.model.cache_token(&salt);
        let constant_bytes = lowered.model.constant_bytes();
        let desc = |v| graph.value(v).desc.clone();
        let inputs: Vec<TensorDesc> = lowered.inputs.iter().map(|&v| desc(v)).collect();
        let outputs: Vec<TensorDesc> = lowered.outputs.iter().map(|&v| desc(v)).collect();
        let model = NativeModel::build(&self.api, Arc::new(lowered.model))?;
        let compilation = NativeCompilation::new(model, self.device.as_ref().map(|(h, _)| *h), &self.options, &token)?;
        let last_node = *partition.nodes.last().ok_or_else(|| backend_error("compile: an empty partition"))?;
        Ok(Box::new(NnapiExecutable { compilation, inputs, outputs, last_node, constant_bytes }))
    }

    /// Host memory, but refused once the service is lost, as every call is (see the type's docs).
    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        self.api.health.check("allocating a buffer")?;
        Ok(Box::new(NnapiBuffer::new(desc)?))
    }

    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        self.api.health.check("uploading a tensor")?;
        crate::buffer::upload(dst, src)
    }

    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        self.api.health.check("downloading a tensor")?;
        crate::buffer::download(src)
    }
}

/// A compiled partition: the compilation (which holds the model) and the tensors it binds.
struct NnapiExecutable {
    compilation: NativeCompilation,
    /// Model inputs: the partition's inputs, then its states.
    inputs: Vec<TensorDesc>,
    outputs: Vec<TensorDesc>,
    last_node: NodeId,
    constant_bytes: u64,
}

impl Executable for NnapiExecutable {
    /// NNAPI times a whole execution, not its operations: with `profile`, the partition's one
    /// duration (device time from `getDuration`, else host time) is reported on its last node.
    fn run(&mut self, bindings: Bindings<'_>, _position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        self.compilation.check_lost("running a partition")?;
        let given = bindings.inputs.len() + bindings.states.len();
        if given != self.inputs.len() || bindings.outputs.len() != self.outputs.len() {
            return Err(backend_error(format!(
                "run: the model takes {} inputs and states and {} outputs, got {given} and {}",
                self.inputs.len(),
                self.outputs.len(),
                bindings.outputs.len()
            )));
        }
        let states: Vec<&dyn DeviceBuffer> = bindings.states.iter().map(|s| &**s).collect();
        let mut inputs = Vec::with_capacity(given);
        for (b, want) in bindings.inputs.iter().copied().chain(states).zip(&self.inputs) {
            inputs.push(nnapi_buffer(b, want)?.data.as_slice());
        }
        let mut outputs = Vec::with_capacity(self.outputs.len());
        for (b, want) in bindings.outputs.into_iter().zip(&self.outputs) {
            outputs.push(nnapi_buffer_mut(b, want)?.data.as_mut_slice());
        }
        let start = std::time::Instant::now();
        let device_ns = self.compilation.execute(&inputs, &mut outputs, profile)?;
        let host_ns = start.elapsed().as_nanos() as u64;
        if !profile {
            return Ok(Vec::new());
        }
        Ok(vec![NodeTiming { node: self.last_node, start_ns: 0, duration_ns: device_ns.unwrap_or(host_ns) }])
    }

    fn scratch_bytes(&self) -> u64 {
        // The driver owns intermediate memory and does not report it.
        0
    }

    fn constant_bytes(&self) -> u64 {
        self.constant_bytes
    }
}
