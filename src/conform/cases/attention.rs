//! attention cases: prefill and decode, GQA/MQA, causal and not, additive masks with `-inf`,
//! softcap, f32 and f16 caches, capacity beyond `kv_len`, NaN propagation.
//!
//! Cache rows at and beyond `kv_len` are filled with NaN: a kernel must never read them.

use super::{OneOp, expect};
use crate::conform::suite::{Case, CaseCtx, Level, Prepared};
use crate::conform::tolerance;
use crate::error::Result;
use crate::kernels::{AttentionShape, DType, reference};
use crate::ops::{AttentionOp, Position};
use crate::tensor::Tensor;

/// Where a NaN is planted.
#[derive(Copy, Clone, Debug)]
enum Plant {
    None,
    /// In q: (head, row, column).
    Q(usize, usize, usize),
    /// In k: (kv head, key, column).
    K(usize, usize, usize),
    /// In v: (kv head, key, column).
    V(usize, usize, usize),
}

/// One attention configuration.
#[derive(Clone, Debug)]
struct Spec {
    batch: usize,
    n_head: usize,
    n_kv_head: usize,
    seq: usize,
    capacity: usize,
    head_dim: usize,
    op: AttentionOp,
    mask: bool,
    position: usize,
    plant: Plant,
}

impl Spec {
    fn new(n_head: usize, n_kv_head: usize, seq: usize, capacity: usize, head_dim: usize) -> Spec {
        Spec {
            batch: 1,
            n_head,
            n_kv_head,
            seq,
            capacity,
            head_dim,
            op: AttentionOp::default(),
            mask: false,
            position: 0,
            plant: Plant::None,
        }
    }

    fn past(mut self, past: Position) -> Spec {
        self.op.past = Some(past);
        self
    }

    fn kv_len(&self) -> usize {
        self.op.past.map_or(self.capacity, |p| p.resolve(self.position) + self.seq)
    }
}

fn specs() -> Vec<(Level, &'static str, &'static str, Spec)> {
    let non_causal = |mut s: Spec| {
        s.op.causal = false;
        s
    };
    let masked = |mut s: Spec| {
        s.mask = true;
        s
    };
    let softcapped = |mut s: Spec| {
        s.op.softcap = Some(5.0);
        s.op.scale = Some(1.0);
        s
    };
    let run_at = |mut s: Spec, position| {
        s.position = position;
        s.past(Position::Run)
    };
    let planted = |mut s: Spec, p| {
        s.plant = p;
        s
    };
    let mut batched = Spec::new(4, 2, 16, 16, 32);
    batched.batch = 2;
    use Level::{Full, Quick};
    vec![
        (Quick, "tiny", "", Spec::new(1, 1, 1, 1, 4)),
        (Quick, "odd", "prefill_causal", Spec::new(4, 4, 37, 37, 64)),
        (Quick, "aligned", "prefill_gqa", Spec::new(8, 2, 64, 64, 128)),
        (Quick, "odd", "head_dim_80_gqa", Spec::new(6, 3, 9, 9, 80)),
        (Quick, "batched", "non_causal", non_causal(batched)),
        (Quick, "odd", "non_causal_s_lt_kv", non_causal(Spec::new(4, 2, 8, 24, 64))),
        (Quick, "gemv", "decode_capacity", Spec::new(8, 2, 1, 128, 64).past(Position::Fixed(99))),
        (Quick, "gemv", "decode_run_position_mqa", run_at(Spec::new(4, 1, 1, 64, 64), 40)),
        (Quick, "odd", "chunked_prefill", Spec::new(4, 2, 5, 32, 64).past(Position::Fixed(20))),
        (Quick, "odd", "mask_non_causal", non_causal(masked(Spec::new(4, 4, 12, 12, 64)))),
        (Quick, "odd", "mask_causal_capacity", masked(Spec::new(4, 2, 4, 16, 64).past(Position::Fixed(10)))),
        (Quick, "odd", "softcap", softcapped(Spec::new(4, 2, 20, 20, 64))),
        (Quick, "nan", "q", planted(Spec::new(4, 2, 8, 8, 64), Plant::Q(1, 2, 5))),
        (Quick, "nan", "k_causal", planted(Spec::new(4, 2, 8, 8, 64), Plant::K(0, 3, 7))),
        (Quick, "nan", "v_causal", planted(Spec::new(4, 2, 8, 8, 64), Plant::V(1, 5, 0))),
        (Quick, "large", "decode_4k", Spec::new(32, 8, 1, 4096, 128).past(Position::Fixed(4000))),
        (Full, "large", "prefill_512", Spec::new(32, 8, 512, 512, 128)),
        (Full, "large", "mask_prefill_256", masked(Spec::new(16, 4, 256, 256, 128))),
    ]
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for kv in [DType::F32, DType::F16] {
        for (level, family, detail, spec) in specs() {
            let level = if family == "large" && kv == DType::F32 { Level::Full } else { level };
            let shapes = vec![
                vec![spec.batch, spec.n_head, spec.seq, spec.head_dim],
                vec![spec.batch, spec.n_kv_head, spec.capacity, spec.head_dim],
                vec![spec.batch, spec.n_kv_head, spec.capacity, spec.head_dim],
            ];
            let mut shapes = shapes;
            if spec.mask {
                shapes.push(vec![spec.seq, spec.kv_len()]);
            }
            cases.push(Case::new(level, "attention", format!("kv={kv}"), family, detail, shapes, move |ctx| {
                build(ctx, &spec, kv)
            }));
        }
    }
    cases
}

/// An additive mask `[seq, kv_len]`: values in [-2, 0), a fifth of them `-inf`, key 0 always kept
/// (every query row keeps at least one key, causal or not).
fn random_mask(ctx: &mut CaseCtx, seq: usize, kv_len: usize) -> Vec<f32> {
    let mut mask = ctx.rng.uniform(seq * kv_len, -2.0, 0.0);
    for (i, m) in mask.iter_mut().enumerate() {
        if i % kv_len != 0 && ctx.rng.index(0, 5) == 0 {
            *m = f32::NEG_INFINITY;
        }
    }
    mask
}

fn build(ctx: &mut CaseCtx, s: &Spec, kv: DType) -> Result<Prepared> {
    let d = s.head_dim;
    let kv_len = s.kv_len();
    let q_shape = [s.batch, s.n_head, s.seq, d];
    let kv_shape = [s.batch, s.n_kv_head, s.capacity, d];
    let mut q = ctx.rng.uniform(q_shape.iter().product(), -1.0, 1.0);
    let kv_values = |ctx: &mut CaseCtx| {
        let mut x = ctx.rng.uniform(kv_shape.iter().product(), -1.0, 1.0);
        for row in (0..s.batch * s.n_kv_head * s.capacity).filter(|r| r % s.capacity >= kv_len) {
            x[row * d..(row + 1) * d].fill(f32::NAN);
        }
        x
    };
    let (mut k, mut v) = (kv_values(ctx), kv_values(ctx));
    match s.plant {
        Plant::None => {}
        Plant::Q(h, i, c) => q[(h * s.seq + i) * d + c] = f32::NAN,
        Plant::K(g, j, c) => k[(g * s.capacity + j) * d + c] = f32::NAN,
        Plant::V(g, j, c) => v[(g * s.capacity + j) * d + c] = f32::NAN,
    }
    let k_t = Tensor::from_f32_as(kv, kv_shape.to_vec(), &k)?;
    let v_t = Tensor::from_f32_as(kv, kv_shape.to_vec(), &v)?;
    let (k, v) = (k_t.to_f32_vec()?, v_t.to_f32_vec()?);
    let mask = s.mask.then(|| random_mask(ctx, s.seq, kv_len));
    let shape = AttentionShape {
        batch: s.batch,
        n_head: s.n_head,
        n_kv_head: s.n_kv_head,
        seq_q: s.seq,
        kv_len,
        kv_capacity: s.capacity,
        head_dim: d,
    };
    let params = s.op.params(d);
    let reference = reference::attention(&q, &k, &v, mask.as_deref(), &shape, &params);
    let tol = tolerance::attention(&q, &k, &v, mask.as_deref(), &shape, &params, ctx.eps());
    let mut g = OneOp::new();
    let qi = g.input("q", Tensor::from_f32(q_shape.to_vec(), &q)?)?;
    let ki = g.input("k", k_t)?;
    let vi = g.input("v", v_t)?;
    let mi = match mask {
        Some(m) => Some(g.input("mask", Tensor::from_f32([s.seq, kv_len], &m)?)?),
        None => None,
    };
    let y = g.graph.attention(qi, ki, vi, mi, s.op.clone())?;
    g.finish_at(y, expect(reference, tol), s.position)
}
