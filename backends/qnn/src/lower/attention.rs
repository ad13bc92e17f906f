//! Attention as a QNN subgraph.
//!
//! With `g = hq / hkv` query heads per KV head, q `[b, hq, s, d]` is viewed as
//! `[b·hkv, g·s, d]` (the heads sharing a KV head are contiguous), so GQA needs no copy of K/V:
//!
//! ```text
//! q·scale ─ Reshape [b·hkv, g·s, d] ─┐
//! k ─ (Cast f32) ─ Reshape [b·hkv, t, d] ─ MatMul(transpose_in1) → scores [b·hkv, g·s, t]
//!   (softcap: Tanh(scores / c) · c)
//!   Reshape [b·hkv, g, s, t]; ElementWiseSelect(keep [1, 1, s, t], scores, -inf); + user mask
//!   e = exp(scores − max), sum (special::softmax_parts) ─ Reshape [b·hkv, g·s, t]
//! v ─ (Cast f32) ─ Reshape [b·hkv, t, d] ─ MatMul(e, ·) → [b·hkv, g·s, d] ─ ÷ sum ─ Reshape [b, hq, s, d]
//! ```
//!
//! `t` is the cache capacity. Without `past` every position is valid and the causal mask is a
//! static tensor; with `past` (fixed or given per run) the executable computes the position mask
//! and the valid-row mask of V for each run ([`InputSource::PositionMask`],
//! [`InputSource::ValidRows`]), so one compiled graph serves every decode step.
//!
//! A key hidden from a row must not reach it, NaN included, while a NaN the row sees must. On the
//! CPU backend V is therefore split into its finite values and the marks of its non-finite ones
//! (`special::split_nonfinite`), each multiplied by `e`; a row whose marks count is positive is
//! NaN. HTP's f32 path has no `ElementWiseSelect`, so it cannot hide anything: it takes attention
//! without causality, mask or cache only.

use super::{Builder, InputSource, dims, scalar, special, unsupported};
use crate::desc::{QnnDType, Scalar};
use crate::runtime::QnnBackendKind;
use edgehal::{AttentionOp, NodeId, Result};

/// Which keys query row `i` of a block of `rows` rows may see, `rows × capacity` bytes (1: keep):
/// `j < kv_len`, and `j <= kv_len - rows + i` when causal.
pub fn position_mask(rows: usize, capacity: usize, kv_len: usize, causal: bool) -> Vec<u8> {
    let mut m = vec![0u8; rows * capacity];
    for i in 0..rows {
        let last = if causal { (kv_len + i + 1).saturating_sub(rows) } else { kv_len };
        for j in 0..last.min(capacity) {
            m[i * capacity + j] = 1;
        }
    }
    m
}

/// Which cache rows hold data (`j < kv_len`), `capacity` bytes (1: valid).
pub fn valid_rows(capacity: usize, kv_len: usize) -> Vec<u8> {
    (0..capacity).map(|j| u8::from(j < kv_len)).collect()
}

pub(crate) fn lower(b: &mut Builder, id: NodeId, a: &AttentionOp) -> Result<()> {
    let node = b.graph.node(id).clone();
    let qd = b.graph.value(node.inputs[0]).desc.clone();
    let kd = b.graph.value(node.inputs[1]).desc.clone();
    let [batch, hq, s, d] = [qd.shape[0], qd.shape[1], qd.shape[2], qd.shape[3]];
    let (hkv, cap) = (kd.shape[1], kd.shape[2]);
    let g = hq / hkv;
    let has_mask = node.inputs.len() > 3;
    if has_mask && a.past.is_some() {
        return Err(unsupported(
            "attention",
            "an additive mask together with a KV-cache position: the mask's width changes with the position",
        ));
    }
    let cpu = b.target == QnnBackendKind::Cpu;
    if !cpu && (a.causal || a.past.is_some() || has_mask) {
        return Err(unsupported(
            "attention",
            "qnn-htp: causal, masked or KV-cache attention must hide keys (NaN included), and HTP's f32 path \
             has no ElementWiseSelect to do it",
        ));
    }
    let f32t = QnnDType::F32;
    let bh = (batch * hkv) as u32;
    let (gs, t, du) = ((g * s) as u32, cap as u32, d as u32);

    let q = b.value_as(node.inputs[0], f32t)?;
    let scale = a.scale.unwrap_or(1.0 / (d as f32).sqrt());
    let sc = b.float_constant(f32t, vec![1], &[scale]);
    let qs = b.unary("ElementWiseMultiply", vec![], vec![q, sc]);
    let q3 = b.reshape(qs, vec![bh, gs, du]);
    let k = b.value_as(node.inputs[1], f32t)?;
    let k3 = b.reshape(k, vec![bh, t, du]);
    let v = b.value_as(node.inputs[2], f32t)?;
    let mut v3 = b.reshape(v, vec![bh, t, du]);

    let scores = b.native(f32t, vec![bh, gs, t]);
    let mm =
        |tr1: bool| vec![("transpose_in0", scalar(Scalar::Bool(false))), ("transpose_in1", scalar(Scalar::Bool(tr1)))];
    special::saturating_op_into(b, "MatMul", mm(true), vec![q3, k3], scores);
    let mut scores = scores;
    if let Some(cap_value) = a.softcap {
        let inv = b.float_constant(f32t, vec![1], &[1.0 / cap_value]);
        let c = b.float_constant(f32t, vec![1], &[cap_value]);
        let scaled = b.unary("ElementWiseMultiply", vec![], vec![scores, inv]);
        let th = b.unary("Tanh", vec![], vec![scaled]);
        scores = b.unary("ElementWiseMultiply", vec![], vec![th, c]);
    }
    let mut s4 = b.reshape(scores, vec![bh, g as u32, s as u32, t]);
    let mask_dims = vec![1, 1, s as u32, t];
    // Masked scores are replaced (ElementWiseSelect), not offset: a cache row past the valid length
    // may hold anything, NaN included, and NaN + offset stays NaN.
    let keep = match a.past {
        Some(past) => Some(b.extra_input(
            QnnDType::Bool8,
            mask_dims.clone(),
            InputSource::PositionMask { past, rows: s, capacity: cap, causal: a.causal, node: id },
        )),
        None if a.causal => Some(b.constant(QnnDType::Bool8, mask_dims.clone(), position_mask(s, cap, cap, true))),
        None => None,
    };
    if let Some(keep) = keep {
        let hidden = b.float_constant(f32t, vec![1], &[f32::NEG_INFINITY]);
        s4 = b.unary("ElementWiseSelect", vec![], vec![keep, s4, hidden]);
    }
    if let Some(past) = a.past {
        // Zero the cache rows past the valid length: they may hold anything.
        let valid =
            b.extra_input(QnnDType::Bool8, vec![1, t, 1], InputSource::ValidRows { past, rows: s, capacity: cap });
        let zero = b.float_constant(f32t, vec![1], &[0.0]);
        v3 = b.unary("ElementWiseSelect", vec![], vec![valid, v3, zero]);
    }
    if has_mask {
        // The CPU backend's ElementWiseAdd saturates `-inf` to `-f32::MAX`, which would make a
        // fully masked row uniform: the `-inf` entries hide their keys by select.
        let m = b.value_as(node.inputs[3], f32t)?;
        let m4 = b.reshape(m, mask_dims);
        let hidden = b.float_constant(f32t, vec![1], &[f32::NEG_INFINITY]);
        let shown = b.compare("ElementWiseGreater", m4, hidden);
        let offset = b.unary("ElementWiseAdd", vec![], vec![s4, m4]);
        s4 = b.unary("ElementWiseSelect", vec![], vec![shown, offset, hidden]);
    }
    let (e4, sum4) = special::softmax_parts(b, s4, 3);
    let e3 = b.reshape(e4, vec![bh, gs, t]);
    let sum3 = b.reshape(sum4, vec![bh, gs, 1]);
    let out = b.result(node.output)?;
    debug_assert_eq!(b.desc.tensors[out].dims, dims(&qd.shape));
    // On the CPU backend V is split; `e` meets its finite values and, separately, its marks.
    let (values, marks) = if cpu {
        let (clean, marks) = special::split_nonfinite(b, v3);
        (clean, Some(marks))
    } else {
        (v3, None)
    };
    let times_e = |b: &mut Builder, rhs| {
        let product = b.native(f32t, vec![bh, gs, du]);
        b.op("MatMul", mm(false), vec![e3, rhs], vec![product]);
        product
    };
    let o3 = times_e(b, values);
    let seen = marks.map(|m| times_e(b, m));
    let mut o3 = b.unary("ElementWiseDivide", vec![], vec![o3, sum3]);
    if let Some(seen) = seen {
        o3 = special::poison_where_seen(b, o3, seen);
    }
    b.reshape_into(o3, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_mask_follows_causality_and_length() {
        // 2 query rows at positions 2 and 3 of a 5-slot cache holding 4 valid keys.
        assert_eq!(position_mask(2, 5, 4, true), [1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);
        assert_eq!(position_mask(2, 5, 4, false).iter().filter(|&&v| v == 1).count(), 8);
        assert_eq!(valid_rows(5, 4), [1, 1, 1, 1, 0]);
    }
}
