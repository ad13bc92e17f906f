//! silu, gelu and swiglu.

use super::expect_dtype;
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer_unary(op: &str, x: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype(op, "x", x, &[DType::F32])?;
    Ok(x.clone())
}

pub(super) fn infer_swiglu(gate: &TensorDesc, up: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype("swiglu", "gate", gate, &[DType::F32])?;
    expect_dtype("swiglu", "up", up, &[DType::F32])?;
    if gate.shape != up.shape {
        return Err(Error::shape(
            "swiglu",
            format!("gate {:?} and up {:?} must have the same shape", gate.shape, up.shape),
        ));
    }
    Ok(gate.clone())
}
