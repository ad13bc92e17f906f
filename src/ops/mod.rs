//! The op set: one closed enum, each family in its own file with shape/dtype inference and cost.

mod activation;
mod attention;
mod binary;
mod kv_cache;
mod layout;
mod matmul;
mod norm;
mod quant;
mod rope;
mod softmax;

pub use attention::AttentionOp;
pub use rope::RopeOp;

use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::{DType, GeluKind};

/// A position in the sequence: fixed when the graph is built, or the one given to each run
/// (`RunOptions::position`), so one decode graph serves every step of a growing KV cache.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// A constant position.
    Fixed(usize),
    /// The position passed to `Session::run_with`.
    Run,
}

impl Position {
    /// The concrete position for a run at `run_position`.
    pub fn resolve(self, run_position: usize) -> usize {
        match self {
            Position::Fixed(p) => p,
            Position::Run => run_position,
        }
    }
}

/// FLOPs and memory traffic of one op execution (used by profiles, rooflines and energy models).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OpCost {
    /// Floating-point (or integer multiply-add) operations, counting a multiply-add as 2.
    pub flops: u64,
    /// Bytes read from inputs and weights.
    pub bytes_read: u64,
    /// Bytes written to the output.
    pub bytes_written: u64,
}

/// One operation of the graph. Inputs are listed on each variant; every op has one output.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `y[..., m, n] = x[..., m, k] · w[n, k]ᵀ`; x f32/f16, w f32/f16/bf16 or a quant format
    /// (dequantization fused). Inputs: x, w.
    MatMul,
    /// Scaled dot-product attention. Inputs: q, k, v and optionally an additive mask.
    Attention(AttentionOp),
    /// Decode a quant (or f16/bf16) tensor to f32/f16. Input: w.
    Dequantize {
        /// Output dtype (f32 or f16).
        to: DType,
    },
    /// Embedding lookup: rows of a `[rows, cols]` table (any dtype) picked by i32 ids `[n]`,
    /// giving f32 `[n, cols]`. Inputs: table, ids.
    GetRows,
    /// RMS normalisation over the last axis. Inputs: x and optionally weight `[d]`.
    RmsNorm {
        /// Added to the mean square.
        eps: f32,
    },
    /// Layer normalisation over the last axis. Inputs: x, optionally weight `[d]` and bias `[d]`.
    LayerNorm {
        /// Added to the variance.
        eps: f32,
    },
    /// Rotary position embedding on `[b, h, s, d]`. Input: x.
    Rope(RopeOp),
    /// Softmax over the last axis. Input: x.
    Softmax,
    /// `x · sigmoid(x)`. Input: x.
    Silu,
    /// GELU. Input: x.
    Gelu(GeluKind),
    /// `silu(gate) · up`. Inputs: gate, up (same shape).
    SwiGlu,
    /// `a + b` with numpy broadcasting. Inputs: a, b.
    Add,
    /// `a · b` with numpy broadcasting. Inputs: a, b.
    Mul,
    /// Convert to another dtype (f32, f16, bf16, or a quant format from f32). Input: x.
    Cast {
        /// Output dtype.
        to: DType,
    },
    /// Same elements, new shape. Input: x.
    Reshape {
        /// The new shape.
        shape: Vec<usize>,
    },
    /// Axis permutation: output dim `i` is input dim `perm[i]`. Input: x.
    Permute {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// A copy. Input: x.
    Copy,
    /// Write `new [b, h, s, d]` into a KV-cache state `[b, h, capacity, d]` at rows
    /// `pos..pos + s`; the output is the updated cache (written in place). Inputs: cache, new.
    KvWrite {
        /// Where the first new row goes.
        pos: Position,
    },
}

impl Op {
    /// The op's name as used by the CLI and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "matmul",
            Op::Attention(_) => "attention",
            Op::Dequantize { .. } => "dequantize",
            Op::GetRows => "get_rows",
            Op::RmsNorm { .. } => "rms_norm",
            Op::LayerNorm { .. } => "layer_norm",
            Op::Rope(_) => "rope",
            Op::Softmax => "softmax",
            Op::Silu => "silu",
            Op::Gelu(_) => "gelu",
            Op::SwiGlu => "swiglu",
            Op::Add => "add",
            Op::Mul => "mul",
            Op::Cast { .. } => "cast",
            Op::Reshape { .. } => "reshape",
            Op::Permute { .. } => "permute",
            Op::Copy => "copy",
            Op::KvWrite { .. } => "kv_write",
        }
    }

    /// Every op name, for error messages and `--help`.
    pub const NAMES: [&'static str; 18] = [
        "matmul",
        "attention",
        "dequantize",
        "get_rows",
        "rms_norm",
        "layer_norm",
        "rope",
        "softmax",
        "silu",
        "gelu",
        "swiglu",
        "add",
        "mul",
        "cast",
        "reshape",
        "permute",
        "copy",
        "kv_write",
    ];

    /// How many inputs the op takes: (required, optional).
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Op::MatMul | Op::GetRows | Op::SwiGlu | Op::Add | Op::Mul | Op::KvWrite { .. } => (2, 0),
            Op::Attention(_) => (3, 1),
            Op::RmsNorm { .. } => (1, 1),
            Op::LayerNorm { .. } => (1, 2),
            _ => (1, 0),
        }
    }

    /// The output's dtype and shape for these inputs, or a typed error naming the tensors and shapes.
    pub fn infer(&self, inputs: &[&TensorDesc]) -> Result<TensorDesc> {
        let (required, optional) = self.arity();
        if inputs.len() < required || inputs.len() > required + optional {
            return Err(Error::shape(
                self.name(),
                format!(
                    "takes {required}{} inputs, got {}",
                    if optional > 0 { format!("..{}", required + optional) } else { String::new() },
                    inputs.len()
                ),
            ));
        }
        match self {
            Op::MatMul => matmul::infer(inputs[0], inputs[1]),
            Op::Attention(a) => a.infer(inputs),
            Op::Dequantize { to } => quant::infer_dequantize(inputs[0], *to),
            Op::GetRows => quant::infer_get_rows(inputs[0], inputs[1]),
            Op::RmsNorm { eps } => norm::infer("rms_norm", *eps, inputs),
            Op::LayerNorm { eps } => norm::infer("layer_norm", *eps, inputs),
            Op::Rope(r) => r.infer(inputs[0]),
            Op::Softmax => softmax::infer(inputs[0]),
            Op::Silu | Op::Gelu(_) => activation::infer_unary(self.name(), inputs[0]),
            Op::SwiGlu => activation::infer_swiglu(inputs[0], inputs[1]),
            Op::Add | Op::Mul => binary::infer(self.name(), inputs[0], inputs[1]),
            Op::Cast { to } => layout::infer_cast(inputs[0], *to),
            Op::Reshape { shape } => layout::infer_reshape(inputs[0], shape),
            Op::Permute { perm } => layout::infer_permute(inputs[0], perm),
            Op::Copy => Ok(inputs[0].clone()),
            Op::KvWrite { .. } => kv_cache::infer(inputs[0], inputs[1]),
        }
    }

    /// FLOPs and bytes for one execution with these inputs and output at run position `position`.
    pub fn cost(&self, inputs: &[&TensorDesc], output: &TensorDesc, position: usize) -> OpCost {
        let read: u64 = inputs.iter().map(|d| bytes_of(d)).sum();
        let written = bytes_of(output);
        let elems = output.elems() as u64;
        let (flops, read) = match self {
            Op::MatMul => (matmul::flops(inputs[0], inputs[1]), read),
            Op::Attention(a) => return a.cost(inputs, output, position),
            Op::RmsNorm { .. } => (4 * elems, read),
            Op::LayerNorm { .. } => (7 * elems, read),
            Op::Rope(_) => (6 * elems, read),
            Op::Softmax => (5 * elems, read),
            Op::Silu => (4 * elems, read),
            Op::Gelu(_) => (8 * elems, read),
            Op::SwiGlu => (5 * elems, read),
            Op::Add | Op::Mul => (elems, read),
            Op::Dequantize { .. } | Op::Cast { .. } => (elems, read),
            Op::GetRows => {
                let rows = inputs[1].elems() as u64;
                let row_bytes = bytes_of(inputs[0]) / inputs[0].shape.first().copied().unwrap_or(1).max(1) as u64;
                (elems, rows * row_bytes + bytes_of(inputs[1]))
            }
            Op::Reshape { .. } | Op::Permute { .. } | Op::Copy => (0, read),
            Op::KvWrite { .. } => {
                return OpCost { flops: 0, bytes_read: bytes_of(inputs[1]), bytes_written: bytes_of(inputs[1]) };
            }
        };
        OpCost { flops, bytes_read: read, bytes_written: written }
    }
}

/// Bytes of a tensor (0 if its shape is not a whole number of blocks, which inference rejects).
pub(crate) fn bytes_of(d: &TensorDesc) -> u64 {
    d.byte_len("").unwrap_or(0) as u64
}

/// Checks that `d` has one of `allowed` dtypes.
pub(crate) fn expect_dtype(op: &str, tensor: &str, d: &TensorDesc, allowed: &[DType]) -> Result<()> {
    if allowed.contains(&d.dtype) {
        return Ok(());
    }
    let names: Vec<_> = allowed.iter().map(|d| d.name()).collect();
    Err(Error::dtype(op, tensor, d.dtype, names.join(" or ")))
}

/// Checks that `d` has exactly `rank` dimensions.
pub(crate) fn expect_rank(op: &str, tensor: &str, d: &TensorDesc, rank: usize) -> Result<()> {
    if d.rank() == rank {
        return Ok(());
    }
    Err(Error::shape(op, format!("`{tensor}` must have {rank} dimensions, shape is {:?}", d.shape)))
}

/// Checks a float parameter is finite and positive-or-zero.
pub(crate) fn expect_finite(op: &str, param: &str, v: f32) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        return Ok(());
    }
    Err(Error::param(op, param, v, "must be a finite, non-negative number"))
}

/// f32 and f16: the activation dtypes.
pub(crate) const FLOAT_ACT: [DType; 2] = [DType::F32, DType::F16];
