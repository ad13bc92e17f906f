//! rms_norm and layer_norm cases: with and without weight (and bias), odd and LLM-sized rows,
//! offset data, NaN propagation.

use super::{OneOp, expect};
use crate::conform::data::uniform_f32;
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::reference;
use crate::tensor::Tensor;

/// Which optional inputs a case gives.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Params {
    None,
    Weight,
    WeightBias,
}

/// A norm case: shape, optional inputs, data offset, and a NaN planted at a flat index.
#[derive(Clone, Debug)]
struct Spec {
    shape: Vec<usize>,
    params: Params,
    offset: f32,
    nan_at: Option<usize>,
}

fn spec(shape: &[usize], params: Params) -> Spec {
    Spec { shape: shape.to_vec(), params, offset: 0.0, nan_at: None }
}

fn specs(layer: bool) -> Vec<(Level, &'static str, &'static str, Spec)> {
    let with_bias = if layer { Params::WeightBias } else { Params::Weight };
    let offset = Spec { offset: 3.0, ..spec(&[6, 4096], with_bias) };
    let nan = Spec { nan_at: Some(67 + 5), ..spec(&[3, 67], Params::Weight) };
    let mut v = vec![
        (Level::Quick, "tiny", "", spec(&[1, 3], Params::None)),
        (Level::Quick, "odd", "", spec(&[7, 67], Params::None)),
        (Level::Quick, "odd", "weight", spec(&[7, 67], Params::Weight)),
        (Level::Quick, "aligned", "weight", spec(&[4, 4096], Params::Weight)),
        (Level::Quick, "batched", "weight", spec(&[2, 3, 128], Params::Weight)),
        (Level::Quick, "odd", "offset", offset),
        (Level::Quick, "nan", "row_1", nan),
        (Level::Full, "large", "weight", spec(&[64, 8192], Params::Weight)),
    ];
    if layer {
        v.push((Level::Quick, "odd", "weight_bias", spec(&[7, 67], Params::WeightBias)));
    }
    v
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for layer in [false, true] {
        let op = if layer { "layer_norm" } else { "rms_norm" };
        for (level, family, detail, s) in specs(layer) {
            let d = *s.shape.last().expect("rank >= 1");
            let mut shapes = vec![s.shape.clone()];
            match s.params {
                Params::None => {}
                Params::Weight => shapes.push(vec![d]),
                Params::WeightBias => shapes.extend([vec![d], vec![d]]),
            }
            cases.push(Case::new(level, op, "f32", family, detail, shapes, move |ctx| build(ctx, layer, &s)));
        }
    }
    cases
}

fn build(ctx: &mut CaseCtx, layer: bool, s: &Spec) -> Result<Prepared> {
    let d = *s.shape.last().expect("rank >= 1");
    let mut x = ctx.rng.uniform(s.shape.iter().product(), -1.0, 1.0);
    x.iter_mut().for_each(|v| *v += s.offset);
    if let Some(i) = s.nan_at {
        x[i] = f32::NAN;
    }
    let eps = if layer { 1e-5 } else { 1e-6 };
    let weight = (s.params != Params::None).then(|| uniform_f32(&mut ctx.rng, &[d], -2.0, 2.0)).transpose()?;
    let bias = (s.params == Params::WeightBias).then(|| uniform_f32(&mut ctx.rng, &[d], -1.0, 1.0)).transpose()?;
    let (w, b) = (weight.as_ref().map(|w| w.1.as_slice()), bias.as_ref().map(|b| b.1.as_slice()));
    let (reference, tol) = if layer {
        let r = reference::layer_norm(&x, d, eps, w, b);
        let t = tolerance::layer_norm(&x, d, eps, w, b, &r, ctx.eps());
        (r, t)
    } else {
        let r = reference::rms_norm(&x, d, eps, w);
        let t = tolerance::rms_norm(d, &r, ctx.eps());
        (r, t)
    };
    let mut g = OneOp::new();
    let xi = g.input("x", Tensor::from_f32(s.shape.clone(), &x)?)?;
    let wi = weight.map(|(t, _)| g.weight("weight", t));
    let bi = bias.map(|(t, _)| g.weight("bias", t));
    let y = if layer { g.graph.layer_norm(xi, wi, bi, eps)? } else { g.graph.rms_norm(xi, wi, eps)? };
    g.finish(y, expect(reference, tol))
}
