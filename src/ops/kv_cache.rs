//! kv_write: append new keys or values into a KV-cache state.

use super::{expect_dtype, expect_rank};
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer(cache: &TensorDesc, new: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype("kv_write", "cache", cache, &[DType::F32, DType::F16])?;
    expect_dtype("kv_write", "new", new, &[DType::F32])?;
    expect_rank("kv_write", "cache", cache, 4)?;
    expect_rank("kv_write", "new", new, 4)?;
    let same = cache.shape[0] == new.shape[0] && cache.shape[1] == new.shape[1] && cache.shape[3] == new.shape[3];
    if !same || new.shape[2] > cache.shape[2] {
        return Err(Error::shape(
            "kv_write",
            format!("new {:?} must be [b, h, s, d] fitting cache {:?} = [b, h, capacity, d]", new.shape, cache.shape),
        ));
    }
    Ok(cache.clone())
}
