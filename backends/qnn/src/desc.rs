//! A QNN graph as plain Rust data: what the lowering builds from an edgehal partition and what the
//! runtime turns into QNN API calls (`tensorCreateGraphTensor`, `graphAddNode`, ...).
//!
//! Keeping the description separate from the FFI lets the lowering be tested without a QNN
//! library (golden descriptions) and lets the runtime be tested on hand-written graphs.

use std::sync::Arc;

/// Element types of QNN tensors (`Qnn_DataType_t`) the lowering uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QnnDType {
    /// `QNN_DATATYPE_FLOAT_32`.
    F32,
    /// `QNN_DATATYPE_FLOAT_16`.
    F16,
    /// `QNN_DATATYPE_INT_32`.
    I32,
    /// `QNN_DATATYPE_UINT_32`.
    U32,
    /// `QNN_DATATYPE_BOOL_8`.
    Bool8,
    /// `QNN_DATATYPE_UFIXED_POINT_8` (needs [`Quantization`]).
    UFixed8,
    /// `QNN_DATATYPE_SFIXED_POINT_8` (needs [`Quantization`]).
    SFixed8,
}

impl QnnDType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            QnnDType::F32 | QnnDType::I32 | QnnDType::U32 => 4,
            QnnDType::F16 => 2,
            QnnDType::Bool8 | QnnDType::UFixed8 | QnnDType::SFixed8 => 1,
        }
    }
}

/// Affine quantization of a fixed-point tensor: `real = scale * (q + offset)` (QNN's convention:
/// the offset is added, and is usually negative).
#[derive(Clone, Debug, PartialEq)]
pub enum Quantization {
    /// One scale and offset for the whole tensor (`QNN_QUANTIZATION_ENCODING_SCALE_OFFSET`).
    PerTensor {
        /// Scale.
        scale: f32,
        /// Offset.
        offset: i32,
    },
    /// One scale and offset per slice along `axis` (`QNN_QUANTIZATION_ENCODING_AXIS_SCALE_OFFSET`).
    PerAxis {
        /// The axis the scales run along.
        axis: i32,
        /// `(scale, offset)` per slice.
        scales: Vec<(f32, i32)>,
    },
}

/// How a tensor is used (`Qnn_TensorType_t`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TensorRole {
    /// A graph input the application writes (`QNN_TENSOR_TYPE_APP_WRITE`).
    Input,
    /// A graph output the application reads (`QNN_TENSOR_TYPE_APP_READ`).
    Output,
    /// An intermediate value (`QNN_TENSOR_TYPE_NATIVE`).
    Native,
    /// A constant with data given at graph build time (`QNN_TENSOR_TYPE_STATIC`).
    Static,
}

/// One tensor of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct QnnTensor {
    /// Unique name within the graph (QNN identifies tensors by name).
    pub name: String,
    /// Its role.
    pub role: TensorRole,
    /// Element type.
    pub dtype: QnnDType,
    /// Quantization, for fixed-point types.
    pub quant: Option<Quantization>,
    /// Dimensions, outermost first (QNN is row-major; rank 0 is not used: scalars are `[1]`).
    pub dims: Vec<u32>,
    /// The bytes of a [`TensorRole::Static`] tensor (little-endian, row-major).
    pub data: Option<Arc<Vec<u8>>>,
}

impl QnnTensor {
    /// Bytes one buffer of this tensor takes.
    pub fn bytes(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product::<usize>() * self.dtype.size()
    }
}

/// Index of a tensor in [`QnnGraphDesc::tensors`].
pub type TensorIndex = usize;

/// A scalar op parameter (`Qnn_Scalar_t`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Scalar {
    /// `QNN_DATATYPE_BOOL_8`.
    Bool(bool),
    /// `QNN_DATATYPE_UINT_32`.
    U32(u32),
    /// `QNN_DATATYPE_INT_32`.
    I32(i32),
    /// `QNN_DATATYPE_FLOAT_32`.
    F32(f32),
}

/// An op parameter's value (`Qnn_Param_t`).
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// `QNN_PARAMTYPE_SCALAR`.
    Scalar(Scalar),
    /// `QNN_PARAMTYPE_TENSOR`: a static tensor of the graph (e.g. `perm` of Transpose, `axes` of
    /// RmsNorm), which the runtime creates like any other static tensor.
    Tensor(TensorIndex),
}

/// One node (`Qnn_OpConfig_t`).
#[derive(Clone, Debug, PartialEq)]
pub struct QnnOp {
    /// Unique node name.
    pub name: String,
    /// Op package, `qti.aisw` for Qualcomm's built-in ops.
    pub package: String,
    /// Op type as QNN names it (`MatMul`, `Softmax`, `ElementWiseAdd`, ...).
    pub type_name: String,
    /// Parameters by name.
    pub params: Vec<(String, ParamValue)>,
    /// Input tensors, in the op's order.
    pub inputs: Vec<TensorIndex>,
    /// Output tensors.
    pub outputs: Vec<TensorIndex>,
}

/// A whole QNN graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QnnGraphDesc {
    /// Graph name (unique within a context).
    pub name: String,
    /// Every tensor: inputs, outputs, intermediates, weights and parameter tensors.
    pub tensors: Vec<QnnTensor>,
    /// Nodes in execution order.
    pub ops: Vec<QnnOp>,
    /// The graph's inputs, in binding order (each [`TensorRole::Input`]).
    pub inputs: Vec<TensorIndex>,
    /// The graph's outputs, in binding order (each [`TensorRole::Output`]).
    pub outputs: Vec<TensorIndex>,
}

impl QnnGraphDesc {
    /// Checks the description is self-consistent: indices in range, unique tensor and node names,
    /// static tensors with exactly their bytes, inputs/outputs with the right roles, every
    /// non-static tensor produced before it is read.
    pub fn check(&self) -> Result<(), String> {
        let n = self.tensors.len();
        let mut names = std::collections::HashSet::new();
        for t in &self.tensors {
            if !names.insert(t.name.as_str()) {
                return Err(format!("tensor name `{}` used twice", t.name));
            }
            if t.dims.is_empty() || t.dims.contains(&0) {
                return Err(format!("tensor `{}` has dims {:?}", t.name, t.dims));
            }
            match (&t.role, &t.data) {
                (TensorRole::Static, Some(d)) if d.len() == t.bytes() => {}
                (TensorRole::Static, d) => {
                    return Err(format!(
                        "static tensor `{}` needs {} bytes, has {:?}",
                        t.name,
                        t.bytes(),
                        d.as_ref().map(|d| d.len())
                    ));
                }
                (_, Some(_)) => return Err(format!("non-static tensor `{}` carries data", t.name)),
                _ => {}
            }
            if matches!(t.dtype, QnnDType::UFixed8 | QnnDType::SFixed8) != t.quant.is_some() {
                return Err(format!(
                    "tensor `{}`: fixed-point types need quantization, others must not have it",
                    t.name
                ));
            }
        }
        for (list, role, what) in
            [(&self.inputs, TensorRole::Input, "input"), (&self.outputs, TensorRole::Output, "output")]
        {
            for &i in list {
                if i >= n || self.tensors[i].role != role {
                    return Err(format!("graph {what} {i} is not a tensor of role {role:?}"));
                }
            }
        }
        let mut ready: Vec<bool> =
            self.tensors.iter().map(|t| matches!(t.role, TensorRole::Input | TensorRole::Static)).collect();
        let mut op_names = std::collections::HashSet::new();
        for op in &self.ops {
            if !op_names.insert(op.name.as_str()) {
                return Err(format!("node name `{}` used twice", op.name));
            }
            for &i in &op.inputs {
                if i >= n || !ready[i] {
                    return Err(format!("node `{}` reads tensor {i} before it is produced", op.name));
                }
            }
            for (p, v) in &op.params {
                if let ParamValue::Tensor(i) = v
                    && (*i >= n || self.tensors[*i].role != TensorRole::Static)
                {
                    return Err(format!("node `{}` parameter `{p}` is not a static tensor", op.name));
                }
            }
            for &o in &op.outputs {
                if o >= n || matches!(self.tensors[o].role, TensorRole::Input | TensorRole::Static) || ready[o] {
                    return Err(format!(
                        "node `{}` writes tensor {o}, which is an input, static or written twice",
                        op.name
                    ));
                }
                ready[o] = true;
            }
        }
        for &o in &self.outputs {
            if !ready[o] {
                return Err(format!("graph output `{}` is never produced", self.tensors[o].name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, role: TensorRole) -> QnnTensor {
        QnnTensor { name: name.into(), role, dtype: QnnDType::F32, quant: None, dims: vec![2, 3], data: None }
    }

    fn add_graph() -> QnnGraphDesc {
        QnnGraphDesc {
            name: "g".into(),
            tensors: vec![
                tensor("a", TensorRole::Input),
                tensor("b", TensorRole::Input),
                tensor("y", TensorRole::Output),
            ],
            ops: vec![QnnOp {
                name: "add".into(),
                package: "qti.aisw".into(),
                type_name: "ElementWiseAdd".into(),
                params: vec![],
                inputs: vec![0, 1],
                outputs: vec![2],
            }],
            inputs: vec![0, 1],
            outputs: vec![2],
        }
    }

    #[test]
    fn a_consistent_graph_passes() {
        add_graph().check().unwrap();
    }

    #[test]
    fn inconsistencies_are_named() {
        let mut g = add_graph();
        g.ops[0].inputs[1] = 2;
        assert!(g.check().unwrap_err().contains("before it is produced"));
        let mut g = add_graph();
        g.tensors[1].name = "a".into();
        assert!(g.check().unwrap_err().contains("used twice"));
        let mut g = add_graph();
        g.tensors[1].role = TensorRole::Static;
        g.tensors[1].data = Some(Arc::new(vec![0; 5]));
        assert!(g.check().unwrap_err().contains("needs 24 bytes"));
        let mut g = add_graph();
        g.ops.clear();
        assert!(g.check().unwrap_err().contains("never produced"));
    }
}
