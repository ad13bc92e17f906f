//! Rotary position embedding.

use super::check_len;
use super::parallel::for_row_chunks;
use super::simd::{Vf32, dispatch};
use crate::{KernelError, RopeMode, RopeParams};

/// Rotary position embedding of `x [batch, n_head, seq, head_dim]` into `out` (same layout).
///
/// Row `s` sits at position `p = offset + s`; pair `i` rotates by `p · theta^(-2i/head_dim)`
/// (`out0 = x0·cos − x1·sin`, `out1 = x0·sin + x1·cos`), pairing `(2i, 2i+1)` for
/// [`RopeMode::Normal`] and `(i, i + head_dim/2)` for [`RopeMode::Neox`]. Angles, sines and
/// cosines are computed in f64 (once per position and pair, shared by all heads), so large
/// positions stay accurate; the result is within ~1 ulp of the f64 rotation of the f32 input.
/// `head_dim` must be even.
pub fn rope(
    x: &[f32],
    batch: usize,
    n_head: usize,
    seq: usize,
    head_dim: usize,
    params: &RopeParams,
    out: &mut [f32],
) -> Result<(), KernelError> {
    if !head_dim.is_multiple_of(2) {
        return Err(KernelError::LengthMismatch {
            what: "head_dim (must be even)",
            expected: head_dim + 1,
            got: head_dim,
            unit: "elements",
        });
    }
    let n = [batch, n_head, seq, head_dim].iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    check_len("x", n.unwrap_or(usize::MAX), x.len())?;
    check_len("out", x.len(), out.len())?;
    if params.offset.checked_add(seq).is_none() {
        return Err(KernelError::PositionOverflow { op: "rope", offset: params.offset, rows: seq });
    }
    if x.is_empty() {
        return Ok(());
    }
    let table = cos_sin_table(seq, head_dim, params);
    for_row_chunks(out, head_dim, 2, |row0, out| {
        rope_rows(&x[row0 * head_dim..row0 * head_dim + out.len()], row0, seq, params.mode, &table, out)
    });
    Ok(())
}

/// `[seq][head_dim/2][cos, sin]` for every position and pair, from f64.
fn cos_sin_table(seq: usize, head_dim: usize, params: &RopeParams) -> Vec<f32> {
    let half = head_dim / 2;
    let inv_freq: Vec<f64> = (0..half).map(|i| (params.theta as f64).powf(-2.0 * i as f64 / head_dim as f64)).collect();
    let mut table = vec![0.0f32; seq * head_dim];
    // A sine and cosine cost about 40 element-copies of work.
    for_row_chunks(&mut table, head_dim, 40, |row0, rows| {
        for (r, row) in rows.chunks_exact_mut(head_dim).enumerate() {
            let p = (params.offset + row0 + r) as f64;
            for (pair, &f) in row.chunks_exact_mut(2).zip(&inv_freq) {
                let (s, c) = (p * f).sin_cos();
                pair[0] = c as f32;
                pair[1] = s as f32;
            }
        }
    });
    table
}

dispatch!(fn rope_rows(
    x: &[f32],
    row0: usize,
    seq: usize,
    mode: RopeMode,
    table: &[f32],
    out: &mut [f32],
) => rope_rows_generic);

/// Plain loops that LLVM vectorizes under the dispatched target features.
#[inline(always)]
fn rope_rows_generic<V: Vf32>(x: &[f32], row0: usize, seq: usize, mode: RopeMode, table: &[f32], out: &mut [f32]) {
    let d = table.len() / seq;
    let half = d / 2;
    for (r, (xr, or)) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
        let s = (row0 + r) % seq;
        let cs = &table[s * d..(s + 1) * d];
        match mode {
            RopeMode::Normal => {
                for ((o, xp), t) in or.chunks_exact_mut(2).zip(xr.chunks_exact(2)).zip(cs.chunks_exact(2)) {
                    let (x0, x1, c, s) = (xp[0], xp[1], t[0], t[1]);
                    o[0] = x0 * c - x1 * s;
                    o[1] = x0 * s + x1 * c;
                }
            }
            RopeMode::Neox => {
                let (x0, x1) = xr.split_at(half);
                let (o0, o1) = or.split_at_mut(half);
                for i in 0..half {
                    let (c, s) = (cs[2 * i], cs[2 * i + 1]);
                    o0[i] = x0[i] * c - x1[i] * s;
                    o1[i] = x0[i] * s + x1[i] * c;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::test_util::{assert_close, poisoned, rng, uniform};

    fn reference(x: &[f32], seq: usize, d: usize, p: &RopeParams) -> Vec<f64> {
        let mut out = vec![0.0f64; x.len()];
        for (r, (xr, or)) in x.chunks(d).zip(out.chunks_mut(d)).enumerate() {
            let pos = (p.offset + r % seq) as f64;
            for i in 0..d / 2 {
                let a = pos * (p.theta as f64).powf(-2.0 * i as f64 / d as f64);
                let (j0, j1) = match p.mode {
                    RopeMode::Normal => (2 * i, 2 * i + 1),
                    RopeMode::Neox => (i, i + d / 2),
                };
                let (x0, x1) = (xr[j0] as f64, xr[j1] as f64);
                or[j0] = x0 * a.cos() - x1 * a.sin();
                or[j1] = x0 * a.sin() + x1 * a.cos();
            }
        }
        out
    }

    #[test]
    fn matches_f64() {
        let mut r = rng(9);
        for mode in [RopeMode::Normal, RopeMode::Neox] {
            for &(b, h, s, d, offset, theta) in &[
                (1, 1, 1, 2, 0, 10000.0),
                (2, 3, 5, 64, 7, 10000.0),
                (1, 4, 33, 128, 0, 500000.0),
                (1, 2, 3, 80, 100_000, 10000.0),
                (1, 32, 20, 128, 4000, 1e6),
            ] {
                let x = uniform(&mut r, b * h * s * d, -2.0, 2.0);
                let p = RopeParams { theta, mode, offset };
                let mut out = poisoned(x.len());
                rope(&x, b, h, s, d, &p, &mut out).unwrap();
                // Absolute error bound: the outputs are O(|x|) sums of two products.
                assert_close("rope", &out, &reference(&x, s, d, &p), 2e-7, 6e-7);
            }
        }
    }

    #[test]
    fn nan_stays_in_its_pair() {
        let mut x = uniform(&mut rng(10), 16, -1.0, 1.0);
        x[5] = f32::NAN;
        let p = RopeParams { theta: 10000.0, mode: RopeMode::Normal, offset: 3 };
        let mut out = poisoned(16);
        rope(&x, 1, 1, 1, 16, &p, &mut out).unwrap();
        assert!(out[4].is_nan() && out[5].is_nan());
        assert!(out.iter().enumerate().all(|(i, v)| i == 4 || i == 5 || v.is_finite()));
    }

    #[test]
    fn bad_arguments() {
        let x = [1.0f32; 12];
        let mut out = [0.0f32; 12];
        let p = RopeParams { theta: 10000.0, mode: RopeMode::Neox, offset: 0 };
        assert!(rope(&x[..9], 1, 1, 3, 3, &p, &mut out[..9]).is_err());
        assert!(rope(&x, 1, 2, 2, 4, &p, &mut out).is_err());
        assert!(rope(&x, 1, 1, 3, 4, &p, &mut out[..11]).is_err());
        assert!(rope(&x, usize::MAX, 2, 3, 4, &p, &mut out).is_err());
        assert!(rope(&x, 1, 3, 1, 4, &p, &mut out).is_ok());
    }
}
