//! Lowering of the layout family.

use super::Cx;
use crate::caps::Caps;
use edgehal::{Op, Result, TensorDesc};

/// Whether the layout kernels take this node.
pub(crate) fn supports(op: &Op, _inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    Err(format!("{} is not implemented on the GPU yet", op.name()))
}

/// The dispatches for one node.
pub(crate) fn lower(_cx: &mut Cx, _op: &Op) -> Result<()> {
    unreachable!("supports() refuses every node")
}
