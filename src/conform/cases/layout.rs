//! cast, reshape, permute and copy cases.

use super::{OneOp, exact, expect};
use crate::conform::data::{CaseRng, random_tensor, widen};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{DType, quant, reference};
use crate::tensor::Tensor;

pub(super) fn cases() -> Vec<Case> {
    let mut cases = cast_cases();
    let reshapes: [(Level, &str, DType, Vec<usize>, Vec<usize>); 4] = [
        (Level::Quick, "odd", DType::F32, vec![6, 35], vec![2, 3, 35]),
        (Level::Quick, "odd", DType::F32, vec![6, 35], vec![210]),
        (Level::Quick, "odd", DType::F16, vec![4, 8], vec![8, 4]),
        (Level::Quick, "aligned", DType::Q4_0, vec![4, 64], vec![8, 32]),
    ];
    for (level, family, dtype, from, to) in reshapes {
        let detail = format!("to_{}", to.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"));
        let f = from.clone();
        cases.push(Case::new(level, "reshape", dtype.name(), family, detail, vec![from], move |ctx| {
            unary_layout(ctx, dtype, &f, |g, x| g.reshape(x, &to), |x| widen(x))
        }));
    }
    let permutes: [(Level, &str, DType, Vec<usize>, Vec<usize>); 5] = [
        (Level::Quick, "tiny", DType::F32, vec![1, 1], vec![1, 0]),
        (Level::Quick, "odd", DType::F32, vec![2, 3, 4, 5], vec![0, 2, 1, 3]),
        (Level::Quick, "odd", DType::F32, vec![2, 3, 4, 5], vec![3, 1, 0, 2]),
        (Level::Quick, "odd", DType::F16, vec![7, 37], vec![1, 0]),
        (Level::Full, "large", DType::F32, vec![1, 512, 32, 128], vec![0, 2, 1, 3]),
    ];
    for (level, family, dtype, shape, perm) in permutes {
        let detail = format!("perm_{}", perm.iter().map(|d| d.to_string()).collect::<String>());
        let s = shape.clone();
        cases.push(Case::new(level, "permute", dtype.name(), family, detail, vec![shape], move |ctx| {
            unary_layout(ctx, dtype, &s, |g, x| g.permute(x, &perm), |x| reference::permute(x, &s, &perm))
        }));
    }
    for (dtype, shape) in [(DType::F32, vec![7, 37]), (DType::F16, vec![7, 37]), (DType::Q4_K, vec![2, 512])] {
        let s = shape.clone();
        cases.push(Case::new(Level::Quick, "copy", dtype.name(), "odd", "", vec![shape], move |ctx| {
            unary_layout(ctx, dtype, &s, |g, x| g.copy(x), |x| widen(x))
        }));
    }
    cases
}

/// A data-movement op on a random `dtype` input: the output must equal `expected(decoded input)`.
fn unary_layout(
    ctx: &mut CaseCtx,
    dtype: DType,
    shape: &[usize],
    op: impl FnOnce(&mut crate::graph::Graph, crate::graph::ValueId) -> Result<crate::graph::ValueId>,
    expected: impl FnOnce(&[f32]) -> Vec<f64>,
) -> Result<Prepared> {
    let (x_t, x) = random_tensor(&mut ctx.rng, dtype, shape)?;
    let mut g = OneOp::new();
    let xi = g.input("x", x_t)?;
    let y = op(&mut g.graph, xi)?;
    g.finish(y, exact(expected(&x)))
}

/// Values spread over many binades (2⁻²⁰..2¹⁵, both signs) inside f16's finite range.
fn spread(rng: &mut CaseRng, len: usize) -> Vec<f32> {
    let scale = rng.uniform(len, -20.0, 14.0);
    rng.uniform(len, -1.0, 1.0).iter().zip(scale).map(|(v, e)| v.signum() * (1.0 + v.abs()) * e.exp2()).collect()
}

fn cast_cases() -> Vec<Case> {
    use Level::{Full, Quick};
    let mut pairs: Vec<(Level, DType, DType)> = vec![
        (Quick, DType::F32, DType::F16),
        (Quick, DType::F32, DType::BF16),
        (Quick, DType::F16, DType::F32),
        (Quick, DType::BF16, DType::F32),
        (Quick, DType::I32, DType::F32),
        (Full, DType::F16, DType::BF16),
    ];
    for q in DType::QUANTIZED {
        if quant::can_quantize(q) {
            pairs.push((Quick, DType::F32, q));
        }
        let quick = [DType::Q4_0, DType::Q6_K].contains(&q);
        pairs.push((if quick { Quick } else { Full }, q, DType::F32));
    }
    let mut cases = Vec::new();
    for (level, from, to) in pairs {
        let odd = if from.is_quantized() || to.is_quantized() { vec![7, 512] } else { vec![7, 37] };
        let mut families = vec![(level, "odd", odd, false)];
        if from == DType::F32 && to.is_float() {
            families.push((level, "aligned", vec![64, 4096], false));
            families.push((level, "nan", vec![3, 37], true));
        }
        for (level, family, shape, nan) in families {
            let s = shape.clone();
            cases.push(Case::new(level, "cast", format!("{from}->{to}"), family, "", vec![shape], move |ctx| {
                cast(ctx, from, to, &s, nan)
            }));
        }
    }
    cases
}

fn cast(ctx: &mut CaseCtx, from: DType, to: DType, shape: &[usize], nan: bool) -> Result<Prepared> {
    let len: usize = shape.iter().product();
    let cols = *shape.last().expect("rank >= 1");
    let (x_t, x) = match from {
        DType::I32 => {
            let ints: Vec<i32> = (0..len).map(|_| ctx.rng.index(0, 2_000_001) as i32 - 1_000_000).collect();
            (Tensor::from_i32(shape.to_vec(), &ints)?, ints.iter().map(|&i| i as f32).collect())
        }
        DType::F32 | DType::F16 | DType::BF16 => {
            let mut values =
                if to.is_quantized() { ctx.rng.uniform(len, -1.0, 1.0) } else { spread(&mut ctx.rng, len) };
            if nan {
                values[len / 2] = f32::NAN;
            }
            let t = Tensor::from_f32_as(from, shape.to_vec(), &values)?;
            let decoded = t.to_f32_vec()?;
            (t, decoded)
        }
        q => random_tensor(&mut ctx.rng, q, shape)?,
    };
    let tol =
        if to.is_quantized() { tolerance::quantized(to, &x, cols) } else { tolerance::rounding_to(to, &widen(&x)) };
    let mut g = OneOp::new();
    let xi = g.input("x", x_t)?;
    let y = g.graph.cast(xi, to)?;
    g.finish(y, expect(widen(&x), tol))
}
