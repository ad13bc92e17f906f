//! matmul cases: every weight dtype × x f32/f16 × shape family, plus NaN propagation.

use super::{OneOp, expect};
use crate::conform::data::random_tensor;
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{DType, reference};
use crate::tensor::Tensor;

/// Weight dtypes: the plain floats and every quant format.
fn weight_dtypes() -> Vec<DType> {
    let mut d = vec![DType::F32, DType::F16, DType::BF16];
    d.extend(DType::QUANTIZED);
    d
}

/// A shape family: x shape and n for weights of `w` (None where the family does not apply).
fn family(name: &str, w: DType) -> Option<(Vec<usize>, usize)> {
    let block = w.block_len();
    let k_odd = match block {
        1 => 67,
        32 => 96,
        _ => 768,
    };
    let k_gemv = match block {
        1 => 1000,
        32 => 1056,
        _ => 1280,
    };
    Some(match name {
        "tiny" => (vec![2, block.max(5)], 3),
        "aligned" => (vec![32, 512], 64),
        "odd" => (vec![7, k_odd], 37),
        // k not a multiple of 32 (floats) or of 256 (32-wide blocks); K-quants have no such k.
        "k_tail" => match block {
            1 => (vec![5, 100], 19),
            32 => (vec![5, 288], 19),
            _ => return None,
        },
        // k with a tail past the last 32- or 256-wide group.
        "gemv" => (vec![1, k_gemv], 129),
        "batched" => (vec![2, 3, 256], 48),
        "gemv_large" => (vec![1, 4096], 4096),
        "large" => (vec![64, 4096], 4096),
        "prefill_large" => (vec![512, 4096], 4096),
        _ => return None,
    })
}

/// Which families run at which level for weight dtype `w` and activation dtype `x`.
fn level_of(name: &str, w: DType, x: DType) -> Option<Level> {
    let quick_f16_x = [DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K];
    match (name, x) {
        ("tiny" | "aligned" | "odd" | "k_tail" | "gemv" | "batched", DType::F32) => Some(Level::Quick),
        ("odd" | "gemv", DType::F16) if quick_f16_x.contains(&w) => Some(Level::Quick),
        ("tiny" | "aligned" | "odd" | "k_tail" | "gemv", DType::F16) => Some(Level::Full),
        ("gemv_large" | "large", DType::F32) => Some(Level::Full),
        ("large", DType::F16) if w == DType::F16 => Some(Level::Full),
        ("prefill_large", DType::F32) if w == DType::Q4_0 || w == DType::F16 => Some(Level::Full),
        _ => None,
    }
}

const FAMILIES: [&str; 9] =
    ["tiny", "aligned", "odd", "k_tail", "gemv", "batched", "gemv_large", "large", "prefill_large"];

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for x in [DType::F32, DType::F16] {
        for w in weight_dtypes() {
            for name in FAMILIES {
                let (Some(level), Some((x_shape, n))) = (level_of(name, w, x), family(name, w)) else { continue };
                cases.push(case(level, name, "", w, x, x_shape, n, None));
            }
        }
    }
    // NaN propagation: a NaN in x row 2 makes all of y's row 2 NaN and nothing else; an infinity
    // makes it ±∞ (or NaN), and leaves the other rows alone.
    for w in [DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K] {
        let nan = Plant { at: 2 * 512 + 300, value: f32::NAN };
        cases.push(case(Level::Quick, "nan", "x_row_2", w, DType::F32, vec![4, 512], 40, Some(nan)));
        let inf = Plant { at: 512 + 17, value: f32::INFINITY };
        cases.push(case(Level::Quick, "nan", "inf_x_row_1", w, DType::F32, vec![4, 512], 40, Some(inf)));
    }
    cases
}

/// A non-finite value planted in x at a flat index.
#[derive(Copy, Clone, Debug)]
struct Plant {
    at: usize,
    value: f32,
}

#[allow(clippy::too_many_arguments)] // a case is exactly these facts
fn case(
    level: Level,
    family: &str,
    detail: &str,
    w: DType,
    x: DType,
    x_shape: Vec<usize>,
    n: usize,
    plant: Option<Plant>,
) -> Case {
    let k = *x_shape.last().expect("x has a k axis");
    let shapes = vec![x_shape.clone(), vec![n, k]];
    Case::new(level, "matmul", format!("w={w} x={x}"), family, detail, shapes, move |ctx| {
        build(ctx, w, x, &x_shape, n, plant)
    })
}

fn build(
    ctx: &mut CaseCtx,
    wd: DType,
    xd: DType,
    x_shape: &[usize],
    n: usize,
    plant: Option<Plant>,
) -> Result<Prepared> {
    let k = *x_shape.last().expect("x has a k axis");
    let m = x_shape.iter().product::<usize>() / k;
    let (w_t, w) = random_tensor(&mut ctx.rng, wd, &[n, k])?;
    let mut x_vals = ctx.rng.uniform(m * k, -1.0, 1.0);
    if let Some(p) = plant {
        x_vals[p.at] = p.value;
    }
    let x_t = Tensor::from_f32_as(xd, x_shape.to_vec(), &x_vals)?;
    let x = x_t.to_f32_vec()?;
    let reference = reference::matmul(&x, &w, m, k, n);
    let tol = tolerance::matmul(&x, &w, m, k, n, ctx.eps(), ctx.profile.activation_rounding(wd));
    let mut g = OneOp::new();
    let xi = g.input("x", x_t)?;
    let wi = g.weight("w", w_t);
    let y = g.graph.matmul(xi, wi)?;
    g.finish(y, expect(reference, tol))
}
