//! Lowering of activations (silu, gelu, swiglu) and broadcast add/mul.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Op, Result, TensorDesc};

/// Whether the elementwise kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    match op {
        Op::Silu if matches!(inputs[0].dtype, DType::F32 | DType::F16) => Ok(()),
        _ => Err(format!("{} on {} is not implemented on the GPU yet", op.name(), inputs[0].dtype)),
    }
}

/// The dispatches for one elementwise node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let n = cx.out_desc().elems();
    let is_f16 = cx.out_desc().dtype == DType::F16;
    let words = if is_f16 { n.div_ceil(2) } else { n };
    let params = vec![u32_word("elements", n)?, Word::U32(is_f16 as u32)];
    match op {
        Op::Silu => {
            let bufs = vec![cx.input(0), cx.out()];
            cx.dispatch_1d("elementwise.base".into(), "silu", bufs, params, (words as u64).div_ceil(256));
        }
        _ => unreachable!("supports() refused it"),
    }
    Ok(())
}
