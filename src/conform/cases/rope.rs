//! rope cases: both pairing modes, fixed offsets (0, small, LLM-long) and the run position.

use super::{OneOp, expect};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{RopeMode, reference};
use crate::ops::{Position, RopeOp};
use crate::tensor::Tensor;

/// (level, family, detail, x shape `[b, h, s, d]`, theta, offset, run position)
type Spec = (Level, &'static str, &'static str, [usize; 4], f32, Position, usize);

fn specs() -> Vec<Spec> {
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", [1, 1, 1, 2], 10000.0, Position::Fixed(1), 0),
        (Quick, "odd", "offset_0", [2, 3, 5, 6], 10000.0, Position::Fixed(0), 0),
        (Quick, "aligned", "offset_17", [1, 8, 16, 128], 10000.0, Position::Fixed(17), 0),
        (Quick, "gemv", "offset_3000_theta_500k", [1, 32, 1, 128], 500000.0, Position::Fixed(3000), 0),
        (Quick, "odd", "run_position_77", [1, 4, 3, 64], 10000.0, Position::Run, 77),
        (Full, "large", "prefill_512", [1, 32, 512, 128], 500000.0, Position::Fixed(0), 0),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for mode in [RopeMode::Normal, RopeMode::Neox] {
        for (level, family, detail, shape, theta, offset, position) in specs() {
            let detail = match detail {
                "" => format!("{mode:?}").to_lowercase(),
                d => format!("{}_{d}", format!("{mode:?}").to_lowercase()),
            };
            let op = RopeOp { theta, mode, offset };
            cases.push(Case::new(level, "rope", "f32", family, detail, vec![shape.to_vec()], move |ctx| {
                build(ctx, shape, &op, position)
            }));
        }
    }
    cases
}

fn build(ctx: &mut CaseCtx, shape: [usize; 4], op: &RopeOp, position: usize) -> Result<Prepared> {
    let [b, h, s, d] = shape;
    let x = ctx.rng.uniform(b * h * s * d, -1.0, 1.0);
    let params = op.params(position);
    let reference = reference::rope(&x, b, h, s, d, &params);
    let tol = tolerance::rope(&x, s, d, &params, ctx.eps());
    let mut g = OneOp::new();
    let xi = g.input("x", Tensor::from_f32(shape.to_vec(), &x)?)?;
    let y = g.graph.rope(xi, op.theta, op.mode, op.offset)?;
    g.finish_at(y, expect(reference, tol), position)
}
