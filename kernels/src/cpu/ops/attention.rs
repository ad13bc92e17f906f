//! Scaled dot-product attention over a KV cache: validation, work split and the final combine.
//! The flash-style inner loop is in `attention_block`, its microkernels in `attention_micro`.

use super::attention_block::{Block, Inputs, RowState, Scratch, run_block};
use super::check_len;
use super::parallel::PAR_MIN_WORK;
use crate::{AttentionParams, AttentionShape, KernelError};
use half::f16;
use rayon::prelude::*;

/// A KV cache in f32 or f16, layout `[batch, n_kv_head, kv_capacity, head_dim]`.
#[derive(Copy, Clone, Debug)]
pub enum KvCache<'a> {
    /// f32 entries.
    F32(&'a [f32]),
    /// f16 entries (widened to f32 as they are read).
    F16(&'a [f16]),
}

impl KvCache<'_> {
    fn len(&self) -> usize {
        match self {
            KvCache::F32(x) => x.len(),
            KvCache::F16(x) => x.len(),
        }
    }
}

/// Query positions per block aim at this many rows (positions × heads of a KV group).
const BLOCK_ROWS: usize = 64;
/// Keys below which a KV split is not worth its combine.
const MIN_SPLIT_KEYS: usize = 256;
/// Tasks per pool thread below which keys are split into ranges: decode has few (batch × KV
/// heads), and with 4 per thread one late-waking worker left the other's last task unshared
/// (wall time 1.5x the CPU time per thread at 4096 keys).
const TASKS_PER_THREAD: usize = 8;

/// Attention as documented on [`AttentionShape`] and [`AttentionParams`]: for each query row,
/// `score_j = scale · q·k_j`, then `softcap · tanh(score / softcap)` if set, plus `mask[i, j]`
/// (`[seq_q, kv_len]`, broadcast over batch and heads) if given, with keys `j > kv_len − seq_q + i`
/// removed if causal; `out = Σ softmax(score)_j · v_j`. A row whose keys are all masked yields
/// zeros; NaN in a row's visible inputs makes its output NaN.
///
/// Flash-style: per KV head, the rows of all query heads sharing it (and a block of positions)
/// go through the keys in tiles with an online softmax, with register-blocked `Q·Kᵀ` and `P·V`
/// microkernels reading the cache directly (f16 widened on the fly). Work is spread over
/// (batch, KV head, position blocks) and, when that is too few tasks (decoding), over ranges of
/// keys whose partial results are merged by their log-sum-exp. Accuracy: like an f32 softmax
/// (relative error ~1e-6 for scores of magnitude ~10; f32 accumulation of the dot products).
///
/// Errors (`LengthMismatch`): `n_kv_head` zero or not dividing `n_head`, `kv_len > kv_capacity`,
/// `seq_q > kv_len`, or any buffer of the wrong length. Values of `k`/`v` past `kv_len` are never
/// read, and causally hidden values never reach a row (a NaN in a future token's `v` stays out).
pub fn attention(
    q: &[f32],
    k: KvCache,
    v: KvCache,
    mask: Option<&[f32]>,
    shape: &AttentionShape,
    params: &AttentionParams,
    out: &mut [f32],
) -> Result<(), KernelError> {
    let sh = *shape;
    check_shape(&sh)?;
    let q_elems = product(&[sh.batch, sh.n_head, sh.seq_q, sh.head_dim])?;
    let kv_elems = product(&[sh.batch, sh.n_kv_head, sh.kv_capacity, sh.head_dim])?;
    check_len("q", q_elems, q.len())?;
    check_len("k", kv_elems, k.len())?;
    check_len("v", kv_elems, v.len())?;
    check_len("out", q_elems, out.len())?;
    if let Some(m) = mask {
        check_len("mask", product(&[sh.seq_q, sh.kv_len])?, m.len())?;
    }
    if q_elems == 0 {
        return Ok(());
    }
    let inp = Inputs { q, k, v, mask, shape: sh, params: *params };
    let plan = Plan::new(&sh);
    let out = OutRows { ptr: out.as_mut_ptr(), len: out.len() };
    if plan.splits == 1 {
        plan.for_each(|blk, st, sc| {
            run_block(&inp, blk, st, sc);
            // SAFETY: every block writes the rows of its own (batch, heads, positions).
            unsafe { write_rows(&sh, blk, &st.m, &st.l, &st.o, st.dp, &out) };
        });
    } else {
        combine_splits(&inp, &plan, &out);
    }
    Ok(())
}

fn check_shape(sh: &AttentionShape) -> Result<(), KernelError> {
    let err = |what, expected, got| Err(KernelError::LengthMismatch { what, expected, got, unit: "elements" });
    if sh.n_kv_head == 0 || !sh.n_head.is_multiple_of(sh.n_kv_head) {
        return err("n_head (not a multiple of n_kv_head)", sh.n_head.next_multiple_of(sh.n_kv_head.max(1)), sh.n_head);
    }
    if sh.kv_len > sh.kv_capacity {
        return err("kv_len (exceeds kv_capacity)", sh.kv_capacity, sh.kv_len);
    }
    if sh.seq_q > sh.kv_len {
        return err("seq_q (exceeds kv_len)", sh.kv_len, sh.seq_q);
    }
    Ok(())
}

fn product(dims: &[usize]) -> Result<usize, KernelError> {
    dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or(KernelError::LengthMismatch {
        what: "attention shape (overflows)",
        expected: usize::MAX,
        got: usize::MAX,
        unit: "elements",
    })
}

/// How the work is cut: blocks of `block_q` positions, keys in `splits` ranges.
struct Plan {
    sh: AttentionShape,
    block_q: usize,
    q_blocks: usize,
    splits: usize,
    parallel: bool,
}

impl Plan {
    fn new(sh: &AttentionShape) -> Plan {
        let group = sh.n_head / sh.n_kv_head;
        let block_q = (BLOCK_ROWS / group).clamp(1, sh.seq_q);
        let q_blocks = sh.seq_q.div_ceil(block_q);
        let tasks = sh.batch * sh.n_kv_head * q_blocks;
        let threads = rayon::current_num_threads();
        let work = sh.batch * sh.n_head * sh.seq_q * sh.kv_len.max(1) * sh.head_dim;
        let parallel = threads > 1 && work >= PAR_MIN_WORK;
        let splits = if parallel && tasks < TASKS_PER_THREAD * threads {
            (TASKS_PER_THREAD * threads).div_ceil(tasks).min(sh.kv_len / MIN_SPLIT_KEYS).max(1)
        } else {
            1
        };
        Plan { sh: *sh, block_q, q_blocks, splits, parallel }
    }

    /// The block of task `t` (tasks ordered batch, KV head, position block, split).
    fn block(&self, t: usize) -> Block {
        let split = t % self.splits;
        let qb = t / self.splits % self.q_blocks;
        let kvh = t / (self.splits * self.q_blocks) % self.sh.n_kv_head;
        let b = t / (self.splits * self.q_blocks * self.sh.n_kv_head);
        let kv = self.sh.kv_len;
        Block {
            b,
            kvh,
            i0: qb * self.block_q,
            i1: ((qb + 1) * self.block_q).min(self.sh.seq_q),
            j0: kv * split / self.splits,
            j1: kv * (split + 1) / self.splits,
        }
    }

    fn tasks(&self) -> usize {
        self.sh.batch * self.sh.n_kv_head * self.q_blocks * self.splits
    }

    /// Runs `f` on a fresh state for every task, in parallel if worth it.
    fn for_each(&self, f: impl Fn(&Block, &mut RowState, &mut Scratch) + Sync) {
        let group = self.sh.n_head / self.sh.n_kv_head;
        let run = |sc: &mut Scratch, t: usize| {
            let blk = self.block(t);
            let mut st = RowState::new((blk.i1 - blk.i0) * group, self.sh.head_dim);
            f(&blk, &mut st, sc);
        };
        if self.parallel {
            (0..self.tasks()).into_par_iter().for_each_init(Scratch::default, run);
        } else {
            let mut sc = Scratch::default();
            (0..self.tasks()).for_each(|t| run(&mut sc, t));
        }
    }
}

/// The output buffer, shared by tasks that write disjoint rows.
struct OutRows {
    ptr: *mut f32,
    len: usize,
}
// SAFETY: tasks write disjoint rows only (see write_rows).
unsafe impl Sync for OutRows {}

/// Writes `o / l` (zeros where `l == 0`: every key masked) for the rows of `blk`.
///
/// # Safety
/// No other thread may access the same rows of `out` concurrently.
unsafe fn write_rows(sh: &AttentionShape, blk: &Block, m: &[f32], l: &[f32], o: &[f32], dp: usize, out: &OutRows) {
    let group = sh.n_head / sh.n_kv_head;
    let d = sh.head_dim;
    for r in 0..(blk.i1 - blk.i0) * group {
        let h = blk.kvh * group + r % group;
        let i = blk.i0 + r / group;
        let at = ((blk.b * sh.n_head + h) * sh.seq_q + i) * d;
        assert!(at + d <= out.len);
        // SAFETY: in bounds (asserted); exclusive by the caller's guarantee.
        let dst = unsafe { std::slice::from_raw_parts_mut(out.ptr.add(at), d) };
        let inv = if l[r] == 0.0 && !m[r].is_nan() { 0.0 } else { 1.0 / l[r] };
        for (y, &x) in dst.iter_mut().zip(&o[r * dp..r * dp + d]) {
            *y = x * inv;
        }
    }
}

/// Runs the key ranges of each block as separate tasks, then merges them by log-sum-exp.
fn combine_splits(inp: &Inputs, plan: &Plan, out: &OutRows) {
    let sh = &inp.shape;
    let group = sh.n_head / sh.n_kv_head;
    let states: Vec<RowState> = {
        let run = |sc: &mut Scratch, t: usize| {
            let blk = plan.block(t);
            let mut st = RowState::new((blk.i1 - blk.i0) * group, sh.head_dim);
            run_block(inp, &blk, &mut st, sc);
            st
        };
        (0..plan.tasks()).into_par_iter().map_init(Scratch::default, run).collect()
    };
    states.par_chunks(plan.splits).enumerate().for_each(|(t, parts)| {
        let mut blk = plan.block(t * plan.splits);
        blk.j1 = sh.kv_len;
        let rows = (blk.i1 - blk.i0) * group;
        let mut merged = RowState::new(rows, sh.head_dim);
        let dp = merged.dp;
        for r in 0..rows {
            let m = parts
                .iter()
                .fold(f32::NEG_INFINITY, |m, p| if m.is_nan() || p.m[r].is_nan() { f32::NAN } else { m.max(p.m[r]) });
            merged.m[r] = m;
            if m == f32::NEG_INFINITY {
                continue;
            }
            let o = &mut merged.o[r * dp..(r + 1) * dp];
            for p in parts {
                // The running maxima are in base 2 (see attention_block).
                let w = (p.m[r] - m).exp2();
                merged.l[r] += w * p.l[r];
                for (y, &x) in o.iter_mut().zip(&p.o[r * dp..(r + 1) * dp]) {
                    *y += w * x;
                }
            }
        }
        // SAFETY: each merged block writes the rows of its own (batch, heads, positions).
        unsafe { write_rows(sh, &blk, &merged.m, &merged.l, &merged.o, dp, out) };
    });
}
