//! rms_norm and layer_norm over the last axis, with optional weight (and bias).

use super::{expect_dtype, expect_finite};
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer(op: &str, eps: f32, inputs: &[&TensorDesc]) -> Result<TensorDesc> {
    let x = inputs[0];
    expect_dtype(op, "x", x, &[DType::F32])?;
    expect_finite(op, "eps", eps)?;
    if x.rank() == 0 || x.last_dim() == 0 {
        return Err(Error::shape(op, format!("x must have a non-empty last axis, shape is {:?}", x.shape)));
    }
    for (i, p) in inputs.iter().enumerate().skip(1) {
        let name = if i == 1 { "weight" } else { "bias" };
        expect_dtype(op, name, p, &[DType::F32])?;
        if p.shape != [x.last_dim()] {
            return Err(Error::shape(
                op,
                format!("{name} must be [{}] to match x {:?}, got {:?}", x.last_dim(), x.shape, p.shape),
            ));
        }
    }
    Ok(x.clone())
}
