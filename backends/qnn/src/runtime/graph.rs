//! Building (context, graph, tensors, nodes, finalize), validating and executing graphs.

use std::ffi::c_void;
use std::sync::Arc;

use crate::desc::QnnGraphDesc;

use super::error::{backend_error, call_error, describe};
use super::ffi::{self, Handle};
use super::library::{QnnBackendKind, QnnRuntime, qnn_fn};
use super::log;
use super::profile::{ExecProfile, Profile};
use super::tensors::{NodeConfig, TensorSet, c_string};

/// Options for [`QnnRuntime::compile`] and [`QnnRuntime::load_context_binary`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Collect per-op profiling events on each execute (QNN profile level detailed).
    pub profiling: bool,
    /// HTP: run float graphs in f16 precision (HTP graph custom config PRECISION = FLOAT16); needed
    /// for f32 graphs on HTP. Ignored by the CPU backend.
    pub htp_fp16_precision: bool,
}

/// The graph configs for `options` on `kind`, owned: `list` is the NULL-terminated pointer array
/// `graphCreate` takes.
pub(crate) struct GraphConfigs {
    _htp: Box<ffi::HtpGraphCustomConfig>,
    _configs: Vec<ffi::GraphConfig>,
    list: Vec<*const ffi::GraphConfig>,
}

impl GraphConfigs {
    pub fn new(kind: QnnBackendKind, options: &CompileOptions) -> GraphConfigs {
        let mut htp = Box::new(ffi::HtpGraphCustomConfig {
            option: ffi::HTP_GRAPH_CONFIG_OPTION_PRECISION,
            _align: 0,
            precision: ffi::PRECISION_FLOAT16,
            _rest: [0; 15],
        });
        let mut configs = Vec::new();
        if kind == QnnBackendKind::Htp && options.htp_fp16_precision {
            configs.push(ffi::GraphConfig {
                option: ffi::GRAPH_CONFIG_OPTION_CUSTOM,
                custom_config: &mut *htp as *mut ffi::HtpGraphCustomConfig as *mut c_void,
            });
        }
        let mut list: Vec<*const ffi::GraphConfig> = configs.iter().map(|c| c as *const ffi::GraphConfig).collect();
        list.push(std::ptr::null());
        GraphConfigs { _htp: htp, _configs: configs, list }
    }

    pub fn as_ptr(&self) -> *const *const ffi::GraphConfig {
        self.list.as_ptr()
    }
}

/// A finalized (or retrieved) graph in its own context. Frees the context on drop; keeps the
/// runtime (and so the library) alive.
pub struct QnnGraph {
    pub(crate) rt: Arc<QnnRuntime>,
    pub(crate) context: Handle,
    pub(crate) graph: Handle,
    pub(crate) name: String,
    /// QNN structs of the graph's tensors with their ids (index = tensor index of the desc).
    pub(crate) tensors: TensorSet,
    pub(crate) inputs: Vec<usize>,
    pub(crate) outputs: Vec<usize>,
    pub(crate) input_bytes: Vec<usize>,
    pub(crate) output_bytes: Vec<usize>,
    pub(crate) profiling: bool,
}

// SAFETY: the handles are owned by this value alone and every call using them takes the runtime's
// lock; the pointers inside `tensors` point to heap data owned by `tensors`.
unsafe impl Send for QnnGraph {}

impl std::fmt::Debug for QnnGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QnnGraph").field("name", &self.name).field("backend", &self.rt.kind()).finish()
    }
}

impl QnnGraph {
    /// An empty graph value for `desc` (no context yet) that frees whatever gets attached to it.
    pub(crate) fn empty(rt: &Arc<QnnRuntime>, desc: &QnnGraphDesc, options: &CompileOptions) -> QnnGraph {
        QnnGraph {
            rt: rt.clone(),
            context: std::ptr::null_mut(),
            graph: std::ptr::null_mut(),
            name: desc.name.clone(),
            tensors: TensorSet::default(),
            inputs: desc.inputs.clone(),
            outputs: desc.outputs.clone(),
            input_bytes: desc.inputs.iter().map(|&i| desc.tensors[i].bytes()).collect(),
            output_bytes: desc.outputs.iter().map(|&i| desc.tensors[i].bytes()).collect(),
            profiling: options.profiling,
        }
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The runtime the graph runs on.
    pub fn runtime(&self) -> &Arc<QnnRuntime> {
        &self.rt
    }

    /// graphExecute with client buffers: `inputs[i]` is the bytes of `graph.inputs[i]`,
    /// `outputs[i]` receives `graph.outputs[i]` (sizes are checked against the tensors). Returns
    /// the profile events of this execution when profiling is on.
    pub fn execute(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> edgehal::Result<Option<ExecProfile>> {
        let name = self.rt.kind().name();
        let op = format!("{name} execute `{}`", self.name);
        if inputs.len() != self.inputs.len() || outputs.len() != self.outputs.len() {
            return Err(edgehal::Error::shape(
                op,
                format!(
                    "graph has {} inputs and {} outputs, got {} and {} buffers",
                    self.inputs.len(),
                    self.outputs.len(),
                    inputs.len(),
                    outputs.len()
                ),
            ));
        }
        for (what, lens, want) in [
            ("input", inputs.iter().map(|b| b.len()).collect::<Vec<_>>(), &self.input_bytes),
            ("output", outputs.iter().map(|b| b.len()).collect::<Vec<_>>(), &self.output_bytes),
        ] {
            for (i, (&got, &want)) in lens.iter().zip(want.iter()).enumerate() {
                if got != want {
                    return Err(edgehal::Error::shape(
                        op,
                        format!("{what} {i} buffer has {got} bytes, the tensor needs {want}"),
                    ));
                }
            }
        }
        let mut in_tensors: Vec<ffi::Tensor> = Vec::with_capacity(inputs.len());
        for (&t, buf) in self.inputs.iter().zip(inputs) {
            let mut qt = self.tensors.tensors[t];
            // The backend only reads inputs; QNN's struct has no const variant.
            qt.v.client_buf = ffi::ClientBuffer { data: buf.as_ptr() as *mut c_void, data_size: buf.len() as u32 };
            in_tensors.push(qt);
        }
        // Outputs get their own dims arrays: a backend may write the produced shape into them.
        let mut out_dims: Vec<Vec<u32>> = Vec::with_capacity(outputs.len());
        let mut out_tensors: Vec<ffi::Tensor> = Vec::with_capacity(outputs.len());
        for (&t, buf) in self.outputs.iter().zip(outputs.iter_mut()) {
            let mut qt = self.tensors.tensors[t];
            // SAFETY: `dimensions` points to `rank` u32s owned by `self.tensors`.
            let dims = unsafe { std::slice::from_raw_parts(qt.v.dimensions, qt.v.rank as usize) }.to_vec();
            out_dims.push(dims);
            qt.v.dimensions = out_dims.last_mut().map_or(std::ptr::null_mut(), |d| d.as_mut_ptr());
            qt.v.client_buf = ffi::ClientBuffer { data: buf.as_mut_ptr() as *mut c_void, data_size: buf.len() as u32 };
            out_tensors.push(qt);
        }
        let rt = self.rt.clone();
        let execute = qnn_fn!(rt, graph_execute)?;
        let _guard = rt.lock();
        let profile = if self.profiling { Some(Profile::detailed(&rt)?) } else { None };
        let mark = log::mark();
        // SAFETY: the graph is finalized; the tensor arrays hold `len()` valid Qnn_Tensor_t whose
        // client buffers are the caller's slices (sizes checked above) and whose names and dims
        // live in `self.tensors` / `out_dims` for the duration of the call.
        let err = unsafe {
            execute(
                self.graph,
                in_tensors.as_ptr(),
                in_tensors.len() as u32,
                out_tensors.as_mut_ptr(),
                out_tensors.len() as u32,
                profile.as_ref().map_or(std::ptr::null_mut(), |p| p.handle),
                std::ptr::null_mut(),
            )
        };
        if err != ffi::SUCCESS {
            return Err(call_error(name, &format!("graphExecute(`{}`)", self.name), err, mark));
        }
        profile.map(|p| p.read()).transpose()
    }
}

impl Drop for QnnGraph {
    fn drop(&mut self) {
        if self.context.is_null() {
            return;
        }
        let _guard = self.rt.lock();
        if let Some(free) = self.rt.table().context_free {
            // SAFETY: the context came from contextCreate[FromBinary], is owned by this value and is
            // freed once; its graph handle is not used afterwards.
            let err = unsafe { free(self.context, std::ptr::null_mut()) };
            if err != ffi::SUCCESS {
                tracing::warn!("{}: contextFree: {}", self.rt.kind().name(), describe(err));
            }
        }
        self.context = std::ptr::null_mut();
    }
}

/// Creates a context (`contextCreate`) for `g`. The caller holds the runtime's lock.
pub(crate) fn create_context(rt: &QnnRuntime) -> edgehal::Result<Handle> {
    let create = qnn_fn!(rt, context_create)?;
    let mark = log::mark();
    let mut context: Handle = std::ptr::null_mut();
    // SAFETY: valid backend (and device or null) handles; null config; out-pointer valid.
    let err = unsafe { create(rt.backend_handle(), rt.device_handle(), std::ptr::null(), &mut context) };
    if err != ffi::SUCCESS {
        return Err(call_error(rt.kind().name(), "contextCreate", err, mark));
    }
    Ok(context)
}

/// `graphCreate` + `tensorCreateGraphTensor` for every tensor of `desc`, in order, filling in the
/// ids. The caller holds the runtime's lock.
pub(crate) fn create_graph_and_tensors(
    rt: &QnnRuntime,
    context: Handle,
    desc: &QnnGraphDesc,
    options: &CompileOptions,
) -> edgehal::Result<(Handle, TensorSet)> {
    let name = rt.kind().name();
    let graph_create = qnn_fn!(rt, graph_create)?;
    let create_tensor = qnn_fn!(rt, tensor_create_graph_tensor)?;
    let configs = GraphConfigs::new(rt.kind(), options);
    let graph_name = c_string(&desc.name);
    let mut graph: Handle = std::ptr::null_mut();
    let mark = log::mark();
    // SAFETY: valid context; NUL-terminated name; NULL-terminated config list owned by `configs`.
    let err = unsafe { graph_create(context, graph_name.as_ptr(), configs.as_ptr(), &mut graph) };
    if err != ffi::SUCCESS {
        return Err(call_error(name, &format!("graphCreate(`{}`)", desc.name), err, mark));
    }
    let mut set = TensorSet::default();
    for t in &desc.tensors {
        let i = set.add(t);
        let mark = log::mark();
        // SAFETY: valid graph; the tensor struct and everything it points to live in `set`.
        let err = unsafe { create_tensor(graph, &mut set.tensors[i]) };
        if err != ffi::SUCCESS {
            return Err(call_error(name, &format!("tensorCreateGraphTensor(`{}`)", t.name), err, mark));
        }
    }
    Ok((graph, set))
}

impl QnnRuntime {
    /// contextCreate + graphCreate (+ graph configs) + tensorCreateGraphTensor for every tensor +
    /// graphAddNode per op + graphFinalize.
    pub fn compile(self: &Arc<Self>, graph: &QnnGraphDesc, options: &CompileOptions) -> edgehal::Result<QnnGraph> {
        let name = self.kind().name();
        graph.check().map_err(|why| backend_error(name, format!("graph `{}`: {why}", graph.name)))?;
        let add_node = qnn_fn!(self, graph_add_node)?;
        let finalize = qnn_fn!(self, graph_finalize)?;
        // Declared before the lock guard so that, on error, the guard is released before the
        // graph's Drop takes the lock to free the context.
        let mut g = QnnGraph::empty(self, graph, options);
        let _guard = self.lock();
        g.context = create_context(self)?;
        let (handle, tensors) = create_graph_and_tensors(self, g.context, graph, options)?;
        g.graph = handle;
        g.tensors = tensors;
        for (i, op) in graph.ops.iter().enumerate() {
            let node = NodeConfig::new(graph, i, &|t| g.tensors.tensors[t]);
            let mark = log::mark();
            // SAFETY: valid graph; the op config's arrays and strings live in `node`, its tensors
            // carry the ids the graph gave them.
            let err = unsafe { add_node(g.graph, node.config()) };
            if err != ffi::SUCCESS {
                return Err(call_error(name, &format!("graphAddNode(`{}`: {})", op.name, op.type_name), err, mark));
            }
        }
        let mark = log::mark();
        // SAFETY: valid graph; static tensor data is still alive (owned by `g.tensors`).
        let err = unsafe { finalize(g.graph, std::ptr::null_mut(), std::ptr::null_mut()) };
        if err != ffi::SUCCESS {
            return Err(call_error(name, &format!("graphFinalize(`{}`)", graph.name), err, mark));
        }
        g.tensors.release_static_data();
        Ok(g)
    }

    /// backendValidateOpConfig on op `op` of `graph` (tensors described as for graph building).
    /// `Err` says why not: the error code's name, and what the library logged.
    pub fn validate_op(&self, graph: &QnnGraphDesc, op: usize) -> Result<(), String> {
        if op >= graph.ops.len() {
            return Err(format!("graph `{}` has no op {op}", graph.name));
        }
        let n = graph.tensors.len();
        if let Some(bad) =
            graph.ops[op].inputs.iter().chain(&graph.ops[op].outputs).find(|&&t| t >= n).copied().or_else(|| {
                graph.ops[op].params.iter().find_map(|(_, v)| match v {
                    crate::desc::ParamValue::Tensor(t) if *t >= n => Some(*t),
                    _ => None,
                })
            })
        {
            return Err(format!("op `{}` refers to tensor {bad}, out of range", graph.ops[op].name));
        }
        let validate = self.table().backend_validate_op_config.ok_or("the library has no backendValidateOpConfig")?;
        let mut set = TensorSet::default();
        for t in &graph.tensors {
            set.add(t);
        }
        let node = NodeConfig::new(graph, op, &|t| set.tensors[t]);
        let _guard = self.lock();
        let mark = log::mark();
        // SAFETY: valid backend handle; the op config's arrays, strings and static data live in
        // `node` / `set` for the call.
        let err = unsafe { validate(self.backend_handle(), node.config()) };
        if err == ffi::SUCCESS {
            return Ok(());
        }
        let mut why = describe(err);
        let lines = log::since(mark, log::LEVEL_WARN);
        if !lines.is_empty() {
            why.push_str("; QNN log: ");
            why.push_str(&lines.join(" | "));
        }
        Err(why)
    }
}
