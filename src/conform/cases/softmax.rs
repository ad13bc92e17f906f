//! softmax cases: odd and vocabulary-sized rows, wide value ranges, `-inf` entries (masking),
//! and the NaN/`+inf` conventions of the reference (such a row is all NaN; an all-`-inf` row is
//! all zeros).

use super::{OneOp, expect};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::reference;
use crate::tensor::Tensor;

/// What is planted in the data.
#[derive(Copy, Clone, Debug)]
enum Plant {
    None,
    /// A fifth of the entries `-inf` (never a whole row).
    NegInf,
    /// Row 1 all `-inf`.
    NegInfRow,
    /// One NaN in row 1.
    Nan,
    /// One `+inf` in row 1.
    PosInf,
}

fn specs() -> Vec<(Level, &'static str, &'static str, Vec<usize>, f32, Plant)> {
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", vec![1, 1], 1.0, Plant::None),
        (Quick, "odd", "", vec![7, 37], 4.0, Plant::None),
        (Quick, "aligned", "", vec![4, 4096], 4.0, Plant::None),
        (Quick, "batched", "", vec![2, 3, 64], 4.0, Plant::None),
        (Quick, "odd", "wide_range", vec![5, 300], 60.0, Plant::None),
        (Quick, "odd", "neg_inf", vec![6, 45], 4.0, Plant::NegInf),
        (Quick, "odd", "neg_inf_row", vec![3, 45], 4.0, Plant::NegInfRow),
        (Quick, "nan", "nan_row_1", vec![3, 45], 4.0, Plant::Nan),
        (Quick, "nan", "pos_inf_row_1", vec![3, 45], 4.0, Plant::PosInf),
        (Quick, "large", "vocab", vec![4, 32000], 8.0, Plant::None),
        (Full, "large", "vocab_64", vec![64, 32000], 8.0, Plant::None),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    specs()
        .into_iter()
        .map(|(level, family, detail, shape, range, plant)| {
            let s = shape.clone();
            Case::new(level, "softmax", "f32", family, detail, vec![shape], move |ctx| build(ctx, &s, range, plant))
        })
        .collect()
}

fn build(ctx: &mut CaseCtx, shape: &[usize], range: f32, plant: Plant) -> Result<Prepared> {
    let d = *shape.last().expect("rank >= 1");
    let mut x = ctx.rng.uniform(shape.iter().product(), -range, range);
    match plant {
        Plant::None => {}
        Plant::NegInf => {
            for (i, v) in x.iter_mut().enumerate() {
                if i % d != 0 && ctx.rng.index(0, 5) == 0 {
                    *v = f32::NEG_INFINITY;
                }
            }
        }
        Plant::NegInfRow => x[d..2 * d].fill(f32::NEG_INFINITY),
        Plant::Nan => x[d + 7] = f32::NAN,
        Plant::PosInf => x[d + 7] = f32::INFINITY,
    }
    let reference = reference::softmax(&x, d);
    let tol = tolerance::softmax(&x, d, &reference, ctx.eps());
    let mut g = OneOp::new();
    let xi = g.input("x", Tensor::from_f32(shape.to_vec(), &x)?)?;
    let y = g.graph.softmax(xi)?;
    g.finish(y, expect(reference, tol))
}
