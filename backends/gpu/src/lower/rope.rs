//! Lowering of rope (module `rope.base`, entry `rope`): one invocation per rotated pair.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Error, Op, Position, Result, RopeMode, TensorDesc};

/// Whether the rope kernel takes this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let x = inputs[0];
    if !matches!(op, Op::Rope(_)) {
        return Err(format!("{} is not a rope op", op.name()));
    }
    if x.dtype != DType::F32 {
        return Err(format!("rope on {} is not implemented on the GPU", x.dtype));
    }
    if x.elems() > u32::MAX as usize {
        return Err(format!("rope: {} elements overflow the kernel's 32-bit indices", x.elems()));
    }
    Ok(())
}

/// The dispatch for one rope node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let Op::Rope(r) = op else {
        return Err(Error::Unsupported { backend: "gpu".into(), op: op.name().into(), why: "not a rope op".into() });
    };
    let x = cx.input_desc(0);
    let [s, d] = [x.shape[2], x.shape[3]];
    let n_pairs = x.elems() / 2;
    let theta_scale = (f64::from(r.theta)).powf(-2.0 / d.max(1) as f64) as f32;
    // The kernel computes positions offset + row in u32.
    let offset = match r.offset {
        Position::Fixed(p) => {
            u32_word("rope last position", p.saturating_add(s))?;
            u32_word("rope offset", p)?
        }
        Position::Run => {
            let max = (u32::MAX as usize).saturating_sub(s);
            cx.limit_position(max, format!("rope positions of {s} rows are computed in 32 bits"));
            Word::Position { plus: 0 }
        }
    };
    let params = vec![
        u32_word("rope pairs", n_pairs)?,
        u32_word("rope rows", s)?,
        u32_word("head dim", d)?,
        Word::U32((r.mode == RopeMode::Neox) as u32),
        offset,
        Word::F32(theta_scale),
    ];
    let bufs = vec![cx.input(0), cx.out()];
    cx.dispatch_1d("rope.base".into(), "rope", bufs, params, (n_pairs as u64).div_ceil(256));
    Ok(())
}
