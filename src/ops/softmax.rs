//! softmax over the last axis.

use super::expect_dtype;
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer(x: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype("softmax", "x", x, &[DType::F32])?;
    if x.rank() == 0 || x.last_dim() == 0 {
        return Err(Error::shape("softmax", format!("x must have a non-empty last axis, shape is {:?}", x.shape)));
    }
    Ok(x.clone())
}
