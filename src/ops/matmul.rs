//! matmul: `y[..., m, n] = x[..., m, k] · w[n, k]ᵀ` with weights in GGUF layout.

use super::{FLOAT_ACT, expect_dtype};
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer(x: &TensorDesc, w: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype("matmul", "x", x, &FLOAT_ACT)?;
    if w.dtype == DType::I32 {
        return Err(Error::dtype("matmul", "w", w.dtype, "f32, f16, bf16 or a quant format"));
    }
    if x.rank() < 1 || w.rank() != 2 {
        return Err(Error::shape(
            "matmul",
            format!("x must be [..., m, k] and w [n, k]; got x {:?}, w {:?}", x.shape, w.shape),
        ));
    }
    let (n, k) = (w.shape[0], w.shape[1]);
    if x.last_dim() != k {
        return Err(Error::shape(
            "matmul",
            format!("x {:?} has k = {} but w {:?} has k = {k}", x.shape, x.last_dim(), w.shape),
        ));
    }
    if k % w.dtype.block_len() != 0 {
        return Err(Error::shape(
            "matmul",
            format!(
                "w {:?} is {}: k = {k} is not a multiple of its block length {}",
                w.shape,
                w.dtype,
                w.dtype.block_len()
            ),
        ));
    }
    let mut shape = x.shape.clone();
    *shape.last_mut().expect("rank >= 1") = n;
    Ok(TensorDesc::new(DType::F32, shape))
}

pub(super) fn flops(x: &TensorDesc, w: &TensorDesc) -> u64 {
    let rows = (x.elems() / x.last_dim().max(1)) as u64;
    2 * rows * w.elems() as u64
}
