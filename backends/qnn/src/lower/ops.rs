//! Per-op lowering to `qti.aisw` ops: matmul (FullyConnected for weights, MatMul otherwise),
//! norms, softmax, activations, element-wise ops, cast and layout ops. Attention is in
//! [`super::attention`].

use super::{Builder, scalar, special, unsupported};
use crate::desc::{ParamValue, QnnDType, Scalar, TensorIndex};
use edgehal::{DType, GeluKind, NodeId, Op, Result, ValueSource};

/// Lowers node `id` (dispatch on the op).
pub(crate) fn lower(b: &mut Builder, id: NodeId) -> Result<()> {
    let node = b.graph.node(id).clone();
    let ins = &node.inputs;
    match &node.op {
        Op::MatMul => matmul(b, ins[0], ins[1], node.output),
        Op::Attention(a) => super::attention::lower(b, id, a),
        Op::RmsNorm { eps } => norm(b, "RmsNorm", *eps, ins, node.output),
        Op::LayerNorm { eps } => norm(b, "LayerNorm", *eps, ins, node.output),
        Op::Softmax => {
            // Written out rather than QNN's Softmax: see `special::softmax_parts`.
            let x = b.value_as(ins[0], QnnDType::F32)?;
            let axis = b.desc.tensors[x].dims.len() as u32 - 1;
            let (e, sum) = special::softmax_parts(b, x, axis);
            let out = b.result(node.output)?;
            if b.desc.tensors[out].dtype == QnnDType::F32 {
                b.op("ElementWiseDivide", vec![], vec![e, sum], vec![out]);
            } else {
                let y = b.unary("ElementWiseDivide", vec![], vec![e, sum]);
                b.op("Cast", vec![], vec![y], vec![out]);
            }
            Ok(())
        }
        Op::Silu => {
            let x = b.value(ins[0])?;
            let s = b.unary("Sigmoid", vec![], vec![x]);
            let out = b.result(node.output)?;
            b.op("ElementWiseMultiply", vec![], vec![x, s], vec![out]);
            Ok(())
        }
        Op::SwiGlu => {
            let (gate, up) = (b.value(ins[0])?, b.value(ins[1])?);
            let s = b.unary("Sigmoid", vec![], vec![gate]);
            let silu = b.unary("ElementWiseMultiply", vec![], vec![gate, s]);
            let out = b.result(node.output)?;
            b.op("ElementWiseMultiply", vec![], vec![silu, up], vec![out]);
            Ok(())
        }
        Op::Gelu(GeluKind::Erf) => {
            let x = b.value(ins[0])?;
            let out = b.result(node.output)?;
            b.op("Gelu", vec![], vec![x], vec![out]);
            Ok(())
        }
        Op::Gelu(GeluKind::Tanh) => gelu_tanh(b, ins[0], node.output),
        Op::Add | Op::Mul => {
            let kind = if node.op == Op::Add { "ElementWiseAdd" } else { "ElementWiseMultiply" };
            let (a, c) = (b.value_as(ins[0], QnnDType::F32)?, b.value_as(ins[1], QnnDType::F32)?);
            let out = b.result(node.output)?;
            special::saturating_op_into(b, kind, vec![], vec![a, c], out);
            Ok(())
        }
        Op::Cast { to } => {
            let from = b.graph.value(ins[0]).desc.dtype;
            let floats = [DType::F32, DType::F16];
            if !(floats.contains(&from) && floats.contains(to)) {
                return Err(unsupported("cast", format!("{from} to {to}: QNN casts here only between f32 and f16")));
            }
            let x = b.value(ins[0])?;
            let out = b.result(node.output)?;
            b.op("Cast", vec![], vec![x], vec![out]);
            Ok(())
        }
        Op::Reshape { .. } | Op::Copy => {
            let x = b.value(ins[0])?;
            let out = b.result(node.output)?;
            b.reshape_into(x, out);
            Ok(())
        }
        Op::Permute { perm } => {
            let x = b.value(ins[0])?;
            let perm: Vec<u32> = perm.iter().map(|&p| p as u32).collect();
            let p = b.u32_constant(&perm);
            let out = b.result(node.output)?;
            b.op("Transpose", vec![("perm", ParamValue::Tensor(p))], vec![x], vec![out]);
            Ok(())
        }
        Op::Dequantize { .. } | Op::GetRows | Op::Rope(_) | Op::KvWrite { .. } => Err(unsupported(
            node.op.name(),
            match node.op {
                Op::KvWrite { .. } => {
                    "a QNN graph cannot update a state tensor in place; the cache write stays on the CPU"
                }
                Op::Rope(_) => "not lowered to QNN yet (no qti.aisw rope op; the cos/sin composition is not written)",
                _ => "not lowered to QNN: weights are decoded at compile time inside the ops that use them",
            },
        )),
    }
}

/// `y[..., m, n] = x[..., m, k] · w[n, k]ᵀ`: `FullyConnected` when `w` is a weight (its `[n, k]`
/// layout is FullyConnected's), else `MatMul` with `transpose_in1`. x is flattened to `[M, k]`.
fn matmul(b: &mut Builder, xv: edgehal::ValueId, wv: edgehal::ValueId, yv: edgehal::ValueId) -> Result<()> {
    let xdesc = b.graph.value(xv).desc.clone();
    let wdesc = b.graph.value(wv).desc.clone();
    let is_weight = matches!(b.graph.value(wv).source, ValueSource::Weight(_));
    if wdesc.rank() != 2 {
        return Err(unsupported("matmul", format!("w {:?} must be [n, k]", wdesc.shape)));
    }
    let (n, k) = (wdesc.shape[0] as u32, wdesc.shape[1] as u32);
    let rows = (xdesc.elems() / k as usize) as u32;
    let x = b.value(xv)?;
    let act = b.desc.tensors[x].dtype;
    let w = b.value_as(wv, act)?;
    let x2 = if xdesc.rank() == 2 { x } else { b.reshape(x, vec![rows, k]) };
    let out = b.result(yv)?;
    let flat = if xdesc.rank() == 2 { out } else { b.native(act, vec![rows, n]) };
    if is_weight {
        let params = vec![("keep_dims", scalar(Scalar::Bool(false)))];
        special::saturating_op_into(b, "FullyConnected", params, vec![x2, w], flat);
    } else {
        let params =
            vec![("transpose_in0", scalar(Scalar::Bool(false))), ("transpose_in1", scalar(Scalar::Bool(true)))];
        special::saturating_op_into(b, "MatMul", params, vec![x2, w], flat);
    }
    if flat != out {
        b.reshape_into(flat, out);
    }
    Ok(())
}

/// RmsNorm / LayerNorm over the last axis; a missing weight is a static tensor of ones, a missing
/// bias one of zeros (both ops take gamma and beta).
fn norm(b: &mut Builder, kind: &str, eps: f32, ins: &[edgehal::ValueId], yv: edgehal::ValueId) -> Result<()> {
    let x = b.value(ins[0])?;
    let xd = b.desc.tensors[x].dims.clone();
    let d = *xd.last().unwrap_or(&1);
    let dtype = b.desc.tensors[x].dtype;
    let gamma = match ins.get(1) {
        Some(&w) => b.value_as(w, dtype)?,
        None => b.float_constant(dtype, vec![d], &vec![1.0; d as usize]),
    };
    let beta = match ins.get(2) {
        Some(&w) => b.value_as(w, dtype)?,
        None => b.float_constant(dtype, vec![d], &vec![0.0; d as usize]),
    };
    let axes = b.u32_constant(&[xd.len() as u32 - 1]);
    let out = b.result(yv)?;
    let params = vec![("epsilon", scalar(Scalar::F32(eps))), ("axes", ParamValue::Tensor(axes))];
    b.op(kind, params, vec![x, gamma, beta], vec![out]);
    Ok(())
}

/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))` from element-wise ops (QNN's `Gelu` is the erf form).
fn gelu_tanh(b: &mut Builder, xv: edgehal::ValueId, yv: edgehal::ValueId) -> Result<()> {
    let x = b.value(xv)?;
    let dtype = b.desc.tensors[x].dtype;
    let c = |b: &mut Builder, v: f32| -> TensorIndex { b.float_constant(dtype, vec![1], &[v]) };
    let (k0, k1, half, one) = (c(b, 0.044715), c(b, (2.0f32 / std::f32::consts::PI).sqrt()), c(b, 0.5), c(b, 1.0));
    let x2 = b.unary("ElementWiseMultiply", vec![], vec![x, x]);
    let x3 = b.unary("ElementWiseMultiply", vec![], vec![x2, x]);
    let kx3 = b.unary("ElementWiseMultiply", vec![], vec![x3, k0]);
    let inner = b.unary("ElementWiseAdd", vec![], vec![x, kx3]);
    let scaled = b.unary("ElementWiseMultiply", vec![], vec![inner, k1]);
    let t = b.unary("Tanh", vec![], vec![scaled]);
    let t1 = b.unary("ElementWiseAdd", vec![], vec![t, one]);
    let hx = b.unary("ElementWiseMultiply", vec![], vec![x, half]);
    let out = b.result(yv)?;
    b.op("ElementWiseMultiply", vec![], vec![hx, t1], vec![out]);
    Ok(())
}
