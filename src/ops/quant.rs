//! dequantize and get_rows (embedding lookup on quantized rows).

use super::expect_dtype;
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer_dequantize(w: &TensorDesc, to: DType) -> Result<TensorDesc> {
    if w.dtype == DType::I32 {
        return Err(Error::dtype("dequantize", "w", w.dtype, "a quant format, f16 or bf16"));
    }
    if !matches!(to, DType::F32 | DType::F16) {
        return Err(Error::param("dequantize", "to", to, "must be f32 or f16"));
    }
    w.byte_len("w")?;
    Ok(TensorDesc::new(to, w.shape.clone()))
}

pub(super) fn infer_get_rows(table: &TensorDesc, ids: &TensorDesc) -> Result<TensorDesc> {
    expect_dtype("get_rows", "ids", ids, &[DType::I32])?;
    if table.rank() != 2 || table.dtype == DType::I32 || ids.rank() != 1 {
        return Err(Error::shape(
            "get_rows",
            format!(
                "table must be [rows, cols] floats or quant blocks and ids [n] i32; got table {} {:?}, ids {:?}",
                table.dtype, table.shape, ids.shape
            ),
        ));
    }
    table.byte_len("table")?;
    Ok(TensorDesc::new(DType::F32, vec![ids.shape[0], table.shape[1]]))
}
