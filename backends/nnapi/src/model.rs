//! An NNAPI model as plain Rust data: what the lowering builds from an edgehal partition and what
//! the runtime module turns into `ANeuralNetworksModel_*` calls, operand by operand, in order.
//!
//! Keeping the description apart from the FFI lets the lowering be tested without a runtime
//! (golden descriptions) and gives compilation caching a token derived from the model itself.

use crate::ffi::feature_level::{FL1, FL2, FL3, FL6};
use edgehal::AlignedBytes;
use std::sync::Arc;

/// Operand types (`OperandCode`) the lowering uses, with their NNAPI values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum OperandCode {
    /// `ANEURALNETWORKS_FLOAT32` scalar.
    Float32 = 0,
    /// `ANEURALNETWORKS_INT32` scalar.
    Int32 = 1,
    /// `ANEURALNETWORKS_TENSOR_FLOAT32`.
    TensorFloat32 = 3,
    /// `ANEURALNETWORKS_TENSOR_INT32`.
    TensorInt32 = 4,
    /// `ANEURALNETWORKS_BOOL` scalar.
    Bool = 6,
    /// `ANEURALNETWORKS_TENSOR_FLOAT16`.
    TensorFloat16 = 8,
    /// `ANEURALNETWORKS_TENSOR_QUANT8_SYMM_PER_CHANNEL`: int8, one scale per channel.
    TensorQuant8SymmPerChannel = 11,
}

impl OperandCode {
    /// The `ANEURALNETWORKS_*` name.
    pub fn name(self) -> &'static str {
        match self {
            OperandCode::Float32 => "FLOAT32",
            OperandCode::Int32 => "INT32",
            OperandCode::TensorFloat32 => "TENSOR_FLOAT32",
            OperandCode::TensorInt32 => "TENSOR_INT32",
            OperandCode::Bool => "BOOL",
            OperandCode::TensorFloat16 => "TENSOR_FLOAT16",
            OperandCode::TensorQuant8SymmPerChannel => "TENSOR_QUANT8_SYMM_PER_CHANNEL",
        }
    }

    /// Bytes per element.
    pub fn elem_bytes(self) -> usize {
        match self {
            OperandCode::Float32 | OperandCode::Int32 | OperandCode::TensorFloat32 | OperandCode::TensorInt32 => 4,
            OperandCode::TensorFloat16 => 2,
            OperandCode::Bool | OperandCode::TensorQuant8SymmPerChannel => 1,
        }
    }
}

/// Operations (`OperationCode`) the lowering emits, with their NNAPI values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum OperationCode {
    /// `ANEURALNETWORKS_ADD`.
    Add = 0,
    /// `ANEURALNETWORKS_DEQUANTIZE`.
    Dequantize = 6,
    /// `ANEURALNETWORKS_FULLY_CONNECTED`.
    FullyConnected = 9,
    /// `ANEURALNETWORKS_LOGISTIC`.
    Logistic = 14,
    /// `ANEURALNETWORKS_MUL`.
    Mul = 18,
    /// `ANEURALNETWORKS_RESHAPE`.
    Reshape = 22,
    /// `ANEURALNETWORKS_SOFTMAX`.
    Softmax = 25,
    /// `ANEURALNETWORKS_TANH`.
    Tanh = 28,
    /// `ANEURALNETWORKS_MEAN`.
    Mean = 31,
    /// `ANEURALNETWORKS_TRANSPOSE`.
    Transpose = 37,
    /// `ANEURALNETWORKS_CAST`.
    Cast = 45,
    /// `ANEURALNETWORKS_RSQRT`.
    Rsqrt = 83,
    /// `ANEURALNETWORKS_SLICE`.
    Slice = 86,
    /// `ANEURALNETWORKS_TILE`.
    Tile = 89,
    /// `ANEURALNETWORKS_BATCH_MATMUL`.
    BatchMatmul = 102,
}

impl OperationCode {
    /// The `ANEURALNETWORKS_*` name.
    pub fn name(self) -> &'static str {
        match self {
            OperationCode::Add => "ADD",
            OperationCode::Dequantize => "DEQUANTIZE",
            OperationCode::FullyConnected => "FULLY_CONNECTED",
            OperationCode::Logistic => "LOGISTIC",
            OperationCode::Mul => "MUL",
            OperationCode::Reshape => "RESHAPE",
            OperationCode::Softmax => "SOFTMAX",
            OperationCode::Tanh => "TANH",
            OperationCode::Mean => "MEAN",
            OperationCode::Transpose => "TRANSPOSE",
            OperationCode::Cast => "CAST",
            OperationCode::Rsqrt => "RSQRT",
            OperationCode::Slice => "SLICE",
            OperationCode::Tile => "TILE",
            OperationCode::BatchMatmul => "BATCH_MATMUL",
        }
    }

    /// The feature level that introduced the operation for f32 tensors (the static support
    /// table used when `getSupportedOperationsForDevices` is missing).
    pub fn introduced(self) -> i64 {
        match self {
            OperationCode::Add
            | OperationCode::Dequantize
            | OperationCode::FullyConnected
            | OperationCode::Logistic
            | OperationCode::Mul
            | OperationCode::Reshape
            | OperationCode::Softmax
            | OperationCode::Tanh => FL1,
            OperationCode::Mean | OperationCode::Transpose => FL2,
            OperationCode::Cast | OperationCode::Rsqrt | OperationCode::Slice | OperationCode::Tile => FL3,
            OperationCode::BatchMatmul => FL6,
        }
    }
}

/// Per-channel scales of a [`OperandCode::TensorQuant8SymmPerChannel`] operand.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelQuant {
    /// The dimension the scales run along.
    pub channel_dim: u32,
    /// One scale (> 0) per index of that dimension.
    pub scales: Vec<f32>,
}

/// The bytes of a constant operand, 64-byte aligned; they stay in place while the native model
/// that points at them lives (NNAPI keeps a pointer to values over 128 bytes).
#[derive(Clone, PartialEq)]
pub struct ConstBytes(pub AlignedBytes);

impl ConstBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for ConstBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConstBytes({} bytes)", self.len())
    }
}

/// One operand: its type, and its value when it is a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// Type.
    pub code: OperandCode,
    /// Dimensions (empty for scalars).
    pub dims: Vec<u32>,
    /// Quantization scale (0 for float and int types).
    pub scale: f32,
    /// Quantization zero point.
    pub zero_point: i32,
    /// The bytes of a constant (little-endian, row-major), set with `setOperandValue`.
    pub value: Option<Arc<ConstBytes>>,
    /// Scales of a per-channel quantized constant.
    pub channel_quant: Option<ChannelQuant>,
}

impl Operand {
    /// Elements (1 for scalars).
    pub fn elems(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product()
    }

    /// Bytes one value of this operand takes.
    pub fn bytes(&self) -> usize {
        self.elems() * self.code.elem_bytes()
    }
}

/// One operation: code, input operands, output operands (indices into [`NnModel::operands`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The operation.
    pub code: OperationCode,
    /// Input operand indices in the operation's documented order.
    pub inputs: Vec<u32>,
    /// Output operand indices.
    pub outputs: Vec<u32>,
    /// The feature level these operands need (at least [`OperationCode::introduced`]).
    pub feature_level: i64,
}

/// A whole model, in the order its operands and operations are added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NnModel {
    /// Operands; index `i` is the `i`-th `addOperand`.
    pub operands: Vec<Operand>,
    /// Operations in execution order.
    pub operations: Vec<Operation>,
    /// Model inputs (operand indices), bound by position at execution.
    pub inputs: Vec<u32>,
    /// Model outputs (operand indices), bound by position at execution.
    pub outputs: Vec<u32>,
}

impl NnModel {
    /// The lowest feature level that runs every operation (feature level 1 when empty).
    pub fn feature_level(&self) -> i64 {
        self.operations.iter().map(|o| o.feature_level).max().unwrap_or(FL1)
    }

    /// Bytes of constant operand values.
    pub fn constant_bytes(&self) -> u64 {
        self.operands.iter().filter_map(|o| o.value.as_ref()).map(|v| v.len() as u64).sum()
    }

    /// One line per operand, then one per operation, then inputs and outputs: the model's
    /// structure in a form golden tests compare against, e.g.
    /// `%2 = TENSOR_FLOAT32 [3] const` and `FULLY_CONNECTED (%0, %1, %2, %3) -> (%4)`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .operands
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let mut s = format!("%{i} = {} {:?}", o.code.name(), o.dims);
                if o.value.is_some() {
                    s.push_str(" const");
                }
                if o.channel_quant.is_some() {
                    s.push_str(" per-channel");
                }
                s
            })
            .collect();
        let list = |ids: &[u32]| ids.iter().map(|i| format!("%{i}")).collect::<Vec<_>>().join(", ");
        for op in &self.operations {
            lines.push(format!("{} ({}) -> ({})", op.code.name(), list(&op.inputs), list(&op.outputs)));
        }
        lines.push(format!("inputs ({})", list(&self.inputs)));
        lines.push(format!("outputs ({})", list(&self.outputs)));
        lines
    }

    /// A 32-byte token for `ANeuralNetworksCompilation_setCaching` that changes with every
    /// operand type, dimension, constant byte and operation of the model, and with `salt` (the
    /// device name and feature level): four FNV-1a 64 hashes with different seeds.
    pub fn cache_token(&self, salt: &str) -> [u8; crate::ffi::CACHE_TOKEN_BYTES] {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(salt.as_bytes());
        for o in &self.operands {
            bytes.extend_from_slice(&(o.code as i32).to_le_bytes());
            bytes.extend_from_slice(&(o.dims.len() as u32).to_le_bytes());
            o.dims.iter().for_each(|d| bytes.extend_from_slice(&d.to_le_bytes()));
            bytes.extend_from_slice(&o.scale.to_le_bytes());
            bytes.extend_from_slice(&o.zero_point.to_le_bytes());
            if let Some(v) = &o.value {
                bytes.extend_from_slice(&(v.len() as u64).to_le_bytes());
                bytes.extend_from_slice(v.as_slice());
            }
            if let Some(q) = &o.channel_quant {
                bytes.extend_from_slice(&q.channel_dim.to_le_bytes());
                q.scales.iter().for_each(|s| bytes.extend_from_slice(&s.to_le_bytes()));
            }
        }
        for op in &self.operations {
            bytes.extend_from_slice(&(op.code as i32).to_le_bytes());
            for ids in [&op.inputs, &op.outputs] {
                bytes.extend_from_slice(&(ids.len() as u32).to_le_bytes());
                ids.iter().for_each(|i| bytes.extend_from_slice(&i.to_le_bytes()));
            }
        }
        for ids in [&self.inputs, &self.outputs] {
            bytes.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            ids.iter().for_each(|i| bytes.extend_from_slice(&i.to_le_bytes()));
        }
        let mut token = [0u8; crate::ffi::CACHE_TOKEN_BYTES];
        for (chunk, seed) in token.chunks_exact_mut(8).zip(0u64..) {
            chunk.copy_from_slice(&fnv1a(&bytes, seed).to_le_bytes());
        }
        token
    }
}

/// FNV-1a 64 with the offset basis perturbed by `seed`.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
