//! The ops the `op` command runs: their input names, parameters and defaults, and how each
//! becomes an [`Op`].

use super::params::Params;
use crate::error::{CliError, Result};
use edgehal::{AttentionOp, DType, GeluKind, Op, Position, RopeMode, RopeOp};

/// One op as the command line sees it.
pub struct OpSpec {
    /// The op's name.
    pub name: &'static str,
    /// Required inputs, in order, with their layouts.
    pub inputs: &'static [&'static str],
    /// Optional inputs that may follow.
    pub optional: &'static [&'static str],
    /// Parameters with their defaults, for errors and `--help`.
    pub params: &'static [(&'static str, &'static str)],
}

/// Every op the command runs.
pub const OPS: &[OpSpec] = &[
    spec("matmul", &["x [m,k]", "w [n,k]"], &[], &[]),
    spec(
        "attention",
        &["q [b,hq,s,d]", "k [b,hkv,t,d]", "v [b,hkv,t,d]"],
        &["mask [s,t]"],
        &[("causal", "true"), ("scale", "1/sqrt(d)"), ("softcap", "none")],
    ),
    spec("dequantize", &["w FILE:FORMAT:RxC"], &[], &[("to", "f32 (or f16)")]),
    spec("get_rows", &["table [rows,cols]", "ids [n] int"], &[], &[]),
    spec("rms_norm", &["x [..,d]"], &["weight [d]"], &[("eps", "1e-6")]),
    spec("layer_norm", &["x [..,d]"], &["weight [d]", "bias [d]"], &[("eps", "1e-5")]),
    spec("softmax", &["x [..,d]"], &[], &[]),
    spec("rope", &["x [b,h,s,d]"], &[], &[("theta", "10000"), ("mode", "normal (or neox)"), ("offset", "0")]),
    spec("silu", &["x"], &[], &[]),
    spec("gelu", &["x"], &[], &[("kind", "tanh (or erf)")]),
    spec("swiglu", &["gate", "up"], &[], &[]),
    spec("add", &["a", "b"], &[], &[]),
    spec("mul", &["a", "b"], &[], &[]),
    spec("cast", &["x"], &[], &[("to", "required: a dtype")]),
    spec("permute", &["x"], &[], &[("perm", "required: e.g. 0,2,1,3")]),
    spec("reshape", &["x"], &[], &[("shape", "required: e.g. 4,8")]),
    spec("copy", &["x"], &[], &[]),
];

const fn spec(
    name: &'static str,
    inputs: &'static [&'static str],
    optional: &'static [&'static str],
    params: &'static [(&'static str, &'static str)],
) -> OpSpec {
    OpSpec { name, inputs, optional, params }
}

/// The op called `name`, or an error listing the known ops.
pub fn find(name: &str) -> Result<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name).ok_or_else(|| CliError::unknown("op", name, OPS.iter().map(|o| o.name)))
}

impl OpSpec {
    /// The parameter names.
    pub fn param_names(&self) -> Vec<&'static str> {
        self.params.iter().map(|p| p.0).collect()
    }

    /// Checks the number of inputs, naming the expected ones when it is wrong.
    pub fn check_input_count(&self, given: usize) -> Result<()> {
        let (min, max) = (self.inputs.len(), self.inputs.len() + self.optional.len());
        if (min..=max).contains(&given) {
            return Ok(());
        }
        let mut expected = self.inputs.join(", ");
        if !self.optional.is_empty() {
            expected += &format!(" (optional: {})", self.optional.join(", "));
        }
        Err(CliError::Usage(format!("{} takes --in {expected}; got {given} inputs", self.name)))
    }

    /// The op with its parameters (defaults filled in).
    pub fn build(&self, params: &Params) -> Result<Op> {
        Ok(match self.name {
            "matmul" => Op::MatMul,
            "attention" => Op::Attention(AttentionOp {
                scale: params.f32("scale")?,
                causal: params.bool("causal")?.unwrap_or(true),
                softcap: params.f32("softcap")?,
                past: None,
            }),
            "dequantize" => Op::Dequantize { to: dtype(params, "to")?.unwrap_or(DType::F32) },
            "get_rows" => Op::GetRows,
            "rms_norm" => Op::RmsNorm { eps: params.f32("eps")?.unwrap_or(1e-6) },
            "layer_norm" => Op::LayerNorm { eps: params.f32("eps")?.unwrap_or(1e-5) },
            "softmax" => Op::Softmax,
            "rope" => Op::Rope(RopeOp {
                theta: params.f32("theta")?.unwrap_or(10000.0),
                mode: params
                    .choice("mode", &[("normal", RopeMode::Normal), ("neox", RopeMode::Neox)])?
                    .unwrap_or(RopeMode::Normal),
                offset: Position::Fixed(params.usize("offset")?.unwrap_or(0)),
            }),
            "silu" => Op::Silu,
            "gelu" => Op::Gelu(
                params.choice("kind", &[("tanh", GeluKind::Tanh), ("erf", GeluKind::Erf)])?.unwrap_or(GeluKind::Tanh),
            ),
            "swiglu" => Op::SwiGlu,
            "add" => Op::Add,
            "mul" => Op::Mul,
            "cast" => Op::Cast { to: dtype(params, "to")?.ok_or_else(|| params.missing("to", "the target dtype"))? },
            "permute" => Op::Permute {
                perm: params.usize_list("perm")?.ok_or_else(|| params.missing("perm", "e.g. perm=0,2,1,3"))?,
            },
            "reshape" => Op::Reshape {
                shape: params.usize_list("shape")?.ok_or_else(|| params.missing("shape", "e.g. shape=4,8"))?,
            },
            "copy" => Op::Copy,
            other => unreachable!("op `{other}` is in OPS but has no builder"),
        })
    }
}

fn dtype(params: &Params, key: &str) -> Result<Option<DType>> {
    let choices: Vec<(&str, DType)> = DType::ALL.iter().map(|d| (d.name(), *d)).collect();
    params.choice(key, &choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_builds_with_its_required_params() {
        for spec in OPS {
            let items: Vec<String> = match spec.name {
                "cast" => vec!["to=f16".into()],
                "permute" => vec!["perm=1,0".into()],
                "reshape" => vec!["shape=2,2".into()],
                _ => vec![],
            };
            let params = Params::parse(spec.name, &items, &spec.param_names()).unwrap();
            assert_eq!(spec.build(&params).unwrap().name(), spec.name);
        }
    }

    #[test]
    fn errors_name_what_is_known() {
        let msg = |r: Result<&OpSpec>| r.err().unwrap().to_string();
        assert!(msg(find("conv2d")).contains("unknown op `conv2d`; known: matmul, attention"));
        let spec = find("rms_norm").unwrap();
        let err = Params::parse("rms_norm", &["epsilon=1".into()], &spec.param_names()).err().unwrap();
        assert_eq!(err.to_string(), "rms_norm: unknown parameter `epsilon`; known: eps");
        let params = Params::parse("gelu", &["kind=fast".into()], &["kind"]).unwrap();
        let err = find("gelu").unwrap().build(&params).err().unwrap();
        assert!(err.to_string().contains("expected one of tanh, erf"), "{err}");
        assert!(find("matmul").unwrap().check_input_count(3).unwrap_err().to_string().contains("x [m,k], w [n,k]"));
    }
}
