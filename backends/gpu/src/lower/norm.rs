//! Lowering of rms_norm and layer_norm: one workgroup per row.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Error, Op, Result, TensorDesc};
use edgehal_shaders::Variant;

/// Whether the norm kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let x = inputs[0];
    if inputs.iter().any(|d| d.dtype != DType::F32) {
        return Err(format!("{} runs on f32 x, weight and bias", op.name()));
    }
    if x.rank() == 0 || x.last_dim() == 0 {
        return Err(format!("{} needs a non-empty last axis, x is {:?}", op.name(), x.shape));
    }
    match op {
        Op::RmsNorm { .. } | Op::LayerNorm { .. } => Ok(()),
        _ => Err(format!("{} is not a norm op", op.name())),
    }
}

/// The variant of a one-workgroup-per-row reduction kernel: subgroup reductions where the device
/// has them and its subgroups hold at least 4 invocations (the kernels keep one partial per
/// subgroup of a 256-wide workgroup in a 64-entry array).
pub(super) fn row_variant(caps: &Caps) -> Variant {
    if caps.has(Variant::Subgroup) && caps.subgroup_size.0 >= 4 { Variant::Subgroup } else { Variant::Base }
}

/// The dispatch for one norm node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let (entry, eps) = match op {
        Op::RmsNorm { eps } => ("rms_norm", *eps),
        Op::LayerNorm { eps } => ("layer_norm", *eps),
        _ => {
            return Err(Error::Unsupported {
                backend: "gpu".into(),
                op: op.name().into(),
                why: "not a norm op".into(),
            });
        }
    };
    let x = cx.input_desc(0);
    let d = x.last_dim();
    let rows = x.elems() / d.max(1);
    let params = vec![
        u32_word("row length", d)?,
        u32_word("rows", rows)?,
        Word::U32((cx.inputs.len() > 1) as u32),
        Word::U32((cx.inputs.len() > 2) as u32),
        Word::F32(eps),
    ];
    let w = if cx.inputs.len() > 1 { cx.input(1) } else { cx.dummy() };
    let b = if cx.inputs.len() > 2 { cx.input(2) } else { cx.dummy() };
    let bufs = vec![cx.input(0), w, b, cx.out()];
    let module = format!("norm.{}", row_variant(cx.caps).name());
    cx.dispatch_1d(module, entry, bufs, params, rows as u64);
    Ok(())
}
