//! rope: rotary position embedding, adjacent-pair and rotate-half modes.

use super::{Position, expect_dtype, expect_rank};
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::{DType, RopeMode, RopeParams};

/// Rope parameters. Input `x [b, h, s, d]` f32 with even `d`; row `s` is at position `offset + s`.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeOp {
    /// Frequency base.
    pub theta: f32,
    /// Pairing mode.
    pub mode: RopeMode,
    /// Position of the first row.
    pub offset: Position,
}

impl RopeOp {
    pub(super) fn infer(&self, x: &TensorDesc) -> Result<TensorDesc> {
        expect_dtype("rope", "x", x, &[DType::F32])?;
        expect_rank("rope", "x", x, 4)?;
        if !x.shape[3].is_multiple_of(2) {
            return Err(Error::shape("rope", format!("head dim must be even, x is {:?}", x.shape)));
        }
        if !(self.theta.is_finite() && self.theta > 1.0) {
            return Err(Error::param("rope", "theta", self.theta, "must be finite and > 1"));
        }
        if let Position::Fixed(p) = self.offset
            && p.checked_add(x.shape[2]).is_none()
        {
            return Err(Error::param(
                "rope",
                "offset",
                p,
                format!("offset + {} rows overflows the positions", x.shape[2]),
            ));
        }
        Ok(x.clone())
    }

    /// Kernel parameters at run position `position`.
    pub fn params(&self, position: usize) -> RopeParams {
        RopeParams { theta: self.theta, mode: self.mode, offset: self.offset.resolve(position) }
    }
}
