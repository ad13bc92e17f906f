//! Random op graphs for the `graph` fuzz target: a [`Program`] (made by `arbitrary` from the
//! fuzzer's bytes) declares a few inputs, weights and states with small shapes, applies a
//! sequence of ops to values picked from those declared so far, and is then built into a
//! [`Session`] on the CPU backend and run.
//!
//! Every builder call, the session's planning and the run may return an error; none may panic.
//! Shapes come from a table of small sizes plus a few huge ones (to reach the overflow checks);
//! a graph is only run when every value in it is small, so a run's memory stays bounded.

use arbitrary::Arbitrary;
use edgehal::{
    AttentionOp, Backend, CpuBackend, DType, GeluKind, Graph, Op, Policy, Position, RopeMode, RopeOp, RunOptions,
    Session, Tensor, TensorDesc, ValueId,
};
use std::sync::{Arc, OnceLock};

/// The most leaves (inputs, weights, states) a program declares.
const MAX_LEAVES: usize = 8;
/// The most op steps a program applies.
const MAX_STEPS: usize = 24;
/// The most elements a weight or run input may have, and any value of a graph that is run.
const MAX_ELEMS: usize = 1 << 14;

/// Dimension sizes a program picks from: small ones, block-sized ones, and huge ones.
const DIMS: [usize; 16] = [1, 2, 3, 4, 1, 2, 8, 0, 5, 16, 32, 64, 256, 1 << 20, usize::MAX / 2, usize::MAX];

/// A dtype, as an index into [`DType::ALL`].
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Dt(u8);

impl Dt {
    fn get(self) -> DType {
        DType::ALL[self.0 as usize % DType::ALL.len()]
    }
}

/// A shape of rank 0 to 4, each dimension an index into [`DIMS`].
#[derive(Arbitrary, Debug, Clone)]
pub struct Shape(Vec<u8>);

impl Shape {
    fn get(&self) -> Vec<usize> {
        self.0.iter().take(4).map(|&d| DIMS[d as usize % DIMS.len()]).collect()
    }
}

/// A position: a small constant, a huge constant, or the run's position.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Pos {
    /// `Position::Fixed(n)` with a small `n`.
    Fixed(u8),
    /// `Position::Fixed` near `usize::MAX`.
    Huge(u8),
    /// `Position::Run`.
    Run,
}

impl Pos {
    fn get(self) -> Position {
        match self {
            Pos::Fixed(p) => Position::Fixed(p as usize),
            Pos::Huge(p) => Position::Fixed(usize::MAX - p as usize),
            Pos::Run => Position::Run,
        }
    }
}

/// What a leaf value is.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum LeafKind {
    /// A run input, filled by the target before each run.
    Input,
    /// A constant weight.
    Weight,
    /// A zero-initialised state (a KV cache).
    State,
}

/// A value declared before any op.
#[derive(Arbitrary, Debug)]
pub struct Leaf {
    kind: LeafKind,
    dtype: Dt,
    shape: Shape,
    /// Seeds the values (see [`fill`]).
    seed: u8,
}

/// One builder call; `u8` operands pick a value declared earlier (or one past the last, an
/// invalid id the builder must refuse).
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Step {
    MatMul(u8, u8),
    Attention { q: u8, k: u8, v: u8, mask: Option<u8>, causal: bool, scale: Option<f32>, softcap: Option<f32> },
    AttentionPast { q: u8, k: u8, v: u8, past: Pos },
    Dequantize(u8, Dt),
    GetRows(u8, u8),
    RmsNorm(u8, Option<u8>, f32),
    LayerNorm(u8, Option<u8>, Option<u8>, f32),
    Rope(u8, f32, bool, Pos),
    Softmax(u8),
    Silu(u8),
    Gelu(u8, bool),
    SwiGlu(u8, u8),
    Add(u8, u8),
    Mul(u8, u8),
    Cast(u8, Dt),
    Reshape(u8, Shape),
    Permute(u8, Vec<u8>),
    Copy(u8),
    KvWrite(u8, u8, Pos),
    Output(u8),
    Rename(u8, u8),
}

/// A whole fuzz case: leaves, steps and how to run.
#[derive(Arbitrary, Debug)]
pub struct Program {
    leaves: Vec<Leaf>,
    steps: Vec<Step>,
    fuse: bool,
    /// The run position (tokens already cached); 255 means a huge one.
    position: u8,
}

/// Deterministic test values: small, varied, with a NaN or an infinity for some seeds.
fn fill(n: usize, seed: u8) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| ((i * 37 + seed as usize) % 17) as f32 / 4.0 - 2.0).collect();
    if let Some(first) = v.first_mut() {
        match seed % 32 {
            0 => *first = f32::NAN,
            1 => *first = f32::INFINITY,
            2 => *first = -f32::MAX,
            _ => {}
        }
    }
    v
}

/// A tensor of `desc` with [`fill`] values (i32 ids in -2..14), or `None` if it is too big or
/// the dtype cannot hold the shape.
fn make_tensor(desc: &TensorDesc, seed: u8) -> Option<Tensor> {
    let n = desc.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_ELEMS)?;
    if desc.dtype == DType::I32 {
        let ids: Vec<i32> = (0..n).map(|i| ((i * 5 + seed as usize) % 16) as i32 - 2).collect();
        return Tensor::from_i32(desc.shape.clone(), &ids).ok();
    }
    Tensor::from_f32_as(desc.dtype, desc.shape.clone(), &fill(n, seed)).ok()
}

/// The CPU backend, made once (one thread: the fuzzer runs one case at a time).
fn backend() -> Arc<dyn Backend> {
    static CPU: OnceLock<Arc<dyn Backend>> = OnceLock::new();
    CPU.get_or_init(|| Arc::new(CpuBackend::with_threads(1).expect("the CPU backend starts"))).clone()
}

impl Program {
    /// Builds the graph, and if it builds and is small, plans and runs it twice (at the
    /// program's position and the next one, so states carry over). Errors are ignored.
    pub fn run(&self) {
        let mut g = Graph::new();
        let mut inputs = Vec::new();
        for (i, leaf) in self.leaves.iter().take(MAX_LEAVES).enumerate() {
            let (dtype, shape) = (leaf.dtype.get(), leaf.shape.get());
            let name = format!("leaf{i}");
            match leaf.kind {
                LeafKind::Input => {
                    if g.input(&name, dtype, &shape).is_ok() {
                        inputs.push((name, make_tensor(&TensorDesc::new(dtype, shape), leaf.seed)));
                    }
                }
                LeafKind::Weight => {
                    if let Some(t) = make_tensor(&TensorDesc::new(dtype, shape), leaf.seed) {
                        g.weight(&name, t);
                    }
                }
                LeafKind::State => {
                    let _ = g.state(&name, dtype, &shape);
                }
            }
        }
        for step in self.steps.iter().take(MAX_STEPS) {
            let _ = apply(&mut g, step);
        }
        let small = g
            .values()
            .iter()
            .all(|v| v.desc.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_some_and(|n| n <= MAX_ELEMS));
        let Some(inputs) = inputs.into_iter().map(|(n, t)| Some((n, t?))).collect::<Option<Vec<_>>>() else {
            return;
        };
        if !small || g.outputs().is_empty() {
            return;
        }
        let policy = Policy { fuse: self.fuse, ..Policy::default() };
        let Ok(mut session) = Session::new(g, vec![backend()], policy) else { return };
        let named: Vec<(&str, &Tensor)> = inputs.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let position = if self.position == 255 { usize::MAX } else { self.position as usize };
        for p in [position, position.saturating_add(1)] {
            let _ = session.run_with(&named, &RunOptions { position: p, ..RunOptions::default() });
        }
    }
}

/// The value `r` picks: one of the `n` declared so far, or (for `r % (n + 1) == n`) an id the
/// graph does not have.
fn pick(g: &Graph, r: u8) -> ValueId {
    ValueId(r as usize % (g.values().len() + 1))
}

/// Applies one step through the public builder API.
fn apply(g: &mut Graph, step: &Step) -> edgehal::Result<ValueId> {
    let v = |g: &Graph, r: u8| pick(g, r);
    match *step {
        Step::MatMul(x, w) => g.matmul(v(g, x), v(g, w)),
        Step::Attention { q, k, v: vv, mask, causal, scale, softcap } => {
            let mask = mask.map(|m| v(g, m));
            let params = AttentionOp { scale, causal, softcap, past: None };
            g.attention(v(g, q), v(g, k), v(g, vv), mask, params)
        }
        Step::AttentionPast { q, k, v: vv, past } => {
            let params = AttentionOp { past: Some(past.get()), ..AttentionOp::default() };
            g.attention(v(g, q), v(g, k), v(g, vv), None, params)
        }
        Step::Dequantize(x, to) => g.dequantize(v(g, x), to.get()),
        Step::GetRows(t, ids) => g.get_rows(v(g, t), v(g, ids)),
        Step::RmsNorm(x, w, eps) => g.rms_norm(v(g, x), w.map(|w| v(g, w)), eps),
        Step::LayerNorm(x, w, b, eps) => g.layer_norm(v(g, x), w.map(|w| v(g, w)), b.map(|b| v(g, b)), eps),
        Step::Rope(x, theta, neox, offset) => {
            let mode = if neox { RopeMode::Neox } else { RopeMode::Normal };
            g.op(Op::Rope(RopeOp { theta, mode, offset: offset.get() }), &[v(g, x)])
        }
        Step::Softmax(x) => g.softmax(v(g, x)),
        Step::Silu(x) => g.silu(v(g, x)),
        Step::Gelu(x, erf) => g.gelu(v(g, x), if erf { GeluKind::Erf } else { GeluKind::Tanh }),
        Step::SwiGlu(a, b) => g.swiglu(v(g, a), v(g, b)),
        Step::Add(a, b) => g.add(v(g, a), v(g, b)),
        Step::Mul(a, b) => g.mul(v(g, a), v(g, b)),
        Step::Cast(x, to) => g.cast(v(g, x), to.get()),
        Step::Reshape(x, ref shape) => g.reshape(v(g, x), &shape.get()),
        Step::Permute(x, ref perm) => {
            let perm: Vec<usize> = perm.iter().take(5).map(|&p| p as usize % 6).collect();
            g.permute(v(g, x), &perm)
        }
        Step::Copy(x) => g.copy(v(g, x)),
        Step::KvWrite(c, n, pos) => g.kv_write(v(g, c), v(g, n), pos.get()),
        Step::Output(x) => {
            let x = v(g, x);
            g.output(x).map(|()| x)
        }
        Step::Rename(x, to) => {
            let x = v(g, x);
            g.name(x, &format!("leaf{}", to % 4))
        }
    }
}
