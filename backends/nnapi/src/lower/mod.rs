//! Lowering: an edgehal partition to an [`NnModel`] (plain data; no FFI).
//!
//! Model inputs are the partition's inputs, then its states (read-only: NNAPI has no in-place
//! update, so `kv_write` stays on another backend), in that order; model outputs are the
//! partition's outputs. Every value is computed in f32: f16 activations are `CAST` on entry,
//! weights become constants as [`weights`] describes.

mod attention;
pub mod builder;
mod ops;
pub mod weights;

use crate::model::{NnModel, OperandCode, OperationCode};
use builder::ModelBuilder;
use edgehal::{DType, Graph, NodeId, Partition, Result, ValueId, ValueSource};
use std::collections::HashMap;
use weights::WeightRecord;

/// A partition lowered to an NNAPI model.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The model.
    pub model: NnModel,
    /// The edgehal value bound to each model input, in order (partition inputs, then states).
    pub inputs: Vec<ValueId>,
    /// The edgehal value read from each model output, in order.
    pub outputs: Vec<ValueId>,
    /// What happened to each weight.
    pub weights: Vec<WeightRecord>,
}

/// Lowers `partition` of `graph` for a device of feature level `max_level`, or says (as a typed
/// `Unsupported` error) which op cannot be expressed and why.
pub fn lower(graph: &Graph, partition: &Partition, max_level: i64) -> Result<Lowered> {
    let mut cx = Lowering {
        b: ModelBuilder::new(max_level),
        graph,
        values: HashMap::new(),
        f32_values: HashMap::new(),
        weights: Vec::new(),
    };
    let mut inputs = Vec::new();
    for &v in partition.inputs.iter().chain(&partition.states) {
        let value = graph.value(v);
        cx.b.current_op = format!("input `{}`", value.name);
        let code = activation_code(value.desc.dtype)
            .ok_or_else(|| cx.b.refuse(format!("model inputs of dtype {} (f32 or f16 only)", value.desc.dtype)))?;
        let id = cx.b.tensor(code, &value.desc.shape)?;
        cx.b.model.inputs.push(id);
        cx.values.insert(v, id);
        inputs.push(v);
    }
    for &n in &partition.nodes {
        let node = graph.node(n);
        cx.b.current_op = format!("{} (node {})", node.op.name(), node.name);
        let out = ops::lower_node(&mut cx, n)?;
        cx.values.insert(node.output, out);
    }
    for &v in &partition.outputs {
        let value = graph.value(v);
        let id = *cx.values.get(&v).ok_or_else(|| {
            edgehal::Error::Graph(format!("partition output `{}` is not produced by the partition", value.name))
        })?;
        cx.b.model.outputs.push(id);
    }
    Ok(Lowered { model: cx.b.model, inputs, outputs: partition.outputs.clone(), weights: cx.weights })
}

/// The NNAPI type of an f32 or f16 edgehal tensor.
pub fn activation_code(dtype: DType) -> Option<OperandCode> {
    match dtype {
        DType::F32 => Some(OperandCode::TensorFloat32),
        DType::F16 => Some(OperandCode::TensorFloat16),
        _ => None,
    }
}

/// State of one lowering: the builder and which operand holds each edgehal value.
pub(crate) struct Lowering<'g> {
    pub b: ModelBuilder,
    pub graph: &'g Graph,
    /// Operand of each value, in its own dtype.
    values: HashMap<ValueId, u32>,
    /// Operand of each value converted to f32 (when that took an operation).
    f32_values: HashMap<ValueId, u32>,
    pub weights: Vec<WeightRecord>,
}

impl Lowering<'_> {
    /// The operand holding `v` as f32: the value itself, an f16 value `CAST`, or a weight made
    /// into an f32 constant (see [`weights`]).
    pub fn f32_operand(&mut self, v: ValueId) -> Result<u32> {
        if let Some(&id) = self.f32_values.get(&v) {
            return Ok(id);
        }
        let value = self.graph.value(v);
        let id = match (&value.source, self.values.get(&v)) {
            (_, Some(&id)) if self.b.code(id) == OperandCode::TensorFloat32 => return Ok(id),
            (_, Some(&id)) if self.b.code(id) == OperandCode::TensorFloat16 => {
                let dims = self.b.dims(id);
                self.b.op(
                    OperationCode::Cast,
                    vec![id],
                    OperandCode::TensorFloat32,
                    &dims,
                    crate::ffi::feature_level::FL3,
                )?
            }
            (ValueSource::Weight(t), None) => {
                let (id, form) = weights::weight_as_f32(&mut self.b, t)?;
                self.weights.push(WeightRecord { name: value.name.clone(), dtype: t.dtype(), form });
                id
            }
            _ => {
                return Err(self.b.refuse(format!(
                    "value `{}` ({} {:?}) has no f32 operand",
                    value.name, value.desc.dtype, value.desc.shape
                )));
            }
        };
        self.f32_values.insert(v, id);
        Ok(id)
    }

    /// The edgehal node `n`.
    pub fn node(&self, n: NodeId) -> &edgehal::Node {
        self.graph.node(n)
    }
}
