//! Attention blocks with many query rows (prefill), in transposed form: scores `Sᵀ = K·Qᵀ` with
//! query rows across the vector lanes, so the `Q·Kᵀ` microkernel is a plain outer-product GEMM
//! (no horizontal sums) and the online softmax runs down the keys lane-wise (no reductions at
//! all). `P·V` is the same update as the row form's, reading `P` through its transposed strides.
//!
//! Why: with rows in lanes, a 6-key × 16-row register block does 12 FMAs per 2 loads and 6
//! broadcasts, and the softmax's per-row maxima, sums and rescaling factors are whole vectors.

use super::attention_block::{Block, BlockGeom, Inputs, RowState, TILE, pack_rows, update_all_rows};
use super::attention_micro::{KvRows, Rows};
use super::simd::Vf32;
use super::vmath::{exp2_nonpositive, tanh};
use std::f32::consts::{LN_2, LOG2_E};

/// Buffers of the transposed form, reused from block to block on one thread.
#[derive(Default)]
pub(crate) struct PrefillScratch {
    /// `Qᵀ` pre-scaled into base 2: column `c` of the rows at `c · rp`.
    qt: Vec<f32>,
    /// `Sᵀ`, then `Pᵀ`: key `j`'s row at `j · rp`.
    st: Vec<f32>,
    /// Per-row running maximum, sum and this tile's rescaling factor, padded to `rp`.
    m: Vec<f32>,
    l: Vec<f32>,
    alpha: Vec<f32>,
    /// Per-row count of visible keys in this tile (as f32, for lane-wise compares).
    allowed: Vec<f32>,
    /// The tile's keys as f32 rows `dp` apart, zero rows up to [`TILE`].
    k_tile: Vec<f32>,
}

/// Runs keys `j0..j_end` of block `blk` (its rows `r`: position `i0 + r / group`, head `kvh ·
/// group + r % group`) into `st`, tile by tile. `v` is read directly (`pack_v` false: f32, whole
/// vectors) or through `pack_v`'s f32 copies of each tile.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn run_transposed<V: Vf32, K: KvRows, S: KvRows>(
    inp: &Inputs,
    blk: &Block,
    g: &BlockGeom,
    k: K,
    v: S,
    j_end: usize,
    st: &mut RowState,
    sc: &mut PrefillScratch,
    v_tile: &mut Vec<f32>,
    pack_v: bool,
) {
    let sh = &inp.shape;
    let d = sh.head_dim;
    let l = V::LANES;
    // Row stride of Qᵀ and Sᵀ: a vector more than the rows, so that the columns of a block do not
    // all fall into the same few L1 sets (a power-of-two stride made the form 1.5x slower).
    let rp = g.rows.next_multiple_of(l) + l;
    // (Lanes past the rows hold whatever was there: they see no keys, so they are never used.)
    sc.qt.resize(d * rp, 0.0);
    for r in 0..g.rows {
        let h = blk.kvh * g.group + r % g.group;
        let i = blk.i0 + r / g.group;
        let src = &inp.q[((blk.b * sh.n_head + h) * sh.seq_q + i) * d..][..d];
        for (c, &x) in src.iter().enumerate() {
            sc.qt[c * rp + r] = x * (inp.params.scale * LOG2_E);
        }
    }
    sc.st.resize(TILE * rp, 0.0);
    for (buf, init) in [(&mut sc.m, f32::NEG_INFINITY), (&mut sc.l, 0.0), (&mut sc.alpha, 1.0), (&mut sc.allowed, 0.0)]
    {
        buf.clear();
        buf.resize(rp, init);
    }
    sc.m[..g.rows].copy_from_slice(&st.m);
    sc.l[..g.rows].copy_from_slice(&st.l);

    let mut t0 = blk.j0;
    while t0 < j_end {
        let n = TILE.min(j_end - t0);
        let allowed = |r: usize| {
            let i = blk.i0 + r / g.group;
            if inp.params.causal { (sh.q_position(i) + 1).saturating_sub(t0).min(n) } else { n }
        };
        for r in 0..g.rows {
            sc.allowed[r] = allowed(r) as f32;
        }
        pack_keys::<V, K>(k, t0, n, d, g.dp, &mut sc.k_tile);
        scores_transposed::<V>(&sc.qt, rp, &sc.k_tile, g.dp, d, &mut sc.st);
        softmax_transposed::<V>(inp, blk, g, rp, t0, n, sc);
        let p = (&sc.st[..], 1, rp);
        if pack_v {
            pack_rows::<V, _>(v, t0, n, d, g.dp, v_tile);
            update_all_rows::<V, _>(p, &sc.alpha, g, Rows::new(&v_tile[..], g.dp), 0, allowed, &mut st.o);
        } else {
            update_all_rows::<V, _>(p, &sc.alpha, g, v, t0, allowed, &mut st.o);
        }
        t0 += n;
    }
    st.m.copy_from_slice(&sc.m[..g.rows]);
    st.l.copy_from_slice(&sc.l[..g.rows]);
}

/// Copies keys `t0..t0 + n` of `k` into `dst` as f32 rows `dp` apart, grown to [`TILE`] rows (so
/// that a register block may read past `n` without a check; those scores are never used).
#[inline(always)]
fn pack_keys<V: Vf32, K: KvRows>(k: K, t0: usize, n: usize, d: usize, dp: usize, dst: &mut Vec<f32>) {
    pack_rows::<V, K>(k, t0, n, d, dp, dst);
    dst.resize(TILE * dp, 0.0);
}

/// `Sᵀ[j][r] = Σ_c K[j][c] · Qᵀ[c][r]` for all [`TILE`] keys of the packed tile and every row.
#[inline(always)]
fn scores_transposed<V: Vf32>(qt: &[f32], rp: usize, kt: &[f32], dp: usize, d: usize, s: &mut [f32]) {
    assert!(qt.len() >= d * rp && kt.len() >= TILE * dp && s.len() >= TILE * rp && d <= dp);
    let l = V::LANES;
    let mut r0 = 0;
    while r0 < rp {
        let wide = r0 + 2 * l <= rp;
        let mut j0 = 0;
        while j0 < TILE {
            // Register blocks of J keys × NV row vectors: J·NV accumulators, NV query vectors
            // and one broadcast key value live.
            // SAFETY: rows r0..r0 + NV·LANES <= rp of qt and s, keys j0..j0 + J <= TILE of kt
            // and s (TILE = 64 = 6·10 + 4 = 12·5 + 4; 4, 8 and 16 divide it), columns < d <= dp
            // (asserted above).
            j0 += unsafe {
                match (V::REGS >= 32, wide, TILE - j0) {
                    (true, true, 12..) => scores_block_t::<V, 12, 2>(qt, rp, kt, dp, d, j0, r0, s),
                    (true, true, _) => scores_block_t::<V, 4, 2>(qt, rp, kt, dp, d, j0, r0, s),
                    (true, false, _) => scores_block_t::<V, 16, 1>(qt, rp, kt, dp, d, j0, r0, s),
                    (false, true, 6..) => scores_block_t::<V, 6, 2>(qt, rp, kt, dp, d, j0, r0, s),
                    (false, true, _) => scores_block_t::<V, 4, 2>(qt, rp, kt, dp, d, j0, r0, s),
                    (false, false, _) => scores_block_t::<V, 8, 1>(qt, rp, kt, dp, d, j0, r0, s),
                }
            };
        }
        r0 += if wide { 2 * l } else { l };
    }
}

/// One register block of [`scores_transposed`]; returns `J`.
///
/// # Safety
/// `qt` must hold `d` rows of `r0 + NV · LANES` values `rp` apart, `kt` keys `j0..j0 + J` of `d`
/// values `dp` apart, and `s` keys `j0..j0 + J` of `r0 + NV · LANES` values `rp` apart.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn scores_block_t<V: Vf32, const J: usize, const NV: usize>(
    qt: &[f32],
    rp: usize,
    kt: &[f32],
    dp: usize,
    d: usize,
    j0: usize,
    r0: usize,
    s: &mut [f32],
) -> usize {
    let l = V::LANES;
    let (qp, kp, sp) = (qt.as_ptr().wrapping_add(r0), kt.as_ptr().wrapping_add(j0 * dp), s.as_mut_ptr());
    let mut acc = [[V::splat(0.0); NV]; J];
    // (Plain loops, not closures: a closure would not inherit the target features.)
    for c in 0..d {
        let mut qv = [V::splat(0.0); NV];
        for (x, lane0) in qv.iter_mut().zip((0..NV).map(|v| v * l)) {
            // SAFETY: the caller guarantees row c of qt up to r0 + NV · LANES.
            *x = unsafe { V::load(qp.add(c * rp + lane0)) };
        }
        for (j, acc_j) in acc.iter_mut().enumerate() {
            // SAFETY: the caller guarantees key j0 + j of kt, column c < d.
            let kv = V::splat(unsafe { *kp.add(j * dp + c) });
            for (a, q) in acc_j.iter_mut().zip(&qv) {
                *a = kv.mul_add(*q, *a);
            }
        }
    }
    for (j, acc_j) in acc.iter().enumerate() {
        for (v, a) in acc_j.iter().enumerate() {
            // SAFETY: the caller guarantees key j0 + j of s up to r0 + NV · LANES.
            unsafe { a.store(sp.add((j0 + j) * rp + r0 + v * l)) };
        }
    }
    J
}

/// The online softmax down the keys, row vectors at a time: raw base-2 scores `Sᵀ` become
/// probabilities relative to each row's updated running maximum (softcap, mask and the causal
/// limit applied), and `m`, `l`, `alpha` are updated as in the row form.
#[inline(always)]
fn softmax_transposed<V: Vf32>(
    inp: &Inputs,
    blk: &Block,
    g: &BlockGeom,
    rp: usize,
    t0: usize,
    n: usize,
    sc: &mut PrefillScratch,
) {
    let sh = &inp.shape;
    let l = V::LANES;
    assert!(sc.st.len() >= n * rp && sc.m.len() >= rp && sc.l.len() >= rp && sc.alpha.len() >= rp);
    let sp = sc.st.as_mut_ptr();
    let neg_inf = V::splat(f32::NEG_INFINITY);
    let mut mask_lanes = [0.0f32; 16];
    for r0 in (0..rp).step_by(l) {
        // SAFETY (all pointer accesses below): rows r0..r0 + LANES <= rp of the per-row buffers
        // and keys < n of st (asserted above).
        let allowed = unsafe { V::load(sc.allowed.as_ptr().add(r0)) };
        let mut vmax = neg_inf;
        for j in 0..n {
            let at = unsafe { sp.add(j * rp + r0) };
            let mut x = unsafe { V::load(at) };
            // In base 2: softcap · tanh(score / softcap) · log2(e), and + mask · log2(e).
            if let Some(cap) = inp.params.softcap {
                x = V::splat(cap * LOG2_E) * tanh(x * V::splat(LN_2 / cap));
            }
            if let Some(mask) = inp.mask {
                for (lane, m) in mask_lanes[..l].iter_mut().enumerate() {
                    let r = (r0 + lane).min(g.rows - 1);
                    *m = mask[(blk.i0 + r / g.group) * sh.kv_len + t0 + j];
                }
                x = unsafe { V::load(mask_lanes.as_ptr()) }.mul_add(V::splat(LOG2_E), x);
            }
            // Causally hidden keys become -inf.
            x = V::select_lt(V::splat(j as f32), allowed, x, neg_inf);
            vmax = vmax.max(x);
            unsafe { x.store(at) };
        }
        let m_old = unsafe { V::load(sc.m.as_ptr().add(r0)) };
        // NaN in either stays NaN (a NaN score makes its row NaN).
        let m_new = m_old.max(vmax);
        // Rows that have seen nothing yet (-inf) subtract 0: their weights are exactly 0.
        let m_use = V::select_lt(m_new, V::splat(f32::MIN), V::splat(0.0), m_new);
        let mut sum = V::splat(0.0);
        for j in 0..n {
            let at = unsafe { sp.add(j * rp + r0) };
            let p = exp2_nonpositive(unsafe { V::load(at) } - m_use);
            unsafe { p.store(at) };
            sum = sum + p;
        }
        let alpha = exp2_nonpositive(m_old - m_use);
        unsafe {
            let l_old = V::load(sc.l.as_ptr().add(r0));
            l_old.mul_add(alpha, sum).store(sc.l.as_mut_ptr().add(r0));
            m_new.store(sc.m.as_mut_ptr().add(r0));
            alpha.store(sc.alpha.as_mut_ptr().add(r0));
        }
    }
}
