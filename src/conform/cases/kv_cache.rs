//! kv_write cases: f32 and f16 caches, prefill and decode writes, fixed and run positions.
//!
//! The cache starts with random contents, so rows outside the write must come back unchanged.

use super::{OneOp, expect};
use crate::conform::data::{random_tensor, widen};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{DType, reference};
use crate::ops::Position;
use crate::tensor::Tensor;

/// (level, family, detail, cache `[b, h, capacity, d]`, rows written, position, run position)
type Spec = (Level, &'static str, &'static str, [usize; 4], usize, Position, usize);

fn specs() -> Vec<Spec> {
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", [1, 1, 1, 2], 1, Position::Fixed(0), 0),
        (Quick, "odd", "prefill", [1, 3, 16, 36], 7, Position::Fixed(0), 0),
        (Quick, "odd", "whole_capacity", [2, 2, 9, 8], 9, Position::Fixed(0), 0),
        (Quick, "gemv", "decode", [1, 4, 32, 64], 1, Position::Fixed(5), 0),
        (Quick, "gemv", "decode_run_position", [2, 2, 32, 64], 1, Position::Run, 31),
        (Quick, "odd", "chunk_run_position", [1, 2, 32, 64], 5, Position::Run, 12),
        (Full, "large", "decode_4k", [1, 8, 4096, 128], 1, Position::Fixed(4000), 0),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for dtype in [DType::F32, DType::F16] {
        for (level, family, detail, cache, seq, pos, position) in specs() {
            let new = vec![cache[0], cache[1], seq, cache[3]];
            cases.push(Case::new(
                level,
                "kv_write",
                format!("cache={dtype}"),
                family,
                detail,
                vec![cache.to_vec(), new],
                move |ctx| build(ctx, dtype, cache, seq, pos, position),
            ));
        }
    }
    cases
}

fn build(
    ctx: &mut CaseCtx,
    dtype: DType,
    cache: [usize; 4],
    seq: usize,
    pos: Position,
    position: usize,
) -> Result<Prepared> {
    let [b, h, cap, d] = cache;
    let at = pos.resolve(position);
    let (init_t, init) = random_tensor(&mut ctx.rng, dtype, &cache)?;
    let new = ctx.rng.uniform(b * h * seq * d, -1.0, 1.0);
    let reference = reference::kv_write(&init, &new, b, h, cap, d, seq, at);
    // Written rows may round to the cache dtype; the others must not change at all.
    let written = tolerance::rounding_to(dtype, &widen(&new));
    let mut tol = vec![0.0; reference.len()];
    for bh in 0..b * h {
        let dst = (bh * cap + at) * d;
        tol[dst..dst + seq * d].copy_from_slice(&written[bh * seq * d..(bh + 1) * seq * d]);
    }
    let mut g = OneOp::new();
    let ci = g.graph.state("cache", dtype, &cache)?;
    g.graph.set_state_init(ci, init_t)?;
    let ni = g.input("new", Tensor::from_f32([b, h, seq, d], &new)?)?;
    let y = g.graph.kv_write(ci, ni, pos)?;
    g.finish_at(y, expect(reference, tol), position)
}
