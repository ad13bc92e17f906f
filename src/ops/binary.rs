//! add and mul with numpy broadcasting.

use super::expect_dtype;
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::{DType, broadcast_shape};

pub(super) fn infer(op: &str, a: &TensorDesc, b: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype(op, "a", a, &[DType::F32])?;
    expect_dtype(op, "b", b, &[DType::F32])?;
    let shape = broadcast_shape(&a.shape, &b.shape)
        .ok_or_else(|| Error::shape(op, format!("a {:?} and b {:?} do not broadcast", a.shape, b.shape)))?;
    Ok(TensorDesc::new(DType::F32, shape))
}
