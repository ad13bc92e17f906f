//! silu, gelu (tanh and erf) and swiglu cases: odd lengths, LLM-sized tensors, wide ranges (the
//! exp/tanh saturation paths), NaN propagation.

use super::{OneOp, expect};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{GeluKind, reference};
use crate::tensor::Tensor;

/// Which activation.
#[derive(Copy, Clone, Debug)]
enum Act {
    Silu,
    Gelu(GeluKind),
    SwiGlu,
}

impl Act {
    fn op(self) -> &'static str {
        match self {
            Act::Silu => "silu",
            Act::Gelu(_) => "gelu",
            Act::SwiGlu => "swiglu",
        }
    }
}

/// (level, family, detail, shape, value range, NaN at flat index)
type Spec = (Level, &'static str, &'static str, Vec<usize>, f32, Option<usize>);

fn specs() -> Vec<Spec> {
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", vec![1], 4.0, None),
        (Quick, "odd", "", vec![1001], 8.0, None),
        (Quick, "batched", "", vec![2, 3, 67], 8.0, None),
        (Quick, "aligned", "", vec![16, 4096], 8.0, None),
        (Quick, "odd", "wide_range", vec![999], 100.0, None),
        (Quick, "nan", "element_100", vec![3, 67], 8.0, Some(100)),
        (Full, "large", "", vec![64, 14336], 8.0, None),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for act in [Act::Silu, Act::Gelu(GeluKind::Tanh), Act::Gelu(GeluKind::Erf), Act::SwiGlu] {
        for (level, family, detail, shape, range, nan_at) in specs() {
            let detail = match act {
                Act::Gelu(kind) => {
                    let kind = format!("{kind:?}").to_lowercase();
                    if detail.is_empty() { kind } else { format!("{kind}_{detail}") }
                }
                _ => detail.to_string(),
            };
            let mut shapes = vec![shape.clone()];
            if let Act::SwiGlu = act {
                shapes.push(shape.clone());
            }
            cases.push(Case::new(level, act.op(), "f32", family, detail, shapes, move |ctx| {
                build(ctx, act, &shape, range, nan_at)
            }));
        }
    }
    cases
}

fn build(ctx: &mut CaseCtx, act: Act, shape: &[usize], range: f32, nan_at: Option<usize>) -> Result<Prepared> {
    let len = shape.iter().product();
    let mut x = ctx.rng.uniform(len, -range, range);
    if let Some(i) = nan_at {
        x[i] = f32::NAN;
    }
    let eps = ctx.eps();
    let mut g = OneOp::new();
    let xi = g.input("x", Tensor::from_f32(shape.to_vec(), &x)?)?;
    let (y, reference, tol) = match act {
        Act::Silu => {
            let r = reference::silu(&x);
            let t = tolerance::silu(&r, eps);
            (g.graph.silu(xi)?, r, t)
        }
        Act::Gelu(kind) => {
            let r = reference::gelu(&x, kind);
            let t = tolerance::gelu(&x, &r, eps);
            (g.graph.gelu(xi, kind)?, r, t)
        }
        Act::SwiGlu => {
            let up = ctx.rng.uniform(len, -range, range);
            let ui = g.input("up", Tensor::from_f32(shape.to_vec(), &up)?)?;
            let r = reference::swiglu(&x, &up);
            let t = tolerance::swiglu(&up, &r, eps);
            (g.graph.swiglu(xi, ui)?, r, t)
        }
    };
    g.finish(y, expect(reference, tol))
}
