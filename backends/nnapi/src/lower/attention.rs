//! Attention as a composition of NNAPI operations (feature level 6 for `BATCH_MATMUL`):
//!
//! 1. k and v in f32 (`CAST` from an f16 cache), cut to the valid `kv_len` rows (`SLICE`) when
//!    the cache is longer;
//! 2. grouped-query heads without copying KV: q `[b, hq, s, d]` is viewed as
//!    `[b, hkv, group·s, d]` (`RESHAPE`; query head `h` reads KV head `h / group`, and the
//!    `group` heads of one KV head are adjacent), so one batched product covers a whole group;
//! 3. `scores = BATCH_MATMUL(q, k, adj_y)` `[b, hkv, group·s, kv_len]`, `MUL` by the scale;
//!    soft-capping as `MUL`, `TANH`, `MUL`;
//! 4. an additive mask `[s, kv_len]` is `TILE`d to `[group·s, kv_len]` and `ADD`ed; the causal mask
//!    is an `ADD` of a constant `[group·s, kv_len]` of 0 and -inf (left out when nothing is
//!    masked, as in one-token decode);
//! 5. `SOFTMAX` over keys, `BATCH_MATMUL` with v, `RESHAPE` back to `[b, hq, s, d]`.
//!
//! Unlike the reference kernel, a masked key takes part as `-inf` rather than being skipped, so a
//! NaN in a masked key's k row reaches the output.

use super::Lowering;
use crate::ffi::feature_level::{FL1, FL3, FL6};
use crate::model::{OperandCode, OperationCode};
use edgehal::{AttentionOp, Node, Position, Result};

/// Lowers one attention node; returns the operand holding its `[b, hq, s, d]` output.
pub(crate) fn lower_attention(cx: &mut Lowering<'_>, node: &Node, params: &AttentionOp) -> Result<u32> {
    let q_desc = cx.graph.value(node.inputs[0]).desc.clone();
    let k_desc = cx.graph.value(node.inputs[1]).desc.clone();
    let [b, hq, s, d] = [q_desc.shape[0], q_desc.shape[1], q_desc.shape[2], q_desc.shape[3]];
    let [hkv, cap] = [k_desc.shape[1], k_desc.shape[2]];
    let kv_len = match params.past {
        None => cap,
        Some(Position::Fixed(p)) => p + s,
        Some(Position::Run) => {
            return Err(cx
                .b
                .refuse("a KV length known only at run time: NNAPI models have fixed shapes (use Position::Fixed)"));
        }
    };
    if cx.b.max_level < FL6 {
        return Err(cx.b.refuse("attention needs BATCH_MATMUL, which arrived with NNAPI feature level 6"));
    }
    let group = hq / hkv;
    let rows = group * s;

    let q = cx.f32_operand(node.inputs[0])?;
    let q = cx.b.reshape(q, &[b, hkv, rows, d])?;
    let k = kv_rows(cx, node.inputs[1], [b, hkv, cap, d], kv_len)?;
    let v = kv_rows(cx, node.inputs[2], [b, hkv, cap, d], kv_len)?;

    let score_dims = [b, hkv, rows, kv_len];
    let (no_adj, adj) = (cx.b.scalar_bool(false), cx.b.scalar_bool(true));
    let scores =
        cx.b.op(OperationCode::BatchMatmul, vec![q, k, no_adj, adj], OperandCode::TensorFloat32, &score_dims, FL6)?;
    let scale = cx.b.const_f32(&[1], &[params.params(d).scale])?;
    let mut scores = cx.b.binary(OperationCode::Mul, scores, scale, &score_dims)?;
    if let Some(c) = params.softcap {
        let inv = cx.b.const_f32(&[1], &[1.0 / c])?;
        let t = cx.b.binary(OperationCode::Mul, scores, inv, &score_dims)?;
        let t = cx.b.op(OperationCode::Tanh, vec![t], OperandCode::TensorFloat32, &score_dims, FL1)?;
        let c = cx.b.const_f32(&[1], &[c])?;
        scores = cx.b.binary(OperationCode::Mul, t, c, &score_dims)?;
    }
    if let Some(&mask) = node.inputs.get(3) {
        let mask = cx.f32_operand(mask)?;
        let mask = if group > 1 {
            let multiples = cx.b.const_dims(&[group, 1])?;
            cx.b.op(OperationCode::Tile, vec![mask, multiples], OperandCode::TensorFloat32, &[rows, kv_len], FL3)?
        } else {
            mask
        };
        scores = cx.b.binary(OperationCode::Add, scores, mask, &score_dims)?;
    }
    if params.causal
        && let Some(mask) = causal_mask(group, s, kv_len)
    {
        let mask = cx.b.const_f32(&[rows, kv_len], &mask)?;
        scores = cx.b.binary(OperationCode::Add, scores, mask, &score_dims)?;
    }
    let beta = cx.b.scalar_f32(1.0);
    let probs = cx.b.op(OperationCode::Softmax, vec![scores, beta], OperandCode::TensorFloat32, &score_dims, FL1)?;
    let (no_adj_x, no_adj_y) = (cx.b.scalar_bool(false), cx.b.scalar_bool(false));
    let out = cx.b.op(
        OperationCode::BatchMatmul,
        vec![probs, v, no_adj_x, no_adj_y],
        OperandCode::TensorFloat32,
        &[b, hkv, rows, d],
        FL6,
    )?;
    cx.b.reshape(out, &[b, hq, s, d])
}

/// k or v as f32 `[b, hkv, kv_len, d]`: `SLICE` of the first `kv_len` cache rows when the cache is
/// longer.
fn kv_rows(cx: &mut Lowering<'_>, v: edgehal::ValueId, dims: [usize; 4], kv_len: usize) -> Result<u32> {
    let x = cx.f32_operand(v)?;
    if kv_len == dims[2] {
        return Ok(x);
    }
    let begin = cx.b.const_dims(&[0, 0, 0, 0])?;
    let size = [dims[0], dims[1], kv_len, dims[3]];
    let size_op = cx.b.const_dims(&size)?;
    cx.b.op(OperationCode::Slice, vec![x, begin, size_op], OperandCode::TensorFloat32, &size, FL3)
}

/// The causal mask for `group` query heads of `s` rows each over `kv_len` keys: row `g·s + i` (at
/// position `kv_len - s + i`) sees key `j` iff `j <= kv_len - s + i` (0), else `-inf`. `None` when
/// no key is masked.
pub fn causal_mask(group: usize, s: usize, kv_len: usize) -> Option<Vec<f32>> {
    let mut mask = Vec::with_capacity(group * s * kv_len);
    for _ in 0..group {
        for i in 0..s {
            let pos = kv_len - s + i;
            mask.extend((0..kv_len).map(|j| if j <= pos { 0.0 } else { f32::NEG_INFINITY }));
        }
    }
    mask.iter().any(|m| *m != 0.0).then_some(mask)
}
