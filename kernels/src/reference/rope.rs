//! Reference rotary position embedding.

use crate::{RopeMode, RopeParams};

/// Rotary position embedding of `x [batch, n_head, seq, head_dim]`, in f64.
///
/// Row `s` sits at position `offset + s`. Pair `i` (of `head_dim / 2`) is `(x[2i], x[2i+1])` in
/// [`RopeMode::Normal`] and `(x[i], x[i + head_dim/2])` in [`RopeMode::Neox`]; it rotates by the
/// angle `(offset + s) · theta^(-2i / head_dim)`:
/// `out0 = x0 cos - x1 sin`, `out1 = x0 sin + x1 cos`.
///
/// Preconditions (asserted): `head_dim` even, `x.len() == batch * n_head * seq * head_dim`.
pub fn rope(x: &[f32], batch: usize, n_head: usize, seq: usize, head_dim: usize, params: &RopeParams) -> Vec<f64> {
    assert!(head_dim.is_multiple_of(2), "reference::rope: head_dim = {head_dim} must be even");
    assert_eq!(
        x.len(),
        batch * n_head * seq * head_dim,
        "reference::rope: x must hold batch * n_head * seq * head_dim elements"
    );
    let mut out = vec![f64::NAN; x.len()];
    if head_dim == 0 {
        return out;
    }
    let half = head_dim / 2;
    // Rows are in [batch, n_head, seq] order, so row r is at sequence index r % seq.
    for (r, (row, out_row)) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)).enumerate() {
        let position = (params.offset + r % seq) as f64;
        for i in 0..half {
            let (i0, i1) = match params.mode {
                RopeMode::Normal => (2 * i, 2 * i + 1),
                RopeMode::Neox => (i, i + half),
            };
            let freq = f64::from(params.theta).powf(-2.0 * i as f64 / head_dim as f64);
            let (sin, cos) = (position * freq).sin_cos();
            let (x0, x1) = (f64::from(row[i0]), f64::from(row[i1]));
            out_row[i0] = x0 * cos - x1 * sin;
            out_row[i1] = x0 * sin + x1 * cos;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    fn params(mode: RopeMode, offset: usize) -> RopeParams {
        RopeParams { theta: 10000.0, mode, offset }
    }

    #[test]
    fn position_zero_is_identity() {
        let x = random_vec(50, 2 * 8);
        for mode in [RopeMode::Normal, RopeMode::Neox] {
            let y = rope(&x, 1, 2, 1, 8, &params(mode, 0));
            assert_close(&y, &x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), 0.0);
        }
    }

    #[test]
    fn ninety_degrees_by_hand() {
        // head_dim 4 at position 1: pair 0 turns by theta^0 = 1 radian, pair 1 by theta^(-1/2).
        // theta = (2/pi)² makes pair 1 a quarter turn: (1, 0) -> (0, 1), up to theta's f32 rounding.
        let theta = (2.0 / std::f64::consts::PI).powi(2) as f32;
        let p = RopeParams { theta, mode: RopeMode::Normal, offset: 1 };
        let y = rope(&[1.0, 2.0, 1.0, 0.0], 1, 1, 1, 4, &p);
        let (s1, c1) = 1f64.sin_cos();
        assert_close(&y[..2], &[c1 - 2.0 * s1, s1 + 2.0 * c1], 1e-15);
        assert_close(&y[2..], &[0.0, 1.0], 1e-7);
    }

    #[test]
    fn modes_pair_different_elements() {
        // head_dim 4, one row at position 1. Normal pairs (0,1), (2,3); Neox pairs (0,2), (1,3).
        let x = [1.0, 2.0, 3.0, 4.0];
        let f1 = 10000f64.powf(-0.5); // pair 1's frequency at theta 10000
        let (s0, c0) = 1f64.sin_cos();
        let (s1, c1) = f1.sin_cos();
        let rot = |x0: f64, x1: f64, s: f64, c: f64| (x0 * c - x1 * s, x0 * s + x1 * c);

        let y = rope(&x, 1, 1, 1, 4, &params(RopeMode::Normal, 1));
        let (a, b) = rot(1.0, 2.0, s0, c0);
        let (c, d) = rot(3.0, 4.0, s1, c1);
        assert_close(&y, &[a, b, c, d], 1e-15);

        let y = rope(&x, 1, 1, 1, 4, &params(RopeMode::Neox, 1));
        let (a, c) = rot(1.0, 3.0, s0, c0);
        let (b, d) = rot(2.0, 4.0, s1, c1);
        assert_close(&y, &[a, b, c, d], 1e-15);
    }

    #[test]
    fn position_follows_offset_and_sequence_index_not_head() {
        // [batch 2, heads 3, seq 4]: row (b, h, s) must equal a single row rotated at offset + s.
        let (batch, heads, seq, d) = (2, 3, 4, 6);
        let x = random_vec(51, batch * heads * seq * d);
        for mode in [RopeMode::Normal, RopeMode::Neox] {
            let y = rope(&x, batch, heads, seq, d, &params(mode, 5));
            for r in 0..batch * heads * seq {
                let row = &x[r * d..(r + 1) * d];
                let want = rope(row, 1, 1, 1, d, &params(mode, 5 + r % seq));
                assert_close(&y[r * d..(r + 1) * d], &want, 0.0);
            }
        }
    }

    #[test]
    fn rotation_preserves_pair_norms() {
        let x = random_vec(52, 3 * 16);
        let y = rope(&x, 1, 1, 3, 16, &params(RopeMode::Neox, 7));
        for (xr, yr) in x.chunks_exact(16).zip(y.chunks_exact(16)) {
            for i in 0..8 {
                let nx = f64::from(xr[i]).hypot(f64::from(xr[i + 8]));
                assert_close(&[yr[i].hypot(yr[i + 8])], &[nx], 1e-15);
            }
        }
    }

    #[test]
    #[should_panic(expected = "must be even")]
    fn odd_head_dim_panics() {
        rope(&[1.0; 3], 1, 1, 1, 3, &params(RopeMode::Normal, 0));
    }
}
