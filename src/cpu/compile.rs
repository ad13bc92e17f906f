//! Compiling a partition for the CPU: a list of kernel calls with slots planned by liveness and
//! matmul weights packed once.

use super::exec::{View, run_node};
use super::{cpu_buffer, cpu_buffer_mut};
use crate::backend::{Bindings, Executable, NodeTiming, Partition};
use crate::error::{Error, Result};
use crate::graph::{Graph, NodeId, ValueId, ValueSource};
use crate::memory::{Lifetime, plan_buffers};
use crate::ops::Op;
use crate::tensor::{AlignedBytes, Tensor, TensorDesc};
use edgehal_kernels::cpu::matmul::PackedWeights;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Where a value lives while the partition runs.
#[derive(Clone, Debug)]
enum Slot {
    Input(usize),
    Output(usize),
    State(usize),
    Const(Arc<Tensor>),
    Scratch(usize),
}

struct Step {
    node: NodeId,
    op: Op,
    inputs: Vec<(Slot, TensorDesc)>,
    output: (Slot, TensorDesc),
    packed: Option<Arc<PackedWeights>>,
}

/// A compiled CPU partition.
pub(crate) struct CpuExecutable {
    steps: Vec<Step>,
    scratch: Vec<AlignedBytes>,
    pool: Arc<rayon::ThreadPool>,
    constant_bytes: u64,
    /// Matmuls on quantized weights keep activations in f32 (see `CpuBackend::with_f32_activations`).
    f32_activations: bool,
}

impl CpuExecutable {
    pub(crate) fn new(
        graph: &Graph,
        part: &Partition,
        pool: Arc<rayon::ThreadPool>,
        packed_cache: &PackedCache,
        f32_activations: bool,
    ) -> Result<Self> {
        let mut slots: HashMap<ValueId, Slot> = HashMap::new();
        for (i, &v) in part.inputs.iter().enumerate() {
            slots.insert(v, Slot::Input(i));
        }
        for (i, &v) in part.states.iter().enumerate() {
            slots.insert(v, Slot::State(i));
        }
        for (i, &v) in part.outputs.iter().enumerate() {
            slots.insert(v, Slot::Output(i));
        }
        // kv_write updates its state in place: its output lives in the state's slot.
        for &(state, updated) in graph.state_updates() {
            if let Some(slot) = slots.get(&state).cloned() {
                slots.insert(updated, slot);
            }
        }
        let scratch_sizes = plan_scratch(graph, part, &mut slots)?;
        let mut constant_bytes = 0u64;
        let mut steps = Vec::with_capacity(part.nodes.len());
        for &n in &part.nodes {
            let node = graph.node(n);
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for &v in &node.inputs {
                let value = graph.value(v);
                let slot = match &value.source {
                    ValueSource::Weight(t) => {
                        constant_bytes += t.bytes().len() as u64;
                        Slot::Const(t.clone())
                    }
                    _ => slots.get(&v).cloned().ok_or_else(|| missing(graph, v))?,
                };
                inputs.push((slot, value.desc.clone()));
            }
            let packed = match (&node.op, &inputs[..]) {
                (Op::MatMul, [_, (Slot::Const(w), d)]) => {
                    let p = packed_cache.get_or_pack(w, d)?;
                    constant_bytes += p.packed_bytes() as u64;
                    Some(p)
                }
                _ => None,
            };
            let out = slots.get(&node.output).cloned().ok_or_else(|| missing(graph, node.output))?;
            steps.push(Step {
                node: n,
                op: node.op.clone(),
                inputs,
                output: (out, graph.value(node.output).desc.clone()),
                packed,
            });
        }
        let scratch = scratch_sizes.into_iter().map(AlignedBytes::zeroed).collect();
        Ok(CpuExecutable { steps, scratch, pool, constant_bytes, f32_activations })
    }
}

/// Packed matmul weights shared by every executable a backend compiles, keyed by the weight's
/// bytes: a model's prefill and decode graphs (or two sessions of one model) pack each weight once.
/// Entries are weak; a packing lives as long as an executable uses it. An executable holding a
/// packing also holds the tensor it came from, so a live entry's address cannot be reused by
/// other bytes.
#[derive(Default)]
pub(crate) struct PackedCache {
    entries: std::sync::Mutex<HashMap<(usize, usize, TensorDesc), std::sync::Weak<PackedWeights>>>,
}

impl PackedCache {
    fn get_or_pack(&self, w: &Tensor, d: &TensorDesc) -> Result<Arc<PackedWeights>> {
        let key = (w.bytes().as_ptr() as usize, w.bytes().len(), d.clone());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = entries.get(&key).and_then(|p| p.upgrade()) {
            return Ok(p);
        }
        let p = Arc::new(PackedWeights::new(d.dtype, d.shape[0], d.shape[1], w.bytes())?);
        // The kernels read the packing from now on; a mapped file may drop its pages.
        w.release_source_pages();
        entries.retain(|_, p| p.strong_count() > 0);
        entries.insert(key, Arc::downgrade(&p));
        Ok(p)
    }
}

fn missing(graph: &Graph, v: ValueId) -> Error {
    Error::Graph(format!(
        "value `{}` is used in a partition but neither produced there nor bound to it",
        graph.value(v).name
    ))
}

/// Gives every value produced and consumed only inside the partition a scratch buffer.
fn plan_scratch(graph: &Graph, part: &Partition, slots: &mut HashMap<ValueId, Slot>) -> Result<Vec<usize>> {
    let mut internal: Vec<ValueId> = Vec::new();
    let mut lives: Vec<Lifetime> = Vec::new();
    for (step, &n) in part.nodes.iter().enumerate() {
        let out = graph.node(n).output;
        if !slots.contains_key(&out) {
            internal.push(out);
            lives.push(Lifetime { bytes: graph.value(out).desc.byte_len("scratch")?, first: step, last: step });
        }
        for &v in &graph.node(n).inputs {
            if let Some(i) = internal.iter().position(|&x| x == v) {
                lives[i].last = step;
            }
        }
    }
    let plan = plan_buffers(&lives);
    for (v, b) in internal.into_iter().zip(plan.assignment) {
        slots.insert(v, Slot::Scratch(b));
    }
    Ok(plan.buffer_bytes)
}

/// Takes the storage behind a slot out, so the step can write it while reading the others.
fn take(slot: &Slot, b: &mut Bindings, scratch: &mut [AlignedBytes]) -> Result<AlignedBytes> {
    Ok(match slot {
        Slot::Output(i) => std::mem::take(&mut cpu_buffer_mut(&mut *b.outputs[*i])?.data),
        Slot::State(i) => std::mem::take(&mut cpu_buffer_mut(&mut *b.states[*i])?.data),
        Slot::Scratch(i) => std::mem::take(&mut scratch[*i]),
        Slot::Input(_) | Slot::Const(_) => {
            return Err(Error::Graph("a node's output is bound to an input or a constant".into()));
        }
    })
}

fn put_back(slot: &Slot, data: AlignedBytes, b: &mut Bindings, scratch: &mut [AlignedBytes]) -> Result<()> {
    match slot {
        Slot::Output(i) => cpu_buffer_mut(&mut *b.outputs[*i])?.data = data,
        Slot::State(i) => cpu_buffer_mut(&mut *b.states[*i])?.data = data,
        Slot::Scratch(i) => scratch[*i] = data,
        Slot::Input(_) | Slot::Const(_) => {}
    }
    Ok(())
}

fn read<'a>(slot: &'a Slot, desc: &TensorDesc, b: &'a Bindings, scratch: &'a [AlignedBytes]) -> Result<&'a [u8]> {
    let bytes = match slot {
        Slot::Input(i) => cpu_buffer(b.inputs[*i])?.data.as_ref(),
        Slot::Output(i) => cpu_buffer(&*b.outputs[*i])?.data.as_ref(),
        Slot::State(i) => cpu_buffer(&*b.states[*i])?.data.as_ref(),
        Slot::Const(t) => t.bytes(),
        Slot::Scratch(i) => scratch[*i].as_ref(),
    };
    let len = desc.byte_len("input")?;
    bytes.get(..len).ok_or_else(|| Error::Backend {
        backend: "cpu".into(),
        why: format!("buffer of {} bytes bound where {len} are needed", bytes.len()),
    })
}

impl CpuExecutable {
    fn check_bindings(&self, b: &Bindings) -> Result<()> {
        let all = b
            .inputs
            .iter()
            .map(|x| x.desc())
            .chain(b.outputs.iter().map(|x| x.desc()))
            .chain(b.states.iter().map(|x| x.desc()));
        for d in all {
            d.byte_len("binding")?;
        }
        Ok(())
    }

    fn run_steps(&mut self, mut b: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        self.check_bindings(&b)?;
        // Output buffers arrive unallocated or poisoned; give them their full size.
        for o in b.outputs.iter_mut() {
            let buf = cpu_buffer_mut(&mut **o)?;
            let len = buf.desc.byte_len("output")?;
            if buf.data.len() != len {
                buf.data = AlignedBytes::zeroed(len);
            }
        }
        let start = Instant::now();
        let mut timings = Vec::new();
        for step in &self.steps {
            let t0 = start.elapsed().as_nanos() as u64;
            let mut out = take(&step.output.0, &mut b, &mut self.scratch)?;
            let result = (|| {
                let views = step
                    .inputs
                    .iter()
                    .enumerate()
                    .map(|(i, (slot, desc))| {
                        // kv_write's cache input is its output, taken out above; it only writes it.
                        if i == 0 && matches!(step.op, Op::KvWrite { .. }) {
                            return Ok(View { desc, bytes: &[] });
                        }
                        Ok(View { desc, bytes: read(slot, desc, &b, &self.scratch)? })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let len = step.output.1.byte_len("output")?;
                let out_bytes = out
                    .as_mut()
                    .get_mut(..len)
                    .ok_or_else(|| Error::Backend { backend: "cpu".into(), why: "scratch buffer too small".into() })?;
                let packed = step.packed.as_deref();
                run_node(&step.op, &views, &step.output.1, out_bytes, packed, position, self.f32_activations)
            })();
            put_back(&step.output.0, out, &mut b, &mut self.scratch)?;
            result.map_err(|e| annotate(e, step))?;
            if profile {
                let t1 = start.elapsed().as_nanos() as u64;
                timings.push(NodeTiming { node: step.node, start_ns: t0, duration_ns: t1 - t0 });
            }
        }
        Ok(timings)
    }
}

fn annotate(e: Error, step: &Step) -> Error {
    match e {
        Error::Kernel(k) => {
            Error::Backend { backend: "cpu".into(), why: format!("{} (node {}): {k}", step.op.name(), step.node.0) }
        }
        other => other,
    }
}

impl Executable for CpuExecutable {
    fn run(&mut self, bindings: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        let pool = self.pool.clone();
        pool.install(|| self.run_steps(bindings, position, profile))
    }

    fn scratch_bytes(&self) -> u64 {
        self.scratch.iter().map(|s| s.len() as u64).sum()
    }

    fn constant_bytes(&self) -> u64 {
        self.constant_bytes
    }
}
