//! Weights as NNAPI constants.
//!
//! - f32: an f32 constant.
//! - f16: an f16 constant and a `CAST` to f32 (feature level 3), else widened to f32 (exact).
//! - bf16: widened to an f32 constant (exact).
//! - ggml quant blocks: NNAPI's quantized types have one scale per tensor or per channel, ggml's
//!   one per 32-element block (Q4_0, Q5_0, Q8_0, IQ4_NL, ...) or per 16/32-element sub-block with
//!   minimums (Q4_1, Q5_1, K-quants). So every quant weight is **dequantized to f32 constants at
//!   compile time**, with one exception that is exact: a 2-D Q8_0 or Q4_0 weight whose blocks in
//!   each row share one positive scale becomes a `TENSOR_QUANT8_SYMM_PER_CHANNEL` constant (scale
//!   per row) and a `DEQUANTIZE` to f32 (feature level 3).

use super::builder::ModelBuilder;
use crate::ffi::feature_level::FL3;
use crate::model::{ChannelQuant, OperandCode, OperationCode};
use edgehal::{DType, Result, Tensor};
use half::f16;

/// How a weight was put into the model.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WeightForm {
    /// An f32 constant, as stored.
    F32,
    /// An f16 constant cast to f32 by the model.
    F16Cast,
    /// Widened to an f32 constant at compile time (f16 or bf16; exact).
    Widened,
    /// Int8 per-channel constant plus `DEQUANTIZE` (exact for this weight's scales).
    PerChannelInt8,
    /// Dequantized to an f32 constant at compile time.
    DequantizedF32,
}

/// What the lowering did with one weight (reported, and checked by tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightRecord {
    /// The weight's name in the graph.
    pub name: String,
    /// Its dtype in the graph.
    pub dtype: DType,
    /// How it reached the model.
    pub form: WeightForm,
}

/// Adds `tensor` as an f32 operand (constant, or constant plus a conversion operation).
pub fn weight_as_f32(b: &mut ModelBuilder, tensor: &Tensor) -> Result<(u32, WeightForm)> {
    let dims = tensor.shape().to_vec();
    match tensor.dtype() {
        DType::F32 => {
            let id = b.constant(OperandCode::TensorFloat32, &dims, super::builder::bytes_of(tensor.bytes()))?;
            Ok((id, WeightForm::F32))
        }
        DType::F16 if b.max_level >= FL3 => {
            let id = b.constant(OperandCode::TensorFloat16, &dims, super::builder::bytes_of(tensor.bytes()))?;
            let out = b.op(OperationCode::Cast, vec![id], OperandCode::TensorFloat32, &dims, FL3)?;
            Ok((out, WeightForm::F16Cast))
        }
        DType::F16 | DType::BF16 => Ok((b.const_f32(&dims, &tensor.to_f32_vec()?)?, WeightForm::Widened)),
        DType::I32 => Err(b.refuse("an i32 weight where f32 values are needed")),
        quant => {
            if b.max_level >= FL3
                && let Some((quants, scales)) = per_row_int8(tensor)
            {
                let q = ChannelQuant { channel_dim: 0, scales };
                let id = b.per_channel_constant(&dims, &quants, q)?;
                let out = b.op(OperationCode::Dequantize, vec![id], OperandCode::TensorFloat32, &dims, FL3)?;
                return Ok((out, WeightForm::PerChannelInt8));
            }
            let values = tensor.to_f32_vec().map_err(|e| b.refuse(format!("cannot dequantize {quant}: {e}")))?;
            Ok((b.const_f32(&dims, &values)?, WeightForm::DequantizedF32))
        }
    }
}

/// The int8 values and per-row scales of a 2-D Q8_0 or Q4_0 tensor whose blocks in each row share
/// one finite positive scale (so `value = scale[row] · q` exactly), else `None`.
pub fn per_row_int8(tensor: &Tensor) -> Option<(Vec<i8>, Vec<f32>)> {
    let (block_bytes, decode): (usize, DecodeBlock) = match tensor.dtype() {
        DType::Q8_0 => (34, decode_q8_0),
        DType::Q4_0 => (18, decode_q4_0),
        _ => return None,
    };
    let &[rows, cols] = tensor.shape() else { return None };
    if rows == 0 || cols == 0 || !cols.is_multiple_of(32) {
        return None;
    }
    let row_bytes = cols / 32 * block_bytes;
    let mut quants = Vec::with_capacity(rows * cols);
    let mut scales = Vec::with_capacity(rows);
    for row in tensor.bytes().chunks_exact(row_bytes) {
        let first = &row[..2];
        if row.chunks_exact(block_bytes).any(|block| &block[..2] != first) {
            return None;
        }
        let scale = f16::from_le_bytes([first[0], first[1]]).to_f32();
        if !(scale.is_finite() && scale > 0.0) {
            return None;
        }
        scales.push(scale);
        row.chunks_exact(block_bytes).for_each(|block| decode(&block[2..], &mut quants));
    }
    Some((quants, scales))
}

/// Appends the int8 quants of one block (its bytes after the f16 scale).
type DecodeBlock = fn(&[u8], &mut Vec<i8>);

/// Q8_0: 32 signed bytes.
fn decode_q8_0(qs: &[u8], out: &mut Vec<i8>) {
    out.extend(qs.iter().map(|&q| q as i8));
}

/// Q4_0: 16 bytes; element `j` is the low nibble of byte `j`, element `j + 16` the high nibble,
/// each offset by 8.
fn decode_q4_0(qs: &[u8], out: &mut Vec<i8>) {
    out.extend(qs.iter().map(|&q| (q & 0x0f) as i8 - 8));
    out.extend(qs.iter().map(|&q| (q >> 4) as i8 - 8));
}
