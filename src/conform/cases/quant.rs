//! dequantize (to f32 and f16) and get_rows cases for every quant format and the plain floats.

use super::{OneOp, expect};
use crate::conform::data::{random_tensor, widen};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{DType, reference};
use crate::tensor::Tensor;

/// Sources: every quant format, f16 and bf16.
fn sources() -> Vec<DType> {
    let mut d: Vec<DType> = DType::QUANTIZED.to_vec();
    d.extend([DType::F16, DType::BF16]);
    d
}

/// A row length of `block`-wide blocks that is odd in blocks (floats: an odd number).
fn odd_cols(dtype: DType) -> usize {
    match dtype.block_len() {
        1 => 67,
        32 => 288,
        _ => 768,
    }
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for src in sources() {
        for to in [DType::F32, DType::F16] {
            let families = [
                (Level::Quick, "tiny", vec![1, src.block_len()]),
                (Level::Quick, "odd", vec![3, odd_cols(src)]),
                (Level::Full, "large", vec![1024, 4096]),
            ];
            for (level, family, shape) in families {
                let s = shape.clone();
                cases.push(Case::new(
                    level,
                    "dequantize",
                    format!("{src}->{to}"),
                    family,
                    "",
                    vec![shape],
                    move |ctx| dequantize(ctx, src, to, &s),
                ));
            }
        }
    }
    for table in [DType::F32, DType::F16, DType::BF16].into_iter().chain(DType::QUANTIZED) {
        let families = [(Level::Quick, "odd", [50, odd_cols(table)], 7), (Level::Full, "large", [4096, 4096], 64)];
        for (level, family, shape, n) in families {
            cases.push(Case::new(
                level,
                "get_rows",
                format!("{table}"),
                family,
                "",
                vec![shape.to_vec(), vec![n]],
                move |ctx| get_rows(ctx, table, shape, n),
            ));
        }
    }
    cases
}

fn dequantize(ctx: &mut CaseCtx, src: DType, to: DType, shape: &[usize]) -> Result<Prepared> {
    let (w_t, w) = random_tensor(&mut ctx.rng, src, shape)?;
    let tol = tolerance::decoded(src, &w, shape[1], to, ctx.eps());
    let mut g = OneOp::new();
    let wi = g.weight("w", w_t);
    let y = g.graph.dequantize(wi, to)?;
    g.finish(y, expect(widen(&w), tol))
}

fn get_rows(ctx: &mut CaseCtx, dtype: DType, shape: [usize; 2], n: usize) -> Result<Prepared> {
    let [rows, cols] = shape;
    let (table_t, table) = random_tensor(&mut ctx.rng, dtype, &shape)?;
    // The last and first rows, a repeated id, then random ones.
    let mut ids: Vec<i32> = vec![(rows - 1) as i32, 0, 3, 3];
    while ids.len() < n {
        ids.push(ctx.rng.index(0, rows) as i32);
    }
    ids.truncate(n);
    let reference = reference::get_rows(&table, cols, &ids);
    let picked: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
    let tol = tolerance::decoded(dtype, &picked, cols, DType::F32, ctx.eps());
    let mut g = OneOp::new();
    let ti = g.weight("table", table_t);
    let ii = g.input("ids", Tensor::from_i32([n], &ids)?)?;
    let y = g.graph.get_rows(ti, ii)?;
    g.finish(y, expect(reference, tol))
}
