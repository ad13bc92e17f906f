//! Lowering of softmax over the last axis: one workgroup per row.

use super::norm::row_variant;
use super::{Cx, u32_word};
use crate::caps::Caps;
use edgehal::{DType, Op, Result, TensorDesc};

/// Whether the softmax kernel takes this node.
pub(crate) fn supports(_op: &Op, inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let x = inputs[0];
    if x.dtype != DType::F32 {
        return Err(format!("softmax runs on f32, not {}", x.dtype));
    }
    if x.rank() == 0 || x.last_dim() == 0 {
        return Err(format!("softmax needs a non-empty last axis, x is {:?}", x.shape));
    }
    Ok(())
}

/// The dispatch for one softmax node.
pub(crate) fn lower(cx: &mut Cx, _op: &Op) -> Result<()> {
    let x = cx.input_desc(0);
    let d = x.last_dim();
    let rows = x.elems() / d.max(1);
    let params = vec![u32_word("row length", d)?, u32_word("rows", rows)?];
    let bufs = vec![cx.input(0), cx.out()];
    let module = format!("softmax.{}", row_variant(cx.caps).name());
    cx.dispatch_1d(module, "softmax", bufs, params, rows as u64);
    Ok(())
}
