//! Sessions: a graph placed on backends, fused, partitioned, memory-planned and compiled, ready to
//! run many times with states (KV caches) kept between runs.

pub mod cost;
mod energy;
mod fusion;
mod placement;
mod placement_cost;
mod states;

pub use cost::{Cost, CostModel, CostTable, DeviceCosts, Objective, RooflineCosts};
pub use placement_cost::PlacementDecision;
pub use states::StateSet;

use crate::backend::{Backend, Bindings, DeviceBuffer, Executable, Partition};
use crate::cpu::CpuBackend;
use crate::energy::{ComputeClass, EnergyMeter, EnergyModel, OpEnergy, OpWork};
use crate::error::{Error, Result};
use crate::graph::{Graph, ValueId, ValueSource};
use crate::profile::{OpRecord, Profile};
use crate::tensor::{Tensor, TensorDesc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// How a session places and prepares its graph.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Run nodes no listed backend supports on the CPU (added if not listed). If false, such a
    /// node is an `Error::Unsupported`.
    pub allow_fallback: bool,
    /// Apply the fusions of [`fusion`](self) before placement.
    pub fuse: bool,
    /// What placement optimises: backend order (the default), latency, energy, or energy under
    /// a latency bound.
    pub objective: Objective,
    /// The costs a non-`Preference` objective uses; `None`: a [`RooflineCosts`] from the
    /// backends' peaks, probed when the session is made (seconds per backend).
    pub costs: Option<Arc<dyn CostModel>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { allow_fallback: true, fuse: true, objective: Objective::Preference, costs: None }
    }
}

impl Policy {
    /// Every node must run on the listed backends, unfused: what conformance testing wants.
    pub fn strict() -> Self {
        Policy { allow_fallback: false, fuse: false, ..Policy::default() }
    }

    /// The default policy optimising `objective` with `costs`.
    pub fn optimise(objective: Objective, costs: Arc<dyn CostModel>) -> Self {
        Policy { objective, costs: Some(costs), ..Policy::default() }
    }
}

/// Options of one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The position that `Position::Run` parameters resolve to (tokens already in the KV cache).
    pub position: usize,
    /// Record per-node timings (see [`Session::last_profile`]).
    pub profile: bool,
    /// Fill output buffers with NaN bytes before the kernels run, so a kernel that skips an
    /// element is caught.
    pub poison_outputs: bool,
}

/// What the session decided: placement, fusions, partitions and memory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Plan {
    /// `(node, backend)` for every live node.
    pub placement: Vec<(String, String)>,
    /// Fusions applied.
    pub fused: Vec<String>,
    /// Per partition: backend, node count, scratch bytes after buffer reuse, constant bytes.
    pub partitions: Vec<PartitionInfo>,
    /// Bytes of state tensors.
    pub state_bytes: u64,
    /// What placement optimised.
    pub objective: Objective,
    /// Why each node went where it did (empty for `Objective::Preference`).
    pub decisions: Vec<PlacementDecision>,
    /// The placement's estimated time and energy per run (not for `Preference`).
    pub estimate: Option<Cost>,
}

/// A compiled partition as reported in the [`Plan`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct PartitionInfo {
    /// Backend name.
    pub backend: String,
    /// Number of nodes.
    pub nodes: usize,
    /// Intermediate memory after liveness-based reuse.
    pub scratch_bytes: u64,
    /// Weights held (possibly repacked).
    pub constant_bytes: u64,
}

impl Plan {
    /// Peak memory the session holds besides inputs and outputs: scratch, constants and states.
    pub fn peak_bytes(&self) -> u64 {
        self.partitions.iter().map(|p| p.scratch_bytes + p.constant_bytes).sum::<u64>() + self.state_bytes
    }
}

/// A buffer and the index of the backend that owns it.
type Placed = (usize, Box<dyn DeviceBuffer>);

struct CompiledPartition {
    backend: usize,
    /// `device` or `host`: where this backend's node timings come from.
    clock: &'static str,
    partition: Partition,
    exe: Box<dyn Executable>,
}

/// A graph ready to run.
pub struct Session {
    graph: Graph,
    backends: Vec<Arc<dyn Backend>>,
    parts: Vec<CompiledPartition>,
    states: HashMap<ValueId, Placed>,
    /// The backend each state lives on (also while it is moved out).
    state_homes: HashMap<ValueId, usize>,
    plan: Plan,
    last_profile: Option<Profile>,
    /// Meters read around profiled runs.
    meters: Vec<Box<dyn EnergyMeter>>,
    /// The energy model of each backend, by index.
    energy_models: Vec<EnergyModel>,
}

impl Session {
    /// Places, fuses, partitions and compiles `graph` on `backends` (in order of preference).
    pub fn new(graph: Graph, backends: Vec<Arc<dyn Backend>>, policy: Policy) -> Result<Self> {
        Self::with_states(graph, backends, policy, StateSet::default())
    }

    /// Like [`Session::new`], but the states named in `states` (taken from another session with
    /// [`Session::take_states`]) are used instead of newly allocated ones: two graphs of one model
    /// (prefill and decode) share one KV cache this way. Each must match the state of the same
    /// name in dtype and shape and live on the backend this session places it on.
    pub fn with_states(
        mut graph: Graph,
        mut backends: Vec<Arc<dyn Backend>>,
        policy: Policy,
        states: StateSet,
    ) -> Result<Self> {
        if graph.outputs().is_empty() {
            return Err(Error::Graph("the graph has no outputs; mark some with Graph::output".into()));
        }
        let (live, fused) =
            if policy.fuse { fusion::fuse(&mut graph) } else { (vec![true; graph.nodes().len()], Vec::new()) };
        let fallback = if policy.allow_fallback {
            Some(match backends.iter().position(|b| b.name() == "cpu") {
                Some(i) => i,
                None => {
                    backends.push(Arc::new(CpuBackend::new()?));
                    backends.len() - 1
                }
            })
        } else {
            None
        };
        if backends.is_empty() {
            return Err(Error::Graph("no backend given and fallback disabled".into()));
        }
        let (placement, decisions, estimate) = if policy.objective == Objective::Preference {
            (placement::place(&graph, &live, &backends, fallback)?, Vec::new(), None)
        } else {
            let costs: Arc<dyn CostModel> = match &policy.costs {
                Some(c) => c.clone(),
                None => Arc::new(RooflineCosts::measure(&backends)?),
            };
            let p = placement_cost::place(&graph, &live, &backends, fallback, costs.as_ref(), policy.objective)?;
            let mut placement = p.placement;
            placement::gather_state_users(&graph, &mut placement, &backends, fallback)?;
            let mut decisions = p.decisions;
            let placed = placement.iter().filter_map(|&b| b);
            for (d, b) in decisions.iter_mut().zip(placed) {
                if backends[b].name() != d.backend {
                    d.why += &format!("; moved to {} where the state it updates lives", backends[b].name());
                    d.backend = backends[b].name().into();
                }
            }
            (placement, decisions, Some(p.estimate))
        };
        let mut parts = Vec::new();
        let mut infos = Vec::new();
        for (b, partition) in placement::partition(&graph, &placement) {
            let exe = backends[b].compile(&graph, &partition)?;
            infos.push(PartitionInfo {
                backend: backends[b].name().into(),
                nodes: partition.nodes.len(),
                scratch_bytes: exe.scratch_bytes(),
                constant_bytes: exe.constant_bytes(),
            });
            let clock = if backends[b].device().device_timestamps { "device" } else { "host" };
            parts.push(CompiledPartition { backend: b, clock, partition, exe });
        }
        let state_homes: HashMap<ValueId, usize> =
            parts.iter().flat_map(|p| p.partition.states.iter().map(move |&s| (s, p.backend))).collect();
        let given = states.check_against(&graph, &state_homes, &backends)?;
        let states = allocate_states(&graph, &parts, &backends, given)?;
        let plan = Plan {
            placement: placement
                .iter()
                .enumerate()
                .filter_map(|(n, b)| {
                    b.map(|b| (graph.node(crate::graph::NodeId(n)).name.clone(), backends[b].name().to_string()))
                })
                .collect(),
            fused,
            partitions: infos,
            state_bytes: states.values().map(|(_, b)| b.desc().byte_len("").unwrap_or(0) as u64).sum(),
            objective: policy.objective,
            decisions,
            estimate,
        };
        let energy_models = backends.iter().map(|b| EnergyModel::for_kind(b.device().kind)).collect();
        Ok(Session {
            graph,
            backends,
            parts,
            states,
            state_homes,
            plan,
            last_profile: None,
            meters: Vec::new(),
            energy_models,
        })
    }

    /// The graph as compiled (after fusion).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Placement, fusions, partitions and memory.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Reads these meters around every profiled run: the ops on the devices a meter covers share
    /// its joules ([`attribute`](crate::energy::attribute)); without meters energy is modelled.
    /// Typically `edgehal::energy::discover().0`.
    pub fn attach_meters(&mut self, meters: Vec<Box<dyn EnergyMeter>>) {
        self.meters = meters;
    }

    /// Takes the attached meters back (to move them to another session); none stay attached.
    pub fn detach_meters(&mut self) -> Vec<Box<dyn EnergyMeter>> {
        std::mem::take(&mut self.meters)
    }

    /// Replaces the energy model of the backend called `backend` (e.g. one fitted to a meter).
    pub fn set_energy_model(&mut self, backend: &str, model: EnergyModel) -> Result<()> {
        let i = self.backends.iter().position(|b| b.name() == backend).ok_or_else(|| Error::Unknown {
            kind: "backend",
            name: backend.into(),
            known: self.backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
        })?;
        self.energy_models[i] = model;
        Ok(())
    }

    /// The profile of the last run made with `RunOptions::profile`.
    pub fn last_profile(&self) -> Option<&Profile> {
        self.last_profile.as_ref()
    }

    /// Runs once at position 0 with named inputs.
    pub fn run(&mut self, inputs: &[(&str, &Tensor)]) -> Result<Outputs> {
        self.run_with(inputs, &RunOptions::default())
    }

    /// Reads a state (e.g. a KV cache) back to the host.
    pub fn state(&self, name: &str) -> Result<Tensor> {
        let id = self.graph.find(name)?;
        self.check_states_present(&[id])?;
        let (b, buf) =
            self.states.get(&id).ok_or_else(|| Error::Graph(format!("`{name}` is not a state used by this graph")))?;
        self.backends[*b].download(buf.as_ref())
    }

    /// Overwrites a state (e.g. to restore a KV cache).
    pub fn set_state(&mut self, name: &str, value: &Tensor) -> Result<()> {
        let id = self.graph.find(name)?;
        self.check_states_present(&[id])?;
        let (b, buf) = self
            .states
            .get_mut(&id)
            .ok_or_else(|| Error::Graph(format!("`{name}` is not a state used by this graph")))?;
        self.backends[*b].upload(buf.as_mut(), value)
    }

    /// Runs once with named inputs and options. A profiled run on a session with meters reads
    /// them around the run (see [`Session::run_repeated`]).
    pub fn run_with(&mut self, inputs: &[(&str, &Tensor)], opts: &RunOptions) -> Result<Outputs> {
        if opts.profile && !self.meters.is_empty() {
            return self.run_repeated(inputs, opts, 1);
        }
        self.run_once(inputs, opts)
    }

    /// One run, without meter windows.
    fn run_once(&mut self, inputs: &[(&str, &Tensor)], opts: &RunOptions) -> Result<Outputs> {
        let given = self.check_inputs(inputs)?;
        let start = Instant::now();
        // Every value that crossed or will cross a partition boundary, on the backend that has it.
        let mut values: HashMap<ValueId, Placed> = HashMap::new();
        let mut profile = Profile::default();
        for part in &mut self.parts {
            let backend = &self.backends[part.backend];
            for &v in &part.partition.inputs {
                let resident = values.get(&v).map(|(b, _)| *b);
                if resident == Some(part.backend) {
                    continue;
                }
                let host = match (resident, given.get(&v)) {
                    (Some(b), _) => {
                        let t0 = Instant::now();
                        let t = self.backends[b].download(values[&v].1.as_ref())?;
                        profile.transfers.push((
                            self.graph.value(v).name.clone(),
                            t.bytes().len() as u64,
                            t0.elapsed().as_nanos() as u64,
                        ));
                        t
                    }
                    (None, Some(t)) => (*t).clone(),
                    (None, None) => {
                        return Err(Error::Graph(format!(
                            "value `{}` is needed before it is computed",
                            self.graph.value(v).name
                        )));
                    }
                };
                let mut buf = backend.allocate(&self.graph.value(v).desc)?;
                backend.upload(buf.as_mut(), &host)?;
                values.insert(v, (part.backend, buf));
            }
            let mut outputs = Vec::with_capacity(part.partition.outputs.len());
            for &v in &part.partition.outputs {
                let desc = &self.graph.value(v).desc;
                let mut buf = backend.allocate(desc)?;
                if opts.poison_outputs {
                    backend.upload(buf.as_mut(), &poisoned(desc)?)?;
                }
                outputs.push(buf);
            }
            states::check_present(&self.graph, &self.states, &self.state_homes, &part.partition.states)?;
            let mut states: Vec<(ValueId, Placed)> = part
                .partition
                .states
                .iter()
                .map(|s| (*s, self.states.remove(s).expect("checked present above")))
                .collect();
            let part_start = start.elapsed().as_nanos() as u64;
            let result = part.exe.run(
                Bindings {
                    inputs: part.partition.inputs.iter().map(|v| values[v].1.as_ref()).collect(),
                    outputs: outputs.iter_mut().map(|b| b.as_mut()).collect(),
                    states: states.iter_mut().map(|(_, (_, b))| b.as_mut()).collect(),
                },
                opts.position,
                opts.profile,
            );
            for (s, buf) in states.drain(..) {
                self.states.insert(s, buf);
            }
            let timings = result?;
            let cycles = if opts.profile { part.exe.last_cycles() } else { Vec::new() };
            let (kind, model) = (backend.device().kind, self.energy_models[part.backend]);
            for t in timings {
                let node = self.graph.node(t.node);
                let descs: Vec<&TensorDesc> = node.inputs.iter().map(|&i| &self.graph.value(i).desc).collect();
                let cost = node.op.cost(&descs, &self.graph.value(node.output).desc, opts.position);
                let device_cycles = cycles.iter().find(|(n, _)| *n == t.node).map(|&(_, c)| c);
                let w = OpWork {
                    kind,
                    model,
                    class: ComputeClass::of(&node.op, &descs),
                    flops: cost.flops,
                    bytes: cost.bytes_read + cost.bytes_written,
                    // Counted cycles are the device's own time; the host's clock around a
                    // simulated NPU is not.
                    seconds: device_cycles
                        .map_or(t.duration_ns as f64 * 1e-9, |c| c as f64 / crate::energy::model::NPU_CLOCK_HZ),
                };
                profile.work.push(w);
                profile.records.push(OpRecord {
                    node: node.name.clone(),
                    op: node.op.name().into(),
                    backend: backend.name().into(),
                    start_ns: part_start + t.start_ns,
                    duration_ns: t.duration_ns,
                    clock: part.clock,
                    cost,
                    device_cycles,
                    energy: OpEnergy::modelled(w.modelled_joules()),
                });
            }
            for (&v, buf) in part.partition.outputs.iter().zip(outputs) {
                values.insert(v, (part.backend, buf));
            }
        }
        let mut out = Vec::new();
        for &v in self.graph.outputs() {
            let name = self.graph.value(v).name.clone();
            let tensor = if let Some(t) = given.get(&v) {
                (*t).clone()
            } else if let Some(s) = self.graph.state_of(v) {
                self.check_states_present(&[s])?;
                let (b, buf) = self.states.get(&s).ok_or_else(|| {
                    Error::Graph(format!("output `{name}` is a state that no node of this graph uses"))
                })?;
                self.backends[*b].download(buf.as_ref())?
            } else if let ValueSource::Weight(w) = &self.graph.value(v).source {
                (**w).clone()
            } else {
                let (b, buf) = &values[&v];
                self.backends[*b].download(buf.as_ref())?
            };
            out.push((name, tensor));
        }
        if opts.profile {
            profile.total_ns = start.elapsed().as_nanos() as u64;
            self.last_profile = Some(profile);
        }
        Ok(Outputs { tensors: out })
    }

    /// Matches named inputs to the graph's, checking names, dtypes and shapes.
    fn check_inputs<'t>(&self, inputs: &[(&str, &'t Tensor)]) -> Result<HashMap<ValueId, &'t Tensor>> {
        let mut given = HashMap::new();
        for (name, t) in inputs {
            let id = self.graph.find(name)?;
            let v = self.graph.value(id);
            if !matches!(v.source, ValueSource::Input) {
                return Err(Error::Input(format!("`{name}` is not a run input of this graph")));
            }
            if v.desc != *t.desc() {
                return Err(Error::Input(format!(
                    "input `{name}` must be {} {:?}, got {} {:?}",
                    v.desc.dtype,
                    v.desc.shape,
                    t.dtype(),
                    t.shape()
                )));
            }
            if given.insert(id, *t).is_some() {
                return Err(Error::Input(format!("input `{name}` given twice")));
            }
        }
        let missing: Vec<_> = self
            .graph
            .inputs()
            .into_iter()
            .filter(|i| !given.contains_key(i))
            .map(|i| self.graph.value(i).name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Input(format!("missing inputs: {}", missing.join(", "))));
        }
        Ok(given)
    }
}

/// A tensor of all-ones bytes: NaN for f32/f16/bf16.
fn poisoned(desc: &TensorDesc) -> Result<Tensor> {
    let len = desc.byte_len("output")?;
    Tensor::from_bytes(desc.dtype, desc.shape.clone(), &vec![0xFF; len])
}

fn allocate_states(
    graph: &Graph,
    parts: &[CompiledPartition],
    backends: &[Arc<dyn Backend>],
    mut given: HashMap<ValueId, Placed>,
) -> Result<HashMap<ValueId, Placed>> {
    let mut states = HashMap::new();
    for part in parts {
        for &s in &part.partition.states {
            if let Some(placed) = given.remove(&s) {
                states.insert(s, placed);
                continue;
            }
            let value = graph.value(s);
            let backend = &backends[part.backend];
            let buf = match &value.source {
                ValueSource::State(Some(init)) => {
                    let mut buf = backend.allocate(&value.desc)?;
                    backend.upload(buf.as_mut(), init)?;
                    buf
                }
                _ => backend.allocate_zeroed(&value.desc)?,
            };
            states.insert(s, (part.backend, buf));
        }
    }
    Ok(states)
}

/// The named output tensors of a run, in the order the graph marked them.
#[derive(Clone, Debug)]
pub struct Outputs {
    tensors: Vec<(String, Tensor)>,
}

impl Outputs {
    /// The output called `name`.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| Error::Unknown {
            kind: "output",
            name: name.into(),
            known: self.tensors.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The `i`-th output.
    pub fn at(&self, i: usize) -> Option<&Tensor> {
        self.tensors.get(i).map(|(_, t)| t)
    }

    /// All outputs as `(name, tensor)`.
    pub fn into_vec(self) -> Vec<(String, Tensor)> {
        self.tensors
    }
}
