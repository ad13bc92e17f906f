//! add and mul cases: equal shapes and every kind of numpy broadcasting, NaN and infinity
//! propagation.

use super::{OneOp, expect};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{BinaryKind, reference};
use crate::tensor::Tensor;

/// (level, family, detail, a shape, b shape, a special value planted at a flat index of a)
type Spec = (Level, &'static str, &'static str, Vec<usize>, Vec<usize>, Option<(usize, f32)>);

fn specs() -> Vec<Spec> {
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", vec![1], vec![1], None),
        (Quick, "odd", "same_shape", vec![7, 37], vec![7, 37], None),
        (Quick, "odd", "broadcast_row", vec![7, 37], vec![37], None),
        (Quick, "odd", "broadcast_column", vec![7, 37], vec![7, 1], None),
        (Quick, "batched", "broadcast_both", vec![2, 1, 5], vec![3, 1], None),
        (Quick, "odd", "scalar_rhs", vec![4, 67], vec![1], None),
        (Quick, "odd", "scalar_lhs", vec![1], vec![4, 67], None),
        (Quick, "aligned", "broadcast_row", vec![64, 4096], vec![4096], None),
        (Quick, "nan", "element_7", vec![3, 5], vec![3, 5], Some((7, f32::NAN))),
        (Quick, "nan", "inf_element_3", vec![3, 5], vec![3, 5], Some((3, f32::INFINITY))),
        (Quick, "nan", "neg_inf_element_11", vec![3, 5], vec![5], Some((11, f32::NEG_INFINITY))),
        (Full, "large", "same_shape", vec![64, 14336], vec![64, 14336], None),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for kind in [BinaryKind::Add, BinaryKind::Mul] {
        let op = if kind == BinaryKind::Add { "add" } else { "mul" };
        for (level, family, detail, a, b, plant) in specs() {
            let shapes = vec![a.clone(), b.clone()];
            cases.push(Case::new(level, op, "f32", family, detail, shapes, move |ctx| build(ctx, kind, &a, &b, plant)));
        }
    }
    cases
}

fn build(
    ctx: &mut CaseCtx,
    kind: BinaryKind,
    a_shape: &[usize],
    b_shape: &[usize],
    plant: Option<(usize, f32)>,
) -> Result<Prepared> {
    let mut a = ctx.rng.uniform(a_shape.iter().product(), -4.0, 4.0);
    let b = ctx.rng.uniform(b_shape.iter().product(), -4.0, 4.0);
    if let Some((i, special)) = plant {
        a[i] = special;
    }
    let reference = reference::binary(kind, &a, a_shape, &b, b_shape);
    let tol = tolerance::relative(&reference, 1.0, ctx.eps());
    let mut g = OneOp::new();
    let ai = g.input("a", Tensor::from_f32(a_shape.to_vec(), &a)?)?;
    let bi = g.input("b", Tensor::from_f32(b_shape.to_vec(), &b)?)?;
    let y = match kind {
        BinaryKind::Add => g.graph.add(ai, bi)?,
        BinaryKind::Mul => g.graph.mul(ai, bi)?,
    };
    g.finish(y, expect(reference, tol))
}
