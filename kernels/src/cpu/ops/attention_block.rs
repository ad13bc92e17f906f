//! One block of attention, flash-style: the query rows of one KV head (all query heads of its
//! group, a range of positions) against a range of keys, in tiles of [`TILE`] keys with an online
//! softmax. Each K/V tile is read once for all the block's rows.

use super::attention::KvCache;
use super::attention_micro::{KvRows, Rows, scores_block, update_block};
use super::attention_prefill::{PrefillScratch, run_transposed};
use super::simd::{Vf32, dispatch, load_partial, store_partial};
use super::vmath::{exp2_nonpositive, tanh};
use crate::{AttentionParams, AttentionShape};
use std::f32::consts::{LN_2, LOG2_E};

/// Keys per tile.
pub(crate) const TILE: usize = 64;
/// Rows of a block from which f16 tiles are widened into f32 copies once rather than per row.
const PACK_MIN_ROWS: usize = 8;
/// Rows of a block from which the transposed form (`attention_prefill`) is used.
const TRANSPOSED_MIN_ROWS: usize = 16;

/// What every block reads (lengths already checked).
pub(crate) struct Inputs<'a> {
    pub q: &'a [f32],
    pub k: KvCache<'a>,
    pub v: KvCache<'a>,
    pub mask: Option<&'a [f32]>,
    pub shape: AttentionShape,
    pub params: AttentionParams,
}

/// A block: batch `b`, KV head `kvh`, query positions `i0..i1`, keys `j0..j1`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Block {
    pub b: usize,
    pub kvh: usize,
    pub i0: usize,
    pub i1: usize,
    pub j0: usize,
    pub j1: usize,
}

/// The running softmax of a block's rows; row `r` is position `i0 + r / group` of query head
/// `kvh · group + r % group`.
pub(crate) struct RowState {
    /// Running maximum of the scores seen, in base 2 (`score · log2(e)`).
    pub m: Vec<f32>,
    /// Running sum of `2^(score₂ − m)`.
    pub l: Vec<f32>,
    /// Unnormalized outputs, rows `dp` apart.
    pub o: Vec<f32>,
    /// Row stride of `o`: the head dimension rounded up to 16.
    pub dp: usize,
}

impl RowState {
    /// The empty state of `rows` rows (nothing seen).
    pub(crate) fn new(rows: usize, head_dim: usize) -> RowState {
        let dp = head_dim.next_multiple_of(16);
        RowState { m: vec![f32::NEG_INFINITY; rows], l: vec![0.0; rows], o: vec![0.0; rows * dp], dp }
    }
}

/// Buffers reused from block to block on one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    q: Vec<f32>,
    s: Vec<f32>,
    alpha: Vec<f32>,
    k_tile: Vec<f32>,
    v_tile: Vec<f32>,
    prefill: PrefillScratch,
}

dispatch!(
    /// Folds keys `j0..j1` of block `blk` into `st`.
    pub(crate) fn run_block(inp: &Inputs, blk: &Block, st: &mut RowState, sc: &mut Scratch)
        => run_block_generic
);

#[inline(always)]
fn run_block_generic<V: Vf32>(inp: &Inputs, blk: &Block, st: &mut RowState, sc: &mut Scratch) {
    let sh = &inp.shape;
    let d = sh.head_dim;
    let base = (blk.b * sh.n_kv_head + blk.kvh) * sh.kv_capacity * d;
    let end = base + sh.kv_len * d;
    match (inp.k, inp.v) {
        (KvCache::F32(k), KvCache::F32(v)) => {
            let (k, v) = (Rows::new(&k[base..end], d), Rows::new(&v[base..end], d));
            run_block_rows::<V, _, _>(inp, blk, k, v, st, sc)
        }
        (KvCache::F16(k), KvCache::F16(v)) => {
            let (k, v) = (Rows::new(&k[base..end], d), Rows::new(&v[base..end], d));
            run_block_rows::<V, _, _>(inp, blk, k, v, st, sc)
        }
        (KvCache::F32(k), KvCache::F16(v)) => {
            let (k, v) = (Rows::new(&k[base..end], d), Rows::new(&v[base..end], d));
            run_block_rows::<V, _, _>(inp, blk, k, v, st, sc)
        }
        (KvCache::F16(k), KvCache::F32(v)) => {
            let (k, v) = (Rows::new(&k[base..end], d), Rows::new(&v[base..end], d));
            run_block_rows::<V, _, _>(inp, blk, k, v, st, sc)
        }
    }
}

/// The geometry of one block, shared by its tiles.
pub(crate) struct BlockGeom {
    pub group: usize,
    pub rows: usize,
    /// Column vectors per row (the padded head dimension when tiles are packed).
    pub chunks: usize,
    /// Row stride of the outputs and of packed tiles.
    pub dp: usize,
}

#[inline(always)]
fn run_block_rows<V: Vf32, K: KvRows, S: KvRows>(
    inp: &Inputs,
    blk: &Block,
    k: K,
    v: S,
    st: &mut RowState,
    sc: &mut Scratch,
) {
    let sh = &inp.shape;
    let d = sh.head_dim;
    let group = sh.n_head / sh.n_kv_head;
    let rows = (blk.i1 - blk.i0) * group;
    let dp = st.dp;
    // Head dimensions that are not whole vectors read K/V through padded f32 tile copies, and so
    // do f16 caches when enough rows (prefill) share each tile to repay widening it once.
    let pack = !d.is_multiple_of(V::LANES) || ((K::WIDENS || S::WIDENS) && rows >= PACK_MIN_ROWS);
    let geom = BlockGeom { group, rows, chunks: if pack { dp } else { d } / V::LANES, dp };
    // With a causal mask, keys past the last row's position are never seen.
    let j_end = if inp.params.causal { blk.j1.min(sh.q_position(blk.i1 - 1) + 1) } else { blk.j1 };
    if rows >= TRANSPOSED_MIN_ROWS {
        run_transposed::<V, K, S>(inp, blk, &geom, k, v, j_end, st, &mut sc.prefill, &mut sc.v_tile, pack);
        return;
    }

    // Query rows, pre-scaled, zero-padded to dp.
    sc.q.clear();
    sc.q.resize(rows * dp, 0.0);
    for r in 0..rows {
        let h = blk.kvh * group + r % group;
        let i = blk.i0 + r / group;
        let src = &inp.q[((blk.b * sh.n_head + h) * sh.seq_q + i) * d..][..d];
        // Scores are kept in base 2 (log2(e) folded into q): the softmax then needs 2^x only.
        for (dst, &x) in sc.q[r * dp..r * dp + d].iter_mut().zip(src) {
            *dst = x * (inp.params.scale * LOG2_E);
        }
    }
    sc.s.resize(rows * TILE, 0.0);
    sc.alpha.resize(rows, 1.0);

    let mut t0 = blk.j0;
    while t0 < j_end {
        let n = TILE.min(j_end - t0);
        if pack {
            pack_rows::<V, _>(k, t0, n, d, dp, &mut sc.k_tile);
            pack_rows::<V, _>(v, t0, n, d, dp, &mut sc.v_tile);
            let (kt, vt) = (Rows::new(&sc.k_tile[..], dp), Rows::new(&sc.v_tile[..], dp));
            let bufs = (&sc.q[..], &mut sc.s[..], &mut sc.alpha[..]);
            tile::<V, _, _>(inp, blk, &geom, kt, vt, 0, t0, n, bufs, st);
        } else {
            let bufs = (&sc.q[..], &mut sc.s[..], &mut sc.alpha[..]);
            tile::<V, _, _>(inp, blk, &geom, k, v, t0, t0, n, bufs, st);
        }
        t0 += n;
    }
}

/// Copies rows `row0..row0 + n` of `src` (width `d`) into `dst` as f32 rows `dp` apart. Columns
/// `d..dp` are zero: `dst` only ever holds rows of this width (one block's scratch), and they are
/// never written.
#[inline(always)]
pub(crate) fn pack_rows<V: Vf32, K: KvRows>(src: K, row0: usize, n: usize, d: usize, dp: usize, dst: &mut Vec<f32>) {
    debug_assert!(dst.len().is_multiple_of(dp));
    if dst.len() < n * dp {
        dst.resize(n * dp, 0.0);
    }
    for (r, row) in dst[..n * dp].chunks_exact_mut(dp).enumerate() {
        if d.is_multiple_of(V::LANES) {
            for c in (0..d).step_by(V::LANES) {
                // SAFETY: row `row0 + r` of `src` holds d >= c + LANES columns; `row` holds dp >= d.
                unsafe { src.load::<V>(row0 + r, c).store(row.as_mut_ptr().add(c)) };
            }
        } else {
            for (c, x) in row[..d].iter_mut().enumerate() {
                *x = src.get(row0 + r, c);
            }
        }
    }
}

/// One tile: keys `t0..t0 + n` of the cache, found at rows `key_base..` of `k` and `v`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<V: Vf32, K: KvRows, S: KvRows>(
    inp: &Inputs,
    blk: &Block,
    g: &BlockGeom,
    k: K,
    v: S,
    key_base: usize,
    t0: usize,
    n: usize,
    (q, s, alpha): (&[f32], &mut [f32], &mut [f32]),
    st: &mut RowState,
) {
    let sh = &inp.shape;
    let mut r0 = 0;
    while r0 < g.rows {
        // Register blocks of R rows × J keys (see scores_block for the registers they hold).
        r0 += match (V::REGS >= 32, g.rows - r0) {
            (true, 4..) => scores_rows::<V, K, S, 4, 4>(q, g, k, v, key_base, n, r0, s),
            (true, 2 | 3) => scores_rows::<V, K, S, 2, 8>(q, g, k, v, key_base, n, r0, s),
            (true, _) => scores_rows::<V, K, S, 1, 16>(q, g, k, v, key_base, n, r0, s),
            (false, 4..) => scores_rows::<V, K, S, 4, 3>(q, g, k, v, key_base, n, r0, s),
            (false, 2 | 3) => scores_rows::<V, K, S, 2, 4>(q, g, k, v, key_base, n, r0, s),
            (false, _) => scores_rows::<V, K, S, 1, 8>(q, g, k, v, key_base, n, r0, s),
        };
    }
    // Keys of this tile that row `r` may see (all `n` unless the causal diagonal crosses it);
    // never fewer for a later row.
    let allowed_keys = |r: usize| {
        let i = blk.i0 + r / g.group;
        if inp.params.causal { (sh.q_position(i) + 1).saturating_sub(t0).min(n) } else { n }
    };
    for r in 0..g.rows {
        let i = blk.i0 + r / g.group;
        let allowed = allowed_keys(r);
        let mask = inp.mask.map(|m| &m[i * sh.kv_len + t0..][..n]);
        let row = &mut s[r * TILE..r * TILE + n];
        alpha[r] = online_softmax_row::<V>(row, mask, allowed, inp.params.softcap, &mut st.m[r], &mut st.l[r]);
    }
    update_all_rows::<V, S>((s, TILE, 1), alpha, g, v, key_base, allowed_keys, &mut st.o);
}

/// `o = alpha · o + P · V` for every row of the block, P's row `r`, key `j` at `p.0[r · p.1 +
/// j · p.2]`, each row over the `allowed(r)` keys it may see (non-decreasing in `r`): a hidden
/// value (a future token's, possibly non-finite) must not reach a row even times p = 0. A block
/// of rows takes the keys its first row sees; its later rows add the rest of theirs one by one
/// (with alpha already applied).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn update_all_rows<V: Vf32, S: KvRows>(
    p: (&[f32], usize, usize),
    alpha: &[f32],
    g: &BlockGeom,
    v: S,
    key_base: usize,
    allowed: impl Fn(usize) -> usize,
    o: &mut [f32],
) {
    let mut r0 = 0;
    while r0 < g.rows {
        let common = allowed(r0);
        let a = &alpha[r0..];
        let rows = match (V::REGS >= 32, g.rows - r0) {
            (true, 4..) => update_rows::<V, S, 4, 4>(p, a, g, v, key_base, 0, common, r0, o),
            (false, 6..) => update_rows::<V, S, 6, 2>(p, a, g, v, key_base, 0, common, r0, o),
            (false, 4 | 5) => update_rows::<V, S, 4, 2>(p, a, g, v, key_base, 0, common, r0, o),
            (_, 2 | 3) => update_rows::<V, S, 2, 4>(p, a, g, v, key_base, 0, common, r0, o),
            (_, _) => update_rows::<V, S, 1, 4>(p, a, g, v, key_base, 0, common, r0, o),
        };
        for r in r0..r0 + rows {
            let seen = allowed(r);
            if seen > common {
                update_rows::<V, S, 1, 4>(p, &ONES, g, v, key_base, common, seen, r, o);
            }
        }
        r0 += rows;
    }
}

/// The rescaling factor of rows whose earlier output was already rescaled.
static ONES: [f32; 1] = [1.0];

/// Scores of rows `r0..r0 + R` against the tile's `n` keys into `s`; returns `R`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scores_rows<V: Vf32, K: KvRows, S: KvRows, const R: usize, const J: usize>(
    q: &[f32],
    g: &BlockGeom,
    k: K,
    v: S,
    key_base: usize,
    n: usize,
    r0: usize,
    s: &mut [f32],
) -> usize {
    assert!(q.len() >= (r0 + R) * g.dp && s.len() >= (r0 + R) * TILE);
    let mut out = [0.0f32; 16];
    let mut j0 = 0;
    while j0 < n {
        // A partial last group repeats the last key; its extra scores are dropped.
        let keys: [usize; J] = std::array::from_fn(|j| key_base + (j0 + j).min(n - 1));
        // SAFETY: q holds rows r0..r0 + R of dp >= chunks · LANES columns (asserted); the key rows
        // lie in the tile, whose rows hold chunks · LANES columns.
        unsafe { scores_block::<V, K, R, J>(q.as_ptr().add(r0 * g.dp), g.dp, k, keys, g.chunks, &mut out) };
        if r0 == 0 {
            // Along with the first rows' scores, fetch the next tile's keys and this tile's
            // values into L2: decoding streams the cache once, and this overlaps the memory
            // reads with the arithmetic (about 1.5x faster from DRAM).
            for &key in &keys {
                k.prefetch(key + TILE);
                v.prefetch(key);
            }
        }
        let valid = J.min(n - j0);
        for r in 0..R {
            let at = (r0 + r) * TILE + j0;
            if valid == J {
                // (A copy of constant length: no call to memcpy.)
                s[at..at + J].copy_from_slice(&out[r * J..r * J + J]);
            } else {
                s[at..at + valid].copy_from_slice(&out[r * J..r * J + valid]);
            }
        }
        j0 += J;
    }
    R
}

/// `o = alpha · o + Σ_{ka ≤ j < kb} p_j · v_j` for rows `r0..r0 + R`, in blocks of `C` column
/// vectors; returns `R`. `p` as for [`update_all_rows`]; `alpha` holds the factors of rows `r0..`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_rows<V: Vf32, S: KvRows, const R: usize, const C: usize>(
    (p, p_row, p_key): (&[f32], usize, usize),
    alpha: &[f32],
    g: &BlockGeom,
    v: S,
    key_base: usize,
    ka: usize,
    kb: usize,
    r0: usize,
    o: &mut [f32],
) -> usize {
    assert!(o.len() >= (r0 + R) * g.dp && alpha.len() >= R && ka <= kb);
    if kb > ka {
        assert!(p.len() > (r0 + R - 1) * p_row + (kb - 1) * p_key);
    }
    let (p, o) = (p.as_ptr().wrapping_add(r0 * p_row + ka * p_key), o[r0 * g.dp..].as_mut_ptr());
    let (key0, n) = (key_base + ka, kb - ka);
    let l = V::LANES;
    let mut c = 0;
    // SAFETY (both loops): rows r0..r0 + R of p (keys ka..kb, asserted when there are any) and
    // of o (dp columns) are in bounds, as are the tile's value rows.
    while c + C <= g.chunks {
        unsafe { update_block::<V, S, R, C>(p, p_row, p_key, alpha, v, key0, n, o, g.dp, c * l) };
        c += C;
    }
    while c < g.chunks {
        unsafe { update_block::<V, S, R, 1>(p, p_row, p_key, alpha, v, key0, n, o, g.dp, c * l) };
        c += 1;
    }
    R
}

/// Lane indices 0..16.
static IOTA: [f32; 16] = [0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.];

/// Turns one row of raw scores in base 2 (keys `0..allowed` causally visible) into probabilities relative
/// to the updated running maximum `m`, updates the running sum `l` and returns the factor
/// `exp(m_old − m_new)` by which the row's earlier output must be scaled.
#[inline(always)]
fn online_softmax_row<V: Vf32>(
    s: &mut [f32],
    mask: Option<&[f32]>,
    allowed: usize,
    softcap: Option<f32>,
    m: &mut f32,
    l: &mut f32,
) -> f32 {
    let n = s.len();
    let lanes = V::LANES;
    let sp = s.as_mut_ptr();
    // SAFETY: IOTA holds 16 >= LANES values.
    let iota = unsafe { V::load(IOTA.as_ptr()) };
    let neg_inf = V::splat(f32::NEG_INFINITY);
    let mut vmax = neg_inf;
    let mut c = 0;
    while c < n {
        let len = lanes.min(n - c);
        // SAFETY: c + len <= n for s (and the mask row, of length n).
        unsafe {
            let mut x = if len == lanes { V::load(sp.add(c)) } else { load_partial::<V>(sp.add(c), len, 0.0) };
            // In base 2: softcap · tanh(score / softcap) · log2(e), and + mask · log2(e).
            if let Some(cap) = softcap {
                x = V::splat(cap * LOG2_E) * tanh(x * V::splat(LN_2 / cap));
            }
            if let Some(mask) = mask {
                let mp = mask.as_ptr().add(c);
                let mv = if len == lanes { V::load(mp) } else { load_partial::<V>(mp, len, 0.0) };
                x = mv.mul_add(V::splat(LOG2_E), x);
            }
            // Causally hidden keys (and the lanes past n, since allowed <= n) become -inf.
            x = V::select_lt(iota, V::splat(allowed as f32 - c as f32), x, neg_inf);
            vmax = vmax.max(x);
            if len == lanes {
                x.store(sp.add(c))
            } else {
                store_partial(x, sp.add(c), len)
            };
        }
        c += lanes;
    }
    let tile_max = vmax.reduce_max();
    let m_new = if m.is_nan() || tile_max.is_nan() { f32::NAN } else { m.max(tile_max) };
    if m_new == f32::NEG_INFINITY {
        // Nothing visible yet: no probability mass, nothing to rescale.
        s.fill(0.0);
        return 1.0;
    }
    let alpha = (*m - m_new).exp2();
    let vm = V::splat(m_new);
    let mut sum = V::splat(0.0);
    let mut c = 0;
    while c < n {
        let len = lanes.min(n - c);
        // SAFETY: c + len <= n.
        unsafe {
            if len == lanes {
                let p = exp2_nonpositive(V::load(sp.add(c)) - vm);
                p.store(sp.add(c));
                sum = sum + p;
            } else {
                let p = exp2_nonpositive(load_partial::<V>(sp.add(c), len, f32::NEG_INFINITY) - vm);
                store_partial(p, sp.add(c), len);
                sum = sum + p;
            }
        }
        c += lanes;
    }
    *l = *l * alpha + sum.reduce_sum();
    *m = m_new;
    alpha
}
