//! Lowering: an edgehal partition (or one node, for `supports`) to a [`QnnGraphDesc`].
//!
//! Every edgehal value crossing the partition boundary becomes a QNN graph input or output of the
//! same dtype and shape (the bytes are copied unchanged); values inside become native tensors;
//! weights become static tensors. An edgehal node may lower to several QNN nodes (silu is
//! `Sigmoid` then `ElementWiseMultiply`, attention is a subgraph); every QNN node is named
//! `n<node index>_<k>` so profile events map back to the edgehal node.
//!
//! Weights: f32 and f16 weights are passed as they are (converted to the dtype of the activation
//! they meet); every ggml quant format (Q4_0 … Q6_K, IQ4_NL) is dequantized to that float dtype at
//! compile time. None is mapped to QNN's fixed-point types: a ggml block carries one scale per 32
//! (or 16) values, while QNN's scale-offset encodings carry one per tensor or one per output
//! channel, so the mapping would change the weights (requantization error), not just re-encode
//! them.

mod attention;
mod ops;
mod special;
mod weights;

pub use attention::{position_mask, valid_rows};

use crate::desc::{ParamValue, QnnDType, QnnGraphDesc, QnnOp, QnnTensor, Scalar, TensorIndex, TensorRole};
use crate::runtime::QnnBackendKind;
use edgehal::{DType, Error, Graph, NodeId, Partition, Position, Result, ValueId, ValueSource};
use std::collections::HashMap;
use std::sync::Arc;

/// The op package of Qualcomm's built-in ops.
pub const PACKAGE: &str = "qti.aisw";

/// Where the bytes of one QNN graph input come from at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum InputSource {
    /// `Partition::inputs[i]`.
    Input(usize),
    /// `Partition::states[i]` (read only: no lowered op writes a state).
    State(usize),
    /// The keys each query row may see, bool8 `[1, 1, s, capacity]`, computed for each run: 1 where
    /// key `j` is valid for query row `i` (`j < kv_len`, and `j <= kv_len - s + i` when causal,
    /// with `kv_len = past + s`).
    PositionMask {
        /// Positions cached before the run.
        past: Position,
        /// Query rows.
        rows: usize,
        /// Cache capacity (keys).
        capacity: usize,
        /// Whether keys after the query's position are masked.
        causal: bool,
        /// The attention node (for errors).
        node: NodeId,
    },
    /// The cache rows holding data, bool8 `[1, capacity, 1]`: 1 where `j < past + s`.
    ValidRows {
        /// Positions cached before the run.
        past: Position,
        /// Query rows.
        rows: usize,
        /// Cache capacity.
        capacity: usize,
    },
}

/// A lowered partition.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The QNN graph.
    pub desc: QnnGraphDesc,
    /// Per `desc.inputs[i]`, where its bytes come from.
    pub inputs: Vec<InputSource>,
}

/// Whether static weights carry their bytes (compile) or only their shape (validation, where
/// dequantizing a 100 MB weight to ask "is this op supported?" would be waste).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WeightData {
    /// The real bytes.
    Real,
    /// No bytes (`data: None`): only for `backendValidateOpConfig`.
    ShapeOnly,
}

/// Builds a [`QnnGraphDesc`] node by node.
pub(crate) struct Builder<'g> {
    pub graph: &'g Graph,
    /// The backend the graph is for: the compositions differ where its ops do (see `special`).
    pub target: QnnBackendKind,
    pub desc: QnnGraphDesc,
    pub sources: Vec<InputSource>,
    weights: WeightData,
    /// The tensor of each edgehal value already lowered (per dtype, for converted weights).
    values: HashMap<(ValueId, QnnDType), TensorIndex>,
    /// Values the partition hands out (their tensors are graph outputs).
    outputs: Vec<ValueId>,
    /// The node being lowered and how many QNN nodes / tensors it made so far.
    node: NodeId,
    counter: usize,
}

/// The QNN dtype of an edgehal activation dtype, or why it has none.
pub(crate) fn qnn_dtype(dtype: DType) -> std::result::Result<QnnDType, String> {
    match dtype {
        DType::F32 => Ok(QnnDType::F32),
        DType::F16 => Ok(QnnDType::F16),
        DType::I32 => Ok(QnnDType::I32),
        other => Err(format!("{other} tensors do not cross a QNN graph boundary (f32, f16, i32 do)")),
    }
}

/// Dims of an edgehal shape as QNN dims (rank 0 becomes `[1]`).
pub(crate) fn dims(shape: &[usize]) -> Vec<u32> {
    if shape.is_empty() { vec![1] } else { shape.iter().map(|&d| d as u32).collect() }
}

impl<'g> Builder<'g> {
    pub fn new(
        graph: &'g Graph,
        target: QnnBackendKind,
        name: &str,
        outputs: Vec<ValueId>,
        weights: WeightData,
    ) -> Self {
        Builder {
            graph,
            target,
            desc: QnnGraphDesc { name: name.into(), ..Default::default() },
            sources: Vec::new(),
            weights,
            values: HashMap::new(),
            outputs,
            node: NodeId(0),
            counter: 0,
        }
    }

    fn push_tensor(&mut self, t: QnnTensor) -> TensorIndex {
        self.desc.tensors.push(t);
        self.desc.tensors.len() - 1
    }

    /// Registers a run-time value as a graph input fed from `source`.
    pub fn input(&mut self, v: ValueId, source: InputSource) -> Result<TensorIndex> {
        let value = self.graph.value(v);
        let dtype = qnn_dtype(value.desc.dtype).map_err(|why| unsupported(&value.name, why))?;
        let t = self.push_tensor(QnnTensor {
            name: format!("v{}", v.0),
            role: TensorRole::Input,
            dtype,
            quant: None,
            dims: dims(&value.desc.shape),
            data: None,
        });
        self.desc.inputs.push(t);
        self.sources.push(source);
        self.values.insert((v, dtype), t);
        Ok(t)
    }

    /// A graph input the lowering adds itself (e.g. a position mask).
    pub fn extra_input(&mut self, dtype: QnnDType, dims: Vec<u32>, source: InputSource) -> TensorIndex {
        let name = self.fresh("in");
        let t = self.push_tensor(QnnTensor { name, role: TensorRole::Input, dtype, quant: None, dims, data: None });
        self.desc.inputs.push(t);
        self.sources.push(source);
        t
    }

    /// The tensor holding value `v` as `dtype`: an earlier node's output, a graph input, or a
    /// weight made static (converted to `dtype`).
    pub fn value_as(&mut self, v: ValueId, dtype: QnnDType) -> Result<TensorIndex> {
        if let Some(&t) = self.values.get(&(v, dtype)) {
            return Ok(t);
        }
        let value = self.graph.value(v);
        if let ValueSource::Weight(w) = &value.source {
            let data = match self.weights {
                WeightData::Real => Some(Arc::new(weights::to_float_bytes(w, dtype)?)),
                WeightData::ShapeOnly => None,
            };
            let t = self.push_tensor(QnnTensor {
                name: format!("w{}_{dtype:?}", v.0),
                role: TensorRole::Static,
                dtype,
                quant: None,
                dims: dims(&value.desc.shape),
                data,
            });
            self.values.insert((v, dtype), t);
            return Ok(t);
        }
        let have = qnn_dtype(value.desc.dtype).map_err(|why| unsupported(&value.name, why))?;
        let src = *self
            .values
            .get(&(v, have))
            .ok_or_else(|| Error::Graph(format!("qnn lowering: value `{}` used before it is produced", value.name)))?;
        if have == dtype {
            return Ok(src);
        }
        let dims = self.desc.tensors[src].dims.clone();
        let out = self.native(dtype, dims);
        self.op("Cast", vec![], vec![src], vec![out]);
        self.values.insert((v, dtype), out);
        Ok(out)
    }

    /// The tensor of value `v` in its own dtype.
    pub fn value(&mut self, v: ValueId) -> Result<TensorIndex> {
        let value = self.graph.value(v);
        let dtype = match &value.source {
            ValueSource::Weight(_) => match value.desc.dtype {
                DType::F16 => QnnDType::F16,
                _ => QnnDType::F32,
            },
            _ => qnn_dtype(value.desc.dtype).map_err(|why| unsupported(&value.name, why))?,
        };
        self.value_as(v, dtype)
    }

    /// The tensor the current node's result goes to: a graph output when the partition hands it
    /// out, else a native tensor.
    pub fn result(&mut self, v: ValueId) -> Result<TensorIndex> {
        let value = self.graph.value(v);
        let dtype = qnn_dtype(value.desc.dtype).map_err(|why| unsupported(&value.name, why))?;
        let role = if self.outputs.contains(&v) { TensorRole::Output } else { TensorRole::Native };
        let t = self.push_tensor(QnnTensor {
            name: format!("v{}", v.0),
            role,
            dtype,
            quant: None,
            dims: dims(&value.desc.shape),
            data: None,
        });
        if role == TensorRole::Output {
            self.desc.outputs.push(t);
        }
        self.values.insert((v, dtype), t);
        Ok(t)
    }

    /// A fresh name for a tensor or node of the current edgehal node.
    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("n{}_{what}{}", self.node.0, self.counter)
    }

    /// A native (intermediate) tensor.
    pub fn native(&mut self, dtype: QnnDType, dims: Vec<u32>) -> TensorIndex {
        let name = self.fresh("t");
        self.push_tensor(QnnTensor { name, role: TensorRole::Native, dtype, quant: None, dims, data: None })
    }

    /// A static tensor with the given bytes.
    pub fn constant(&mut self, dtype: QnnDType, dims: Vec<u32>, bytes: Vec<u8>) -> TensorIndex {
        let name = self.fresh("c");
        self.push_tensor(QnnTensor {
            name,
            role: TensorRole::Static,
            dtype,
            quant: None,
            dims,
            data: Some(Arc::new(bytes)),
        })
    }

    /// A static float tensor (f32 or f16 as `dtype` says).
    pub fn float_constant(&mut self, dtype: QnnDType, dims: Vec<u32>, values: &[f32]) -> TensorIndex {
        let bytes = weights::floats_as(values, dtype);
        self.constant(dtype, dims, bytes)
    }

    /// A static u32 vector (axes, permutations).
    pub fn u32_constant(&mut self, values: &[u32]) -> TensorIndex {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(QnnDType::U32, vec![values.len() as u32], bytes)
    }

    /// Appends a node of package `qti.aisw`.
    pub fn op(
        &mut self,
        type_name: &str,
        params: Vec<(&str, ParamValue)>,
        inputs: Vec<TensorIndex>,
        outputs: Vec<TensorIndex>,
    ) {
        let name = self.fresh("op");
        self.desc.ops.push(QnnOp {
            name,
            package: PACKAGE.into(),
            type_name: type_name.into(),
            params: params.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            inputs,
            outputs,
        });
    }

    /// A node with one output of `dtype` and `dims` (native), returned.
    pub fn unary(&mut self, type_name: &str, params: Vec<(&str, ParamValue)>, inputs: Vec<TensorIndex>) -> TensorIndex {
        // ElementWiseSelect's first input is the condition: its result has the values' dtype.
        let like = if type_name == "ElementWiseSelect" { inputs[1] } else { inputs[0] };
        let dtype = self.desc.tensors[like].dtype;
        let dims = inputs.iter().fold(Vec::new(), |acc, &i| broadcast(&acc, &self.desc.tensors[i].dims));
        let out = self.native(dtype, dims);
        self.op(type_name, params, inputs, vec![out]);
        out
    }

    /// An element-wise comparison (`ElementWiseGreater`, …) of `a` with `c`, as a bool8 tensor of
    /// `a`'s dims.
    pub fn compare(&mut self, type_name: &str, a: TensorIndex, c: TensorIndex) -> TensorIndex {
        let dims = self.desc.tensors[a].dims.clone();
        let out = self.native(QnnDType::Bool8, dims);
        self.op(type_name, vec![], vec![a, c], vec![out]);
        out
    }

    /// `Reshape` of `x` to `dims`, into a fresh native tensor.
    pub fn reshape(&mut self, x: TensorIndex, dims: Vec<u32>) -> TensorIndex {
        let out = self.native(self.desc.tensors[x].dtype, dims);
        self.reshape_into(x, out);
        out
    }

    /// `Reshape` of `x` into the existing tensor `out` (its dims are the new shape).
    pub fn reshape_into(&mut self, x: TensorIndex, out: TensorIndex) {
        self.op("Reshape", vec![], vec![x], vec![out]);
    }

    /// Lowers one edgehal node.
    pub fn node(&mut self, id: NodeId) -> Result<()> {
        self.node = id;
        self.counter = 0;
        ops::lower(self, id)
    }
}

/// The numpy-style broadcast of two shapes (aligned at the last axis; a 1 stretches).
fn broadcast(a: &[u32], b: &[u32]) -> Vec<u32> {
    let rank = a.len().max(b.len());
    let at = |s: &[u32], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank).map(|i| at(a, i).max(at(b, i))).collect()
}

/// Scalar parameter shorthand.
pub(crate) fn scalar(s: Scalar) -> ParamValue {
    ParamValue::Scalar(s)
}

/// The error for something the lowering cannot express.
pub(crate) fn unsupported(what: &str, why: impl Into<String>) -> Error {
    Error::Unsupported { backend: "qnn".into(), op: what.into(), why: why.into() }
}

/// Lowers a whole partition (weights with their bytes) for the `target` backend.
pub fn lower_partition(graph: &Graph, partition: &Partition, target: QnnBackendKind, name: &str) -> Result<Lowered> {
    let mut b = Builder::new(graph, target, name, partition.outputs.clone(), WeightData::Real);
    for (i, &v) in partition.inputs.iter().enumerate() {
        b.input(v, InputSource::Input(i))?;
    }
    for (i, &v) in partition.states.iter().enumerate() {
        b.input(v, InputSource::State(i))?;
    }
    for &n in &partition.nodes {
        b.node(n)?;
    }
    for &v in &partition.outputs {
        let produced = b.desc.outputs.iter().any(|&t| b.desc.tensors[t].name == format!("v{}", v.0));
        if !produced {
            return Err(Error::Graph(format!(
                "qnn lowering: partition output `{}` is not produced by its nodes",
                graph.value(v).name
            )));
        }
    }
    b.desc
        .check()
        .map_err(|e| Error::Backend { backend: "qnn".into(), why: format!("lowering made a bad graph: {e}") })?;
    Ok(Lowered { desc: b.desc, inputs: b.sources })
}

/// Lowers one node alone, its run-time inputs as graph inputs and its result as the output, with
/// shape-only weights: the graph `supports` validates op by op.
pub fn lower_node_alone(graph: &Graph, node: NodeId, target: QnnBackendKind) -> Result<Lowered> {
    let n = graph.node(node);
    let mut b = Builder::new(graph, target, "validate", vec![n.output], WeightData::ShapeOnly);
    for (i, &v) in n.inputs.iter().enumerate() {
        let is_weight = matches!(graph.value(v).source, ValueSource::Weight(_));
        if !is_weight && !b.values.keys().any(|(id, _)| *id == v) {
            b.input(v, InputSource::Input(i))?;
        }
    }
    b.node(node)?;
    Ok(Lowered { desc: b.desc, inputs: b.sources })
}

#[cfg(test)]
mod tests;
