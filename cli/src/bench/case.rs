//! One benchmark: an op, a dtype and a shape, built into a one-op graph whose operands are all
//! graph constants (so a run reads them where they lie, without copying inputs in).

use super::random::{Rng, tensor};
use crate::error::{CliError, Result};
use crate::inputs::fmt_dims;
use edgehal::energy::EnergyModel;
use edgehal::{
    AttentionOp, Backend, DType, GeluKind, Graph, Op, OpCost, Policy, Position, RopeMode, RopeOp, Session, TensorDesc,
};
use std::sync::Arc;

/// The ops `bench` can build, with the meaning of `--shape` for each.
pub const OPS: &[(&str, &str)] = &[
    ("matmul", "M,N,K: x [M,K] f32 times weight [N,K] of DTYPE (default q4_0)"),
    ("attention", "HQ,HKV,S,T,D: q [1,HQ,S,D], causal, KV cache [1,HKV,T,D] of DTYPE (f16 default, f32)"),
    ("dequantize", "R,C: a [R,C] tensor of DTYPE (default q4_0) to f32"),
    ("get_rows", "R,C,N: N random rows of a [R,C] table of DTYPE (default q4_0)"),
    ("rms_norm", "R,D: x [R,D] with weight [D]"),
    ("layer_norm", "R,D: x [R,D] with weight and bias [D]"),
    ("softmax", "R,D: over the last axis of [R,D]"),
    ("rope", "B,H,S,D: normal mode, theta 10000"),
    ("silu", "any dims"),
    ("gelu", "any dims (tanh)"),
    ("swiglu", "any dims (gate and up)"),
    ("add", "any dims (same shape)"),
    ("mul", "any dims (same shape)"),
    ("cast", "any dims: f32 to DTYPE (default f16)"),
    ("permute", "B,H,S,D with perm 0,2,1,3"),
    ("copy", "any dims"),
];

/// Checks that `bench` knows `op`, listing the ops it knows otherwise.
pub fn check_op(op: &str) -> Result<&'static str> {
    OPS.iter()
        .find(|(name, _)| *name == op)
        .map(|(name, _)| *name)
        .ok_or_else(|| CliError::unknown("bench op", op, OPS.iter().map(|o| o.0)))
}

/// One benchmark case.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchCase {
    /// The op name.
    pub op: &'static str,
    /// The op's main dtype (weight, KV cache, table, cast target; f32 for the rest).
    pub dtype: DType,
    /// The op-specific dimensions (see [`OPS`]).
    pub dims: Vec<usize>,
}

/// A built graph with what the timing needs to know about it.
pub struct Built {
    /// The one-op graph, output marked.
    pub graph: Graph,
    /// FLOPs and bytes of one run.
    pub cost: OpCost,
    /// Bytes of the constants the op reads.
    pub operand_bytes: u64,
}

impl Built {
    /// A session of the graph on `backend` alone (no fallback), its modelled energy priced by
    /// `energy_model` where given (else the device kind's defaults).
    pub fn into_session(self, backend: &Arc<dyn Backend>, energy_model: Option<EnergyModel>) -> Result<Session> {
        let mut s = Session::new(self.graph, vec![backend.clone()], Policy::strict())?;
        if let Some(m) = energy_model {
            s.set_energy_model(backend.name(), m)?;
        }
        Ok(s)
    }
}

impl BenchCase {
    /// A case, checking the op and the number of dimensions; `dtype: None` takes the op's default.
    pub fn new(op: &str, dtype: Option<DType>, dims: Vec<usize>) -> Result<Self> {
        let op = check_op(op)?;
        let dtype = dtype.unwrap_or(match op {
            "matmul" | "dequantize" | "get_rows" => DType::Q4_0,
            "attention" | "cast" => DType::F16,
            _ => DType::F32,
        });
        let want = match op {
            "matmul" | "get_rows" => Some(3),
            "attention" => Some(5),
            "dequantize" | "rms_norm" | "layer_norm" | "softmax" => Some(2),
            "rope" | "permute" => Some(4),
            _ => None,
        };
        if want.is_some_and(|n| dims.len() != n) || dims.is_empty() || dims.contains(&0) {
            let help = OPS.iter().find(|o| o.0 == op).map_or("", |o| o.1);
            return Err(CliError::Usage(format!("bench {op}: --shape {} does not fit {help}", fmt_dims(&dims))));
        }
        Ok(BenchCase { op, dtype, dims })
    }

    /// A short description such as `matmul q4_0 m=1 n=4096 k=4096`.
    pub fn label(&self) -> String {
        let names: &[&str] = match self.op {
            "matmul" => &["m", "n", "k"],
            "attention" => &["hq", "hkv", "s", "t", "d"],
            "dequantize" => &["rows", "cols"],
            "get_rows" => &["rows", "cols", "n"],
            "rms_norm" | "layer_norm" | "softmax" => &["rows", "d"],
            "rope" | "permute" => &["b", "h", "s", "d"],
            _ => return format!("{} {} {}", self.op, self.dtype, fmt_dims(&self.dims)),
        };
        let dims: Vec<String> = names.iter().zip(&self.dims).map(|(n, d)| format!("{n}={d}")).collect();
        format!("{} {} {}", self.op, self.dtype, dims.join(" "))
    }

    /// A short name for plots, such as `mm q4_0 1x4096x4096`.
    pub fn short_name(&self) -> String {
        let op = match self.op {
            "matmul" => "mm",
            "attention" => "attn",
            "dequantize" => "deq",
            other => other,
        };
        format!("{op} {} {}", self.dtype, fmt_dims(&self.dims))
    }

    /// Builds the graph with operands drawn from `seed`.
    pub fn build(&self, seed: u64) -> Result<Built> {
        let mut rng = Rng::new(seed);
        let mut g = Graph::new();
        let d = &self.dims;
        let mut operand = |g: &mut Graph, name: &str, dtype: DType, shape: &[usize], bound: usize| {
            tensor(dtype, shape, &mut rng, bound).map(|t| g.weight(name, t))
        };
        let f32 = DType::F32;
        let (op, inputs) = match self.op {
            "matmul" => {
                // An f16 matmul is f16 on both sides (the GPUs' f16 arithmetic); others take f32 x.
                let x_dtype = if self.dtype == DType::F16 { DType::F16 } else { f32 };
                let x = operand(&mut g, "x", x_dtype, &[d[0], d[2]], 0)?;
                let w = operand(&mut g, "w", self.dtype, &[d[1], d[2]], 0)?;
                (Op::MatMul, vec![x, w])
            }
            "attention" => {
                let (hq, hkv, s, t, hd) = (d[0], d[1], d[2], d[3], d[4]);
                let q = operand(&mut g, "q", f32, &[1, hq, s, hd], 0)?;
                let k = operand(&mut g, "k", self.dtype, &[1, hkv, t, hd], 0)?;
                let v = operand(&mut g, "v", self.dtype, &[1, hkv, t, hd], 0)?;
                (Op::Attention(AttentionOp::default()), vec![q, k, v])
            }
            "dequantize" => (Op::Dequantize { to: f32 }, vec![operand(&mut g, "w", self.dtype, d, 0)?]),
            "get_rows" => {
                let table = operand(&mut g, "table", self.dtype, &d[..2], 0)?;
                let ids = operand(&mut g, "ids", DType::I32, &[d[2]], d[0])?;
                (Op::GetRows, vec![table, ids])
            }
            "rms_norm" | "layer_norm" => {
                let mut v = vec![operand(&mut g, "x", f32, d, 0)?, operand(&mut g, "weight", f32, &d[1..], 0)?];
                if self.op == "layer_norm" {
                    v.push(operand(&mut g, "bias", f32, &d[1..], 0)?);
                    (Op::LayerNorm { eps: 1e-5 }, v)
                } else {
                    (Op::RmsNorm { eps: 1e-6 }, v)
                }
            }
            "softmax" => (Op::Softmax, vec![operand(&mut g, "x", f32, d, 0)?]),
            "rope" => {
                let rope = RopeOp { theta: 10000.0, mode: RopeMode::Normal, offset: Position::Fixed(0) };
                (Op::Rope(rope), vec![operand(&mut g, "x", f32, d, 0)?])
            }
            "silu" => (Op::Silu, vec![operand(&mut g, "x", f32, d, 0)?]),
            "gelu" => (Op::Gelu(GeluKind::Tanh), vec![operand(&mut g, "x", f32, d, 0)?]),
            "copy" => (Op::Copy, vec![operand(&mut g, "x", self.dtype, d, 0)?]),
            "cast" => (Op::Cast { to: self.dtype }, vec![operand(&mut g, "x", f32, d, 0)?]),
            "permute" => (Op::Permute { perm: vec![0, 2, 1, 3] }, vec![operand(&mut g, "x", self.dtype, d, 0)?]),
            "swiglu" | "add" | "mul" => {
                let op = match self.op {
                    "swiglu" => Op::SwiGlu,
                    "add" => Op::Add,
                    _ => Op::Mul,
                };
                (op, vec![operand(&mut g, "a", f32, d, 0)?, operand(&mut g, "b", f32, d, 0)?])
            }
            other => unreachable!("bench op `{other}` is in OPS but has no builder"),
        };
        let descs: Vec<TensorDesc> = inputs.iter().map(|&i| g.value(i).desc.clone()).collect();
        let operand_bytes = descs.iter().map(|d| d.byte_len("operand").unwrap_or(0) as u64).sum();
        let y = g.op(op.clone(), &inputs)?;
        g.output(y)?;
        let refs: Vec<&TensorDesc> = descs.iter().collect();
        let cost = op.cost(&refs, &g.value(y).desc, 0);
        Ok(Built { graph: g, cost, operand_bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_builds_a_small_case() {
        for (op, _) in OPS {
            let dims = match *op {
                "matmul" => vec![2, 8, 64],
                "attention" => vec![4, 2, 3, 5, 8],
                "dequantize" => vec![2, 64],
                "get_rows" => vec![4, 64, 3],
                "rms_norm" | "layer_norm" | "softmax" => vec![3, 16],
                "rope" | "permute" => vec![1, 2, 3, 8],
                _ => vec![4, 8],
            };
            let case = BenchCase::new(op, None, dims).unwrap();
            let built = case.build(3).unwrap();
            assert_eq!(built.graph.nodes().len(), 1, "{op}");
            assert!(built.operand_bytes > 0, "{op}");
            assert!(built.cost.bytes_read > 0, "{op}");
        }
    }

    #[test]
    fn labels_and_errors() {
        let c = BenchCase::new("matmul", Some(DType::Q8_0), vec![1, 4096, 4096]).unwrap();
        assert_eq!(c.label(), "matmul q8_0 m=1 n=4096 k=4096");
        assert_eq!(c.short_name(), "mm q8_0 1x4096x4096");
        let err = BenchCase::new("matmul", None, vec![1, 2]).unwrap_err().to_string();
        assert!(err.contains("M,N,K"), "{err}");
        let err = BenchCase::new("conv", None, vec![1]).unwrap_err().to_string();
        assert!(err.contains("unknown bench op `conv`"), "{err}");
    }
}
