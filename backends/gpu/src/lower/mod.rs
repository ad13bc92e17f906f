//! Lowering: graph nodes to commands. One file per op family, each with `supports` (dtypes,
//! shapes and limits the kernels handle) and `lower` (the dispatches):
//! matmul; quant (dequantize, get_rows, casts to and from quant formats); attention (attention,
//! kv_write); rope; norm (rms_norm, layer_norm); softmax; elementwise (silu, gelu, swiglu, add,
//! mul); layout (float casts, reshape, permute, copy).

mod attention;
mod elementwise;
mod layout;
mod matmul;
mod norm;
mod quant;
mod rope;
mod softmax;

use crate::caps::Caps;
use crate::program::{Buf, Command, Dispatch, Program, Word, grid};
use edgehal::memory::{Lifetime, plan_buffers};
use edgehal::{DType, Error, Graph, NodeId, Op, Partition, Result, Support, Tensor, TensorDesc, ValueId, ValueSource};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// Every code book a GPU decoder reads, as a tensor of its words (made once per process, shared
/// by every program that binds it).
static CODE_BOOKS: LazyLock<Vec<(DType, Arc<Tensor>)>> = LazyLock::new(|| {
    DType::ALL
        .into_iter()
        .filter_map(|d| {
            let words = edgehal::kernels::quant::code_book(d)?;
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let tensor =
                Tensor::from_bytes(DType::I32, [words.len()], &bytes).expect("a code book is a valid i32 vector");
            Some((d, Arc::new(tensor)))
        })
        .collect()
});

/// Whether the GPU kernels can run `node` on a device with `caps`.
pub fn supports(graph: &Graph, node: NodeId, caps: &Caps) -> Support {
    let n = graph.node(node);
    let inputs: Vec<&TensorDesc> = n.inputs.iter().map(|&v| &graph.value(v).desc).collect();
    let output = &graph.value(n.output).desc;
    let verdict = match &n.op {
        Op::MatMul => matmul::supports(&n.op, &inputs, output, caps),
        Op::Attention(_) => attention::supports(&n.op, &inputs, output, caps),
        Op::Dequantize { .. } | Op::GetRows => quant::supports(&n.op, &inputs, output, caps),
        Op::RmsNorm { .. } | Op::LayerNorm { .. } => norm::supports(&n.op, &inputs, output, caps),
        Op::Rope(_) => rope::supports(&n.op, &inputs, output, caps),
        Op::Softmax => softmax::supports(&n.op, &inputs, output, caps),
        Op::Silu | Op::Gelu(_) | Op::SwiGlu | Op::Add | Op::Mul => elementwise::supports(&n.op, &inputs, output, caps),
        Op::Cast { to } if to.is_quantized() || inputs[0].dtype.is_quantized() => {
            quant::supports(&n.op, &inputs, output, caps)
        }
        Op::KvWrite { .. } => attention::supports(&n.op, &inputs, output, caps),
        Op::Cast { .. } | Op::Reshape { .. } | Op::Permute { .. } | Op::Copy => {
            layout::supports(&n.op, &inputs, output, caps)
        }
    };
    let verdict = verdict.and_then(|()| within_limits(&inputs, output, caps));
    match verdict {
        Ok(()) => Support::Yes,
        Err(why) => Support::No(why),
    }
}

/// Every tensor a node touches must fit one storage binding (the kernels do not split buffers).
fn within_limits(inputs: &[&TensorDesc], output: &TensorDesc, caps: &Caps) -> Result<(), String> {
    for d in inputs.iter().copied().chain(std::iter::once(output)) {
        let bytes = d.byte_len("").unwrap_or(u64::MAX as usize) as u64;
        if bytes > caps.max_storage_binding {
            return Err(format!(
                "a {} {:?} tensor is {bytes} bytes, over the device's max storage binding of {} bytes",
                d.dtype, d.shape, caps.max_storage_binding
            ));
        }
    }
    Ok(())
}

/// Lowers a partition: assigns every value a buffer (inputs/outputs/states bound per run,
/// weights as constants, intermediates in scratch buffers reused by liveness) and turns each node
/// into commands. Fails with `Error::Unsupported` on a node `supports` refuses.
pub fn lower(graph: &Graph, part: &Partition, caps: &Caps, backend: &str) -> Result<Program> {
    let mut bufs: HashMap<ValueId, Buf> = HashMap::new();
    for (i, &v) in part.inputs.iter().enumerate() {
        bufs.insert(v, Buf::Input(i));
    }
    for (i, &v) in part.states.iter().enumerate() {
        bufs.insert(v, Buf::State(i));
    }
    for (i, &v) in part.outputs.iter().enumerate() {
        bufs.insert(v, Buf::Output(i));
    }
    // kv_write updates its state in place: its output is the state's buffer.
    for &(state, updated) in graph.state_updates() {
        if let Some(&b) = bufs.get(&state) {
            bufs.insert(updated, b);
        }
    }
    let mut program = Program { nodes: part.nodes.clone(), ..Default::default() };
    plan_scratch(graph, part, &mut bufs, &mut program)?;
    for &n in &part.nodes {
        if let Support::No(why) = supports(graph, n, caps) {
            return Err(Error::Unsupported { backend: backend.into(), op: graph.node(n).op.name().into(), why });
        }
        let node = graph.node(n);
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            let value = graph.value(v);
            let buf = match &value.source {
                ValueSource::Weight(t) => {
                    program.consts.push(t.clone());
                    Buf::Const(program.consts.len() - 1)
                }
                _ => *bufs.get(&v).ok_or_else(|| missing(graph, v))?,
            };
            inputs.push((buf, value.desc.clone()));
        }
        let output = *bufs.get(&node.output).ok_or_else(|| missing(graph, node.output))?;
        let mut cx = Cx {
            node: n,
            inputs,
            output: (output, graph.value(node.output).desc.clone()),
            caps,
            program: &mut program,
        };
        match &node.op {
            Op::MatMul => matmul::lower(&mut cx, &node.op)?,
            Op::Attention(_) => attention::lower(&mut cx, &node.op)?,
            Op::Dequantize { .. } | Op::GetRows => quant::lower(&mut cx, &node.op)?,
            Op::RmsNorm { .. } | Op::LayerNorm { .. } => norm::lower(&mut cx, &node.op)?,
            Op::Rope(_) => rope::lower(&mut cx, &node.op)?,
            Op::Softmax => softmax::lower(&mut cx, &node.op)?,
            Op::Silu | Op::Gelu(_) | Op::SwiGlu | Op::Add | Op::Mul => elementwise::lower(&mut cx, &node.op)?,
            Op::Cast { to } if to.is_quantized() || cx.input_desc(0).dtype.is_quantized() => {
                quant::lower(&mut cx, &node.op)?
            }
            Op::KvWrite { .. } => attention::lower(&mut cx, &node.op)?,
            Op::Cast { .. } | Op::Reshape { .. } | Op::Permute { .. } | Op::Copy => layout::lower(&mut cx, &node.op)?,
        }
    }
    Ok(program)
}

fn missing(graph: &Graph, v: ValueId) -> Error {
    Error::Graph(format!(
        "value `{}` is used in a partition but neither produced there nor bound to it",
        graph.value(v).name
    ))
}

/// Gives every value produced and consumed only inside the partition a scratch buffer.
fn plan_scratch(
    graph: &Graph,
    part: &Partition,
    bufs: &mut HashMap<ValueId, Buf>,
    program: &mut Program,
) -> Result<()> {
    let mut internal: Vec<ValueId> = Vec::new();
    let mut lives: Vec<Lifetime> = Vec::new();
    for (step, &n) in part.nodes.iter().enumerate() {
        let out = graph.node(n).output;
        if !bufs.contains_key(&out) {
            internal.push(out);
            lives.push(Lifetime { bytes: padded(&graph.value(out).desc)? as usize, first: step, last: step });
        }
        for &v in &graph.node(n).inputs {
            if let Some(i) = internal.iter().position(|&x| x == v) {
                lives[i].last = step;
            }
        }
    }
    let plan = plan_buffers(&lives);
    for (v, b) in internal.into_iter().zip(plan.assignment) {
        bufs.insert(v, Buf::Scratch(b));
    }
    program.scratch_bytes = plan.buffer_bytes.into_iter().map(|b| (b as u64).next_multiple_of(4).max(4)).collect();
    Ok(())
}

/// A tensor's size in a GPU buffer: its bytes rounded up to a whole number of 4-byte words
/// (at least one word).
pub fn padded(desc: &TensorDesc) -> Result<u64> {
    Ok((desc.byte_len("buffer")? as u64).next_multiple_of(4).max(4))
}

/// What a family's `lower` works with: the node's buffers and descriptions, the capability table,
/// and the program it appends commands to.
pub(crate) struct Cx<'a> {
    pub node: NodeId,
    /// The node's inputs: buffer and description, in the op's input order.
    pub inputs: Vec<(Buf, TensorDesc)>,
    /// The node's output.
    pub output: (Buf, TensorDesc),
    pub caps: &'a Caps,
    program: &'a mut Program,
}

#[allow(dead_code)] // until every family uses every helper
impl Cx<'_> {
    /// Input `i`'s buffer.
    pub fn input(&self, i: usize) -> Buf {
        self.inputs[i].0
    }

    /// Input `i`'s description.
    pub fn input_desc(&self, i: usize) -> &TensorDesc {
        &self.inputs[i].1
    }

    /// The output buffer.
    pub fn out(&self) -> Buf {
        self.output.0
    }

    /// The output description.
    pub fn out_desc(&self) -> &TensorDesc {
        &self.output.1
    }

    /// A scratch buffer of `bytes` for this node alone (not shared with other nodes).
    pub fn scratch(&mut self, bytes: u64) -> Buf {
        self.program.scratch_bytes.push(bytes.next_multiple_of(4).max(4));
        Buf::Scratch(self.program.scratch_bytes.len() - 1)
    }

    /// Appends a dispatch of `entry` in `module` over `workgroups`.
    pub fn dispatch(
        &mut self,
        module: String,
        entry: &'static str,
        buffers: Vec<Buf>,
        params: Vec<Word>,
        workgroups: [u32; 3],
    ) {
        self.program.commands.push(Command::Dispatch(Dispatch {
            node: self.node,
            module,
            entry,
            buffers,
            params,
            workgroups,
        }));
    }

    /// Appends a dispatch over `n` workgroups of a 1-D grid (spread over y/z past the per-dimension
    /// limit; the kernel uses `linear_workgroup`).
    pub fn dispatch_1d(&mut self, module: String, entry: &'static str, buffers: Vec<Buf>, params: Vec<Word>, n: u64) {
        let wg = grid(n, self.caps.max_workgroups_per_dim);
        self.dispatch(module, entry, buffers, params, wg);
    }

    /// A 4-byte buffer to bind where a kernel's optional input is absent (every entry point of a
    /// module is dispatched with all the module's bindings).
    pub fn dummy(&mut self) -> Buf {
        self.scratch(4)
    }

    /// The code-book buffer of weight format `dtype` where its decoder reads one
    /// ([`edgehal_shaders::formats::Format::needs_code_book`]), to bind after the module's own
    /// buffers: a constant of the program, uploaded once however many nodes bind it.
    pub fn code_book(&mut self, dtype: DType) -> Result<Option<Buf>> {
        let formats = edgehal_shaders::formats::all();
        if !formats.iter().any(|f| f.name == dtype.name() && f.needs_code_book()) {
            return Ok(None);
        }
        let Some((_, book)) = CODE_BOOKS.iter().find(|(d, _)| *d == dtype) else {
            let why = format!("the GPU decoder of {dtype} reads a code book the kernels crate does not have");
            return Err(Error::Unsupported { backend: "gpu".into(), op: "code book".into(), why });
        };
        let consts = &mut self.program.consts;
        let at = match consts.iter().position(|c| Arc::ptr_eq(c, book)) {
            Some(i) => i,
            None => {
                consts.push(book.clone());
                consts.len() - 1
            }
        };
        Ok(Some(Buf::Const(at)))
    }

    /// Limits the run position to `max` (for ops at `Position::Run` that must stay inside a cache).
    pub fn limit_position(&mut self, max: usize, why: String) {
        if self.program.position_limit.as_ref().is_none_or(|(m, _)| max < *m) {
            self.program.position_limit = Some((max, why));
        }
    }

    /// Appends a buffer copy of `bytes` (rounded up to 4).
    pub fn copy(&mut self, src: Buf, dst: Buf, bytes: u64) {
        self.program.commands.push(Command::Copy {
            node: self.node,
            src,
            dst,
            bytes: bytes.next_multiple_of(4).max(4),
        });
    }
}

/// A `Word::U32` from a size, or an error when it does not fit 32 bits.
pub(crate) fn u32_word(what: &str, v: usize) -> Result<Word> {
    u32::try_from(v).map(Word::U32).map_err(|_| Error::DeviceLimit {
        backend: "gpu".into(),
        what: what.into(),
        needed: v as u64,
        limit: u32::MAX as u64,
    })
}
