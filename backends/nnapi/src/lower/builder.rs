//! Appends operands and operations to an [`NnModel`], checking what NNAPI accepts (rank ≤ 4,
//! dimensions that fit `u32`, operations within the device's feature level) with typed errors.

use crate::error::unsupported;
use crate::ffi::feature_level;
use crate::model::{ChannelQuant, ConstBytes, NnModel, Operand, OperandCode, Operation, OperationCode};
use edgehal::{AlignedBytes, Result};
use std::sync::Arc;

/// The largest tensor rank the operations used here accept.
pub const MAX_RANK: usize = 4;

/// A model under construction for one partition.
pub struct ModelBuilder {
    /// What has been built so far.
    pub model: NnModel,
    /// The device's feature level: operations needing more are refused.
    pub max_level: i64,
    /// The edgehal op being lowered (for error messages).
    pub current_op: String,
}

impl ModelBuilder {
    /// An empty model for a device of feature level `max_level`.
    pub fn new(max_level: i64) -> Self {
        ModelBuilder { model: NnModel::default(), max_level, current_op: String::new() }
    }

    /// An error naming the op being lowered.
    pub fn refuse(&self, why: impl Into<String>) -> edgehal::Error {
        unsupported(self.current_op.clone(), why)
    }

    fn dims_u32(&self, dims: &[usize]) -> Result<Vec<u32>> {
        if dims.len() > MAX_RANK {
            return Err(self.refuse(format!("NNAPI operations take tensors of rank ≤ {MAX_RANK}, got {dims:?}")));
        }
        dims.iter()
            .map(|&d| u32::try_from(d).map_err(|_| self.refuse(format!("dimension {d} of {dims:?} exceeds u32"))))
            .collect()
    }

    fn push(&mut self, operand: Operand) -> u32 {
        self.model.operands.push(operand);
        (self.model.operands.len() - 1) as u32
    }

    /// A tensor operand without a value (a model input or an operation's output).
    pub fn tensor(&mut self, code: OperandCode, dims: &[usize]) -> Result<u32> {
        let dims = self.dims_u32(dims)?;
        Ok(self.push(Operand { code, dims, scale: 0.0, zero_point: 0, value: None, channel_quant: None }))
    }

    /// A constant tensor with `bytes` (which must be `dims` elements of `code`).
    pub fn constant(&mut self, code: OperandCode, dims: &[usize], bytes: AlignedBytes) -> Result<u32> {
        let dims = self.dims_u32(dims)?;
        let operand = Operand {
            code,
            dims,
            scale: 0.0,
            zero_point: 0,
            value: Some(Arc::new(ConstBytes(bytes))),
            channel_quant: None,
        };
        debug_assert_eq!(operand.bytes(), operand.value.as_ref().map_or(0, |v| v.len()));
        Ok(self.push(operand))
    }

    /// A per-channel int8 constant with one scale per index of `channel_dim`.
    pub fn per_channel_constant(&mut self, dims: &[usize], quants: &[i8], quant: ChannelQuant) -> Result<u32> {
        let id =
            self.constant(OperandCode::TensorQuant8SymmPerChannel, dims, bytes_of(bytemuck::cast_slice(quants)))?;
        self.model.operands[id as usize].channel_quant = Some(quant);
        Ok(id)
    }

    /// A constant f32 tensor.
    pub fn const_f32(&mut self, dims: &[usize], values: &[f32]) -> Result<u32> {
        self.constant(OperandCode::TensorFloat32, dims, bytes_of(bytemuck::cast_slice(values)))
    }

    /// A constant 1-D i32 tensor (shapes, permutations, axes).
    pub fn const_i32(&mut self, values: &[i32]) -> Result<u32> {
        self.constant(OperandCode::TensorInt32, &[values.len()], bytes_of(bytemuck::cast_slice(values)))
    }

    /// A 1-D i32 tensor holding `dims` (for RESHAPE, SLICE, TILE).
    pub fn const_dims(&mut self, dims: &[usize]) -> Result<u32> {
        let values: Vec<i32> = dims
            .iter()
            .map(|&d| i32::try_from(d).map_err(|_| self.refuse(format!("dimension {d} exceeds i32"))))
            .collect::<Result<_>>()?;
        self.const_i32(&values)
    }

    fn scalar(&mut self, code: OperandCode, bytes: &[u8]) -> u32 {
        self.push(Operand {
            code,
            dims: Vec::new(),
            scale: 0.0,
            zero_point: 0,
            value: Some(Arc::new(ConstBytes(bytes_of(bytes)))),
            channel_quant: None,
        })
    }

    /// An INT32 scalar constant.
    pub fn scalar_i32(&mut self, v: i32) -> u32 {
        self.scalar(OperandCode::Int32, &v.to_le_bytes())
    }

    /// A FLOAT32 scalar constant.
    pub fn scalar_f32(&mut self, v: f32) -> u32 {
        self.scalar(OperandCode::Float32, &v.to_le_bytes())
    }

    /// A BOOL scalar constant.
    pub fn scalar_bool(&mut self, v: bool) -> u32 {
        self.scalar(OperandCode::Bool, &[u8::from(v)])
    }

    /// Appends an operation producing one new tensor of `out_code` and `out_dims`; refuses it when
    /// it needs a feature level above the device's. `level` is what these operands need (raised
    /// to the operation's introduction level).
    pub fn op(
        &mut self,
        code: OperationCode,
        inputs: Vec<u32>,
        out_code: OperandCode,
        out_dims: &[usize],
        level: i64,
    ) -> Result<u32> {
        let level = level.max(code.introduced());
        if level > self.max_level {
            return Err(self.refuse(format!(
                "{} here needs NNAPI feature level {} ({}), the device has {} ({})",
                code.name(),
                level,
                level_name(level),
                self.max_level,
                level_name(self.max_level)
            )));
        }
        let out = self.tensor(out_code, out_dims)?;
        self.model.operations.push(Operation { code, inputs, outputs: vec![out], feature_level: level });
        Ok(out)
    }

    /// The dimensions of operand `id`.
    pub fn dims(&self, id: u32) -> Vec<usize> {
        self.model.operands[id as usize].dims.iter().map(|&d| d as usize).collect()
    }

    /// The type of operand `id`.
    pub fn code(&self, id: u32) -> OperandCode {
        self.model.operands[id as usize].code
    }

    /// `RESHAPE(x, dims)`, or `x` itself when it already has those dimensions.
    pub fn reshape(&mut self, x: u32, dims: &[usize]) -> Result<u32> {
        if self.dims(x) == dims {
            return Ok(x);
        }
        self.reshape_always(x, dims)
    }

    /// `RESHAPE(x, dims)` even when the shape does not change (a copy into a new operand).
    pub fn reshape_always(&mut self, x: u32, dims: &[usize]) -> Result<u32> {
        let shape = self.const_dims(dims)?;
        let code = self.code(x);
        let level = if code == OperandCode::TensorFloat16 { feature_level::FL3 } else { feature_level::FL1 };
        self.op(OperationCode::Reshape, vec![x, shape], code, dims, level)
    }

    /// `ADD` or `MUL` of two f32 tensors with numpy broadcasting into `out_dims`.
    pub fn binary(&mut self, code: OperationCode, a: u32, b: u32, out_dims: &[usize]) -> Result<u32> {
        let fuse = self.scalar_i32(crate::ffi::FUSED_NONE);
        self.op(code, vec![a, b, fuse], OperandCode::TensorFloat32, out_dims, feature_level::FL1)
    }
}

/// A copy of `bytes` in an aligned buffer.
pub fn bytes_of(bytes: &[u8]) -> AlignedBytes {
    let mut out = AlignedBytes::zeroed(bytes.len());
    out.as_mut_slice().copy_from_slice(bytes);
    out
}

/// A feature level's Android release, for messages.
pub fn level_name(level: i64) -> &'static str {
    use feature_level::*;
    match level {
        FL1 => "Android 8.1",
        FL2 => "Android 9",
        FL3 => "Android 10",
        FL4 => "Android 11",
        FL5 => "Android 12",
        FL6 => "feature level 6",
        FL7 => "feature level 7",
        FL8 => "feature level 8",
        _ => "unknown",
    }
}
