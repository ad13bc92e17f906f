//! The op graph and its builder. Every builder call validates shapes and dtypes at once, so a
//! graph that builds is a graph that runs.

use crate::error::{Error, Result};
use crate::ops::{AttentionOp, Op, Position, RopeOp};
use crate::tensor::{Tensor, TensorDesc};
use edgehal_kernels::{DType, GeluKind, RopeMode};
use std::sync::Arc;

/// A tensor value in a graph (an input, a weight, a state or a node's output).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// A node (one op application) in a graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// Where a value comes from.
#[derive(Clone, Debug)]
pub enum ValueSource {
    /// Given to each run.
    Input,
    /// A constant known at build time (weights); backends may repack it when compiling.
    Weight(Arc<Tensor>),
    /// Persists across runs (a KV cache); starts as the given tensor or zeros.
    State(Option<Arc<Tensor>>),
    /// The output of a node.
    Node(NodeId),
}

/// A value's name, type and origin.
#[derive(Clone, Debug)]
pub struct Value {
    /// Name for errors, profiles and `Session::output`.
    pub name: String,
    /// Dtype and shape.
    pub desc: TensorDesc,
    /// Origin.
    pub source: ValueSource,
}

/// One op applied to values.
#[derive(Clone, Debug)]
pub struct Node {
    /// Name for profiles and errors.
    pub name: String,
    /// The operation.
    pub op: Op,
    /// Input values in the op's order.
    pub inputs: Vec<ValueId>,
    /// The value it produces.
    pub output: ValueId,
}

/// An op graph. Nodes are kept in insertion order, which is a topological order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    values: Vec<Value>,
    nodes: Vec<Node>,
    outputs: Vec<ValueId>,
    /// (state, value that becomes the state after a run)
    state_updates: Vec<(ValueId, ValueId)>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// All values, indexed by `ValueId`.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// All nodes, indexed by `NodeId`, in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// A value by id.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0]
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// A node by id, for graph rewrites (fusion) that keep shapes and dtypes valid.
    pub(crate) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.0]
    }

    /// The state a value aliases: the state itself, or a kv_write output that updated it.
    pub fn state_of(&self, v: ValueId) -> Option<ValueId> {
        if matches!(self.values[v.0].source, ValueSource::State(_)) {
            return Some(v);
        }
        self.state_updates.iter().find(|&&(_, u)| u == v).map(|&(s, _)| s)
    }

    /// The values marked as outputs.
    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// The run inputs, in declaration order.
    pub fn inputs(&self) -> Vec<ValueId> {
        self.ids_where(|v| matches!(v.source, ValueSource::Input))
    }

    /// The states, in declaration order.
    pub fn states(&self) -> Vec<ValueId> {
        self.ids_where(|v| matches!(v.source, ValueSource::State(_)))
    }

    /// `(state, new value)` pairs: after a run, each state takes its new value.
    pub fn state_updates(&self) -> &[(ValueId, ValueId)] {
        &self.state_updates
    }

    /// The value called `name`.
    pub fn find(&self, name: &str) -> Result<ValueId> {
        self.values.iter().position(|v| v.name == name).map(ValueId).ok_or_else(|| Error::Unknown {
            kind: "tensor",
            name: name.into(),
            known: self.values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    fn ids_where(&self, f: impl Fn(&Value) -> bool) -> Vec<ValueId> {
        (0..self.values.len()).filter(|&i| f(&self.values[i])).map(ValueId).collect()
    }

    fn add_value(&mut self, name: String, desc: TensorDesc, source: ValueSource) -> ValueId {
        self.values.push(Value { name, desc, source });
        ValueId(self.values.len() - 1)
    }

    fn check_id(&self, id: ValueId) -> Result<()> {
        if id.0 < self.values.len() {
            Ok(())
        } else {
            Err(Error::Graph(format!("value id {} does not belong to this graph ({} values)", id.0, self.values.len())))
        }
    }

    /// Declares a run input.
    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> Result<ValueId> {
        let desc = TensorDesc::new(dtype, shape);
        desc.byte_len(name)?;
        Ok(self.add_value(name.into(), desc, ValueSource::Input))
    }

    /// Adds a constant (a weight), in any dtype including quant blocks.
    pub fn weight(&mut self, name: &str, tensor: Tensor) -> ValueId {
        let desc = tensor.desc().clone();
        self.add_value(name.into(), desc, ValueSource::Weight(Arc::new(tensor)))
    }

    /// Declares a state that persists across runs (a KV cache), zero-initialised.
    pub fn state(&mut self, name: &str, dtype: DType, shape: &[usize]) -> Result<ValueId> {
        let desc = TensorDesc::new(dtype, shape);
        desc.byte_len(name)?;
        Ok(self.add_value(name.into(), desc, ValueSource::State(None)))
    }

    /// Marks a value as a run output.
    pub fn output(&mut self, value: ValueId) -> Result<()> {
        self.check_id(value)?;
        if !self.outputs.contains(&value) {
            self.outputs.push(value);
        }
        Ok(())
    }

    /// Adds a node applying `op` to `inputs`, validating at once. Returns its output value.
    pub fn op(&mut self, op: Op, inputs: &[ValueId]) -> Result<ValueId> {
        for &i in inputs {
            self.check_id(i)?;
            self.check_not_overwritten(i, &op)?;
        }
        let descs: Vec<&TensorDesc> = inputs.iter().map(|&i| &self.values[i.0].desc).collect();
        let name = format!("{}_{}", op.name(), self.nodes.len());
        let out_desc = op.infer(&descs).map_err(|e| with_node_name(e, &name, &self.values, inputs))?;
        if let Op::KvWrite { pos } = &op {
            self.check_kv_write(inputs, *pos)?;
        }
        let node = NodeId(self.nodes.len());
        let output = self.add_value(name.clone(), out_desc, ValueSource::Node(node));
        if let Op::KvWrite { .. } = &op {
            self.state_updates.push((inputs[0], output));
        }
        self.nodes.push(Node { name, op, inputs: inputs.to_vec(), output });
        Ok(output)
    }

    /// A state's old value may not be read once a kv_write has updated it in place.
    fn check_not_overwritten(&self, id: ValueId, op: &Op) -> Result<()> {
        if self.state_updates.iter().any(|&(s, _)| s == id) {
            return Err(Error::Graph(format!(
                "{} reads state `{}` after a kv_write updated it in place; use the kv_write's output",
                op.name(),
                self.values[id.0].name
            )));
        }
        Ok(())
    }

    fn check_kv_write(&self, inputs: &[ValueId], pos: Position) -> Result<()> {
        let cache = &self.values[inputs[0].0];
        if !matches!(cache.source, ValueSource::State(_)) {
            return Err(Error::Graph(format!(
                "kv_write: `{}` is not a state; declare the cache with Graph::state",
                cache.name
            )));
        }
        let (cap, s) = (cache.desc.shape[2], self.values[inputs[1].0].desc.shape[2]);
        if let Position::Fixed(p) = pos
            && p.checked_add(s).is_none_or(|end| end > cap)
        {
            return Err(Error::shape(
                "kv_write",
                format!("{s} rows from position {p} do not fit cache `{}` of capacity {cap}", cache.name),
            ));
        }
        Ok(())
    }

    /// Renames a value (for outputs a caller wants to look up by name).
    pub fn name(&mut self, value: ValueId, name: &str) -> Result<ValueId> {
        self.check_id(value)?;
        self.values[value.0].name = name.into();
        if let ValueSource::Node(n) = self.values[value.0].source {
            self.nodes[n.0].name = name.into();
        }
        Ok(value)
    }

    /// Sets the initial contents of a state.
    pub fn set_state_init(&mut self, state: ValueId, init: Tensor) -> Result<()> {
        self.check_id(state)?;
        let v = &mut self.values[state.0];
        if !matches!(v.source, ValueSource::State(_)) || v.desc != *init.desc() {
            return Err(Error::Graph(format!("`{}` is not a state of {:?} {:?}", v.name, init.dtype(), init.shape())));
        }
        v.source = ValueSource::State(Some(Arc::new(init)));
        Ok(())
    }

    /// `x · wᵀ`.
    pub fn matmul(&mut self, x: ValueId, w: ValueId) -> Result<ValueId> {
        self.op(Op::MatMul, &[x, w])
    }

    /// Attention over q, k, v (see [`AttentionOp`]).
    pub fn attention(
        &mut self,
        q: ValueId,
        k: ValueId,
        v: ValueId,
        mask: Option<ValueId>,
        params: AttentionOp,
    ) -> Result<ValueId> {
        let mut inputs = vec![q, k, v];
        inputs.extend(mask);
        self.op(Op::Attention(params), &inputs)
    }

    /// Decodes a quantized tensor to `to` (f32 or f16).
    pub fn dequantize(&mut self, w: ValueId, to: DType) -> Result<ValueId> {
        self.op(Op::Dequantize { to }, &[w])
    }

    /// Embedding lookup.
    pub fn get_rows(&mut self, table: ValueId, ids: ValueId) -> Result<ValueId> {
        self.op(Op::GetRows, &[table, ids])
    }

    /// RMS norm with optional weight.
    pub fn rms_norm(&mut self, x: ValueId, weight: Option<ValueId>, eps: f32) -> Result<ValueId> {
        let inputs: Vec<_> = std::iter::once(x).chain(weight).collect();
        self.op(Op::RmsNorm { eps }, &inputs)
    }

    /// Layer norm with optional weight and bias (a bias needs a weight).
    pub fn layer_norm(
        &mut self,
        x: ValueId,
        weight: Option<ValueId>,
        bias: Option<ValueId>,
        eps: f32,
    ) -> Result<ValueId> {
        if bias.is_some() && weight.is_none() {
            return Err(Error::param("layer_norm", "bias", "given", "a bias needs a weight (pass ones)"));
        }
        let inputs: Vec<_> = std::iter::once(x).chain(weight).chain(bias).collect();
        self.op(Op::LayerNorm { eps }, &inputs)
    }

    /// Rotary embedding on `[b, h, s, d]`.
    pub fn rope(&mut self, x: ValueId, theta: f32, mode: RopeMode, offset: Position) -> Result<ValueId> {
        self.op(Op::Rope(RopeOp { theta, mode, offset }), &[x])
    }

    /// Softmax over the last axis.
    pub fn softmax(&mut self, x: ValueId) -> Result<ValueId> {
        self.op(Op::Softmax, &[x])
    }

    /// SiLU.
    pub fn silu(&mut self, x: ValueId) -> Result<ValueId> {
        self.op(Op::Silu, &[x])
    }

    /// GELU.
    pub fn gelu(&mut self, x: ValueId, kind: GeluKind) -> Result<ValueId> {
        self.op(Op::Gelu(kind), &[x])
    }

    /// `silu(gate) · up`.
    pub fn swiglu(&mut self, gate: ValueId, up: ValueId) -> Result<ValueId> {
        self.op(Op::SwiGlu, &[gate, up])
    }

    /// Broadcast add.
    pub fn add(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.op(Op::Add, &[a, b])
    }

    /// Broadcast multiply.
    pub fn mul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.op(Op::Mul, &[a, b])
    }

    /// Dtype conversion.
    pub fn cast(&mut self, x: ValueId, to: DType) -> Result<ValueId> {
        self.op(Op::Cast { to }, &[x])
    }

    /// New shape, same elements.
    pub fn reshape(&mut self, x: ValueId, shape: &[usize]) -> Result<ValueId> {
        self.op(Op::Reshape { shape: shape.to_vec() }, &[x])
    }

    /// Axis permutation.
    pub fn permute(&mut self, x: ValueId, perm: &[usize]) -> Result<ValueId> {
        self.op(Op::Permute { perm: perm.to_vec() }, &[x])
    }

    /// A copy.
    pub fn copy(&mut self, x: ValueId) -> Result<ValueId> {
        self.op(Op::Copy, &[x])
    }

    /// Writes `new` into the KV-cache state `cache` at `pos`; returns the updated cache.
    pub fn kv_write(&mut self, cache: ValueId, new: ValueId, pos: Position) -> Result<ValueId> {
        self.op(Op::KvWrite { pos }, &[cache, new])
    }
}

/// Adds the node name and the input names/shapes to a build-time error.
fn with_node_name(e: Error, node: &str, values: &[Value], inputs: &[ValueId]) -> Error {
    let described: Vec<String> = inputs
        .iter()
        .map(|i| {
            let v = &values[i.0];
            format!("`{}` {} {:?}", v.name, v.desc.dtype, v.desc.shape)
        })
        .collect();
    match e {
        Error::Shape { op, detail } => {
            Error::Shape { op: format!("{op} (node {node}, inputs {})", described.join(", ")), detail }
        }
        Error::DType { op, tensor, got, expected } => {
            Error::DType { op: format!("{op} (node {node})"), tensor, got, expected }
        }
        Error::Param { op, param, value, why } => Error::Param { op: format!("{op} (node {node})"), param, value, why },
        other => other,
    }
}
