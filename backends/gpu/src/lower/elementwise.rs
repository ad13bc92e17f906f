//! Lowering of activations (silu, gelu, swiglu) and broadcast add/mul.

use super::layout::{MAX_RANK, Walk};
use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Error, GeluKind, Op, Result, TensorDesc, kernels::broadcast_strides};

/// Words in elementwise.wgsl's `Params`.
const PARAM_WORDS: usize = 6 + 3 * MAX_RANK;

/// Whether the elementwise kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let dtype = inputs[0].dtype;
    if !matches!(dtype, DType::F32 | DType::F16) || inputs.iter().any(|d| d.dtype != dtype) {
        return Err(format!("{} runs on f32 or f16, not {}", op.name(), dtype));
    }
    match op {
        Op::Silu | Op::Gelu(_) => Ok(()),
        Op::SwiGlu if inputs[1].shape == inputs[0].shape => Ok(()),
        Op::Add | Op::Mul => broadcast_walk(inputs[0], inputs[1], output).check(dtype == DType::F16),
        _ => Err(format!("{} with inputs {:?} is not an elementwise node", op.name(), shapes(inputs))),
    }
}

fn shapes(inputs: &[&TensorDesc]) -> Vec<Vec<usize>> {
    inputs.iter().map(|d| d.shape.clone()).collect()
}

/// The walk over the output with a's and b's broadcast strides.
fn broadcast_walk(a: &TensorDesc, b: &TensorDesc, out: &TensorDesc) -> Walk {
    let strides = [broadcast_strides(&a.shape, &out.shape), broadcast_strides(&b.shape, &out.shape)];
    Walk::new(&out.shape, &strides)
}

/// The dispatches for one elementwise node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let is_f16 = cx.out_desc().dtype == DType::F16;
    let (entry, walk) = match op {
        Op::Silu => ("silu", None),
        Op::Gelu(GeluKind::Tanh) => ("gelu_tanh", None),
        Op::Gelu(GeluKind::Erf) => ("gelu_erf", None),
        Op::SwiGlu => ("swiglu", None),
        Op::Add | Op::Mul => {
            let walk = broadcast_walk(cx.input_desc(0), cx.input_desc(1), cx.out_desc());
            walk.check(is_f16).map_err(|why| Error::Unsupported {
                backend: "gpu".into(),
                op: op.name().into(),
                why,
            })?;
            (if matches!(op, Op::Add) { "add" } else { "mul" }, Some(walk))
        }
        _ => {
            return Err(Error::Unsupported {
                backend: "gpu".into(),
                op: op.name().into(),
                why: "not an elementwise op".into(),
            });
        }
    };
    // Unary ops and swiglu walk their elements in order: one axis, unit strides.
    let n = cx.out_desc().elems();
    let walk = walk.unwrap_or_else(|| Walk { dims: vec![n], strides: vec![vec![1], vec![1]] });
    let axes = walk.axis_words()?;
    let block = walk.block();
    let words = if is_f16 { block.div_ceil(2) } else { block };
    let second = if cx.inputs.len() > 1 { cx.input(1) } else { cx.dummy() };
    let bufs = vec![cx.input(0), second, cx.out()];
    for (offs, off_y) in walk.blocks() {
        let mut params = vec![u32_word("elements", block)?, Word::U32(is_f16 as u32), axes[0]];
        for off in [offs[0], offs[1], off_y] {
            params.push(u32_word("offset", off)?);
        }
        params.extend_from_slice(&axes[1..]);
        debug_assert_eq!(params.len(), PARAM_WORDS);
        cx.dispatch_1d("elementwise.base".into(), entry, bufs.clone(), params, (words as u64).div_ceil(256));
    }
    Ok(())
}
