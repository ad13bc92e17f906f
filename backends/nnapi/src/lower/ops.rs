//! One edgehal node to NNAPI operations (attention lives in [`super::attention`]).

use super::Lowering;
use crate::ffi::feature_level::{FL1, FL2, FL3};
use crate::model::{OperandCode, OperationCode};
use edgehal::{DType, NodeId, Op, Result, ValueSource};

/// Appends the operations computing node `n`; returns the operand holding its output.
pub(crate) fn lower_node(cx: &mut Lowering<'_>, n: NodeId) -> Result<u32> {
    let node = cx.node(n).clone();
    let out = cx.graph.value(node.output).desc.clone();
    let input = |i: usize| node.inputs[i];
    match &node.op {
        Op::MatMul => matmul(cx, input(0), input(1), &out.shape),
        Op::Attention(params) => super::attention::lower_attention(cx, &node, params),
        Op::Softmax => {
            let x = cx.f32_operand(input(0))?;
            let beta = cx.b.scalar_f32(1.0);
            // Feature level 1 takes rank 2 or 4; ranks 1 and 3 arrived with level 3.
            let level = if matches!(out.rank(), 2 | 4) { FL1 } else { FL3 };
            cx.b.op(OperationCode::Softmax, vec![x, beta], OperandCode::TensorFloat32, &out.shape, level)
        }
        Op::Add | Op::Mul => {
            let code = if node.op == Op::Add { OperationCode::Add } else { OperationCode::Mul };
            let a = cx.f32_operand(input(0))?;
            let b = cx.f32_operand(input(1))?;
            cx.b.binary(code, a, b, &out.shape)
        }
        Op::Silu => {
            let x = cx.f32_operand(input(0))?;
            silu(cx, x, &out.shape)
        }
        Op::SwiGlu => {
            let gate = cx.f32_operand(input(0))?;
            let up = cx.f32_operand(input(1))?;
            let s = silu(cx, gate, &out.shape)?;
            cx.b.binary(OperationCode::Mul, s, up, &out.shape)
        }
        Op::RmsNorm { eps } => rms_norm(cx, &node.inputs, *eps, &out.shape),
        Op::Reshape { .. } | Op::Copy => {
            let x = activation(cx, input(0))?;
            cx.b.reshape_always(x, &out.shape)
        }
        Op::Permute { perm } => {
            let x = activation(cx, input(0))?;
            let perm: Vec<i32> = perm.iter().map(|&p| p as i32).collect();
            let perm = cx.b.const_i32(&perm)?;
            let code = cx.b.code(x);
            let level = if code == OperandCode::TensorFloat16 { FL3 } else { FL2 };
            cx.b.op(OperationCode::Transpose, vec![x, perm], code, &out.shape, level)
        }
        Op::Cast { to } => {
            let from = cx.graph.value(input(0)).desc.dtype;
            let to_code = super::activation_code(*to)
                .filter(|_| super::activation_code(from).is_some())
                .ok_or_else(|| cx.b.refuse(format!("cast {from} to {to}: NNAPI's CAST here covers f32 and f16")))?;
            let x = activation(cx, input(0))?;
            if from == *to {
                return cx.b.reshape_always(x, &out.shape);
            }
            cx.b.op(OperationCode::Cast, vec![x], to_code, &out.shape, FL3)
        }
        Op::Dequantize { to } => dequantize(cx, input(0), *to, &out.shape),
        Op::GetRows => Err(cx.b.refuse("get_rows on ggml blocks has no NNAPI operation (GATHER takes NNAPI types)")),
        Op::LayerNorm { .. } => Err(cx.b.refuse("layer_norm is not lowered to NNAPI yet")),
        Op::Rope(_) => Err(cx.b.refuse("rope is not lowered to NNAPI (no rotary operation)")),
        Op::Gelu(_) => Err(cx.b.refuse("gelu is not lowered to NNAPI (no erf; the tanh form is not composed yet)")),
        Op::KvWrite { .. } => Err(cx.b.refuse("kv_write updates a state in place, which an NNAPI model cannot")),
    }
}

/// The operand of an f32 or f16 value in its own dtype (a run input or an earlier node's output),
/// or an f32/f16 weight as a constant of its dtype.
fn activation(cx: &mut Lowering<'_>, v: edgehal::ValueId) -> Result<u32> {
    if let Some(&id) = cx.values.get(&v) {
        return Ok(id);
    }
    let value = cx.graph.value(v);
    match (&value.source, value.desc.dtype) {
        (ValueSource::Weight(t), DType::F16) if cx.b.max_level >= FL3 => {
            let id = cx.b.constant(OperandCode::TensorFloat16, t.shape(), super::builder::bytes_of(t.bytes()))?;
            cx.values.insert(v, id);
            Ok(id)
        }
        _ => cx.f32_operand(v),
    }
}

/// `x · wᵀ` as `FULLY_CONNECTED` (weights `[n, k]` are exactly its layout) on `x` viewed as
/// `[rows, k]`, with a zero bias, reshaped back to `[..., n]`.
fn matmul(cx: &mut Lowering<'_>, x: edgehal::ValueId, w: edgehal::ValueId, out: &[usize]) -> Result<u32> {
    let wd = cx.graph.value(w).desc.shape.clone();
    let (n, k) = (wd[0], wd[1]);
    let rows = out.iter().product::<usize>() / n.max(1);
    let xo = cx.f32_operand(x)?;
    let wo = cx.f32_operand(w)?;
    let x2 = cx.b.reshape(xo, &[rows, k])?;
    let bias = cx.b.const_f32(&[n], &vec![0.0; n])?;
    let fuse = cx.b.scalar_i32(crate::ffi::FUSED_NONE);
    let y =
        cx.b.op(OperationCode::FullyConnected, vec![x2, wo, bias, fuse], OperandCode::TensorFloat32, &[rows, n], FL1)?;
    cx.b.reshape(y, out)
}

/// `x · LOGISTIC(x)`.
fn silu(cx: &mut Lowering<'_>, x: u32, dims: &[usize]) -> Result<u32> {
    let sig = cx.b.op(OperationCode::Logistic, vec![x], OperandCode::TensorFloat32, dims, FL1)?;
    cx.b.binary(OperationCode::Mul, x, sig, dims)
}

/// `x · RSQRT(MEAN(x·x, last axis) + eps) · weight`, all f32.
fn rms_norm(cx: &mut Lowering<'_>, inputs: &[edgehal::ValueId], eps: f32, dims: &[usize]) -> Result<u32> {
    let x = cx.f32_operand(inputs[0])?;
    let sq = cx.b.binary(OperationCode::Mul, x, x, dims)?;
    let mut reduced = dims.to_vec();
    let last = reduced.len().saturating_sub(1);
    if let Some(d) = reduced.last_mut() {
        *d = 1;
    }
    let axes = cx.b.const_i32(&[last as i32])?;
    let keep = cx.b.scalar_i32(1);
    let mean = cx.b.op(OperationCode::Mean, vec![sq, axes, keep], OperandCode::TensorFloat32, &reduced, FL2)?;
    let eps = cx.b.const_f32(&[1], &[eps])?;
    let shifted = cx.b.binary(OperationCode::Add, mean, eps, &reduced)?;
    let inv = cx.b.op(OperationCode::Rsqrt, vec![shifted], OperandCode::TensorFloat32, &reduced, FL3)?;
    let y = cx.b.binary(OperationCode::Mul, x, inv, dims)?;
    match inputs.get(1) {
        Some(&w) => {
            let w = cx.f32_operand(w)?;
            cx.b.binary(OperationCode::Mul, y, w, dims)
        }
        None => Ok(y),
    }
}

/// Dequantize of a weight: the weight as an f32 operand (see [`super::weights`]), then in the
/// requested dtype (`CAST` to f16), always as the output of an operation so it can be a model
/// output.
fn dequantize(cx: &mut Lowering<'_>, w: edgehal::ValueId, to: DType, dims: &[usize]) -> Result<u32> {
    let value = cx.graph.value(w);
    if !matches!(value.source, ValueSource::Weight(_)) {
        return Err(cx.b.refuse(format!(
            "dequantize of run-time `{}`: ggml blocks are decoded at compile time, so only weights",
            value.name
        )));
    }
    let f = cx.f32_operand(w)?;
    let produced_by_op = cx.b.model.operations.iter().any(|o| o.outputs.contains(&f));
    match to {
        DType::F16 => cx.b.op(OperationCode::Cast, vec![f], OperandCode::TensorFloat16, dims, FL3),
        _ if produced_by_op => Ok(f),
        _ => cx.b.reshape_always(f, dims),
    }
}
