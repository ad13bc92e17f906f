//! Reference softmax over rows.

/// Softmax over each row of length `d`: `y_j = exp(x_j - max) / Σ_l exp(x_l - max)`, in f64.
///
/// A row whose entries are all `-inf` yields zeros (the same convention as a fully masked
/// [`attention()`](super::attention()) row); a `NaN` or `+inf` entry makes its whole row `NaN`.
///
/// Preconditions (asserted): `d > 0`, `x.len()` a multiple of `d`.
pub fn softmax(x: &[f32], d: usize) -> Vec<f64> {
    assert!(d > 0, "reference::softmax: row length d must be positive");
    assert!(x.len().is_multiple_of(d), "reference::softmax: x.len() must be a multiple of d = {d}");
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    y.chunks_exact_mut(d).for_each(softmax_in_place);
    y
}

/// Replaces `row` by its softmax, with the conventions of [`softmax`].
pub(super) fn softmax_in_place(row: &mut [f64]) {
    if row.iter().any(|v| v.is_nan()) {
        row.fill(f64::NAN);
        return;
    }
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    // With a +inf entry, inf - inf = NaN below and the row turns NaN, as documented.
    for v in row.iter_mut() {
        *v = (*v - max).exp();
    }
    let sum: f64 = row.iter().sum();
    for v in row.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    #[test]
    fn zero_and_ln2_give_one_third_two_thirds() {
        let y = softmax(&[0.0, std::f32::consts::LN_2], 2);
        // exp(ln 2) = 2 up to the rounding of LN_2 to f32.
        let two = f64::from(std::f32::consts::LN_2).exp();
        assert_close(&y, &[1.0 / (1.0 + two), two / (1.0 + two)], 1e-15);
        assert_close(&y, &[1.0 / 3.0, 2.0 / 3.0], 1e-7);
    }

    #[test]
    fn rows_are_independent_and_sum_to_one() {
        let d = 37;
        let x: Vec<f32> = random_vec(5, 4 * d).iter().map(|v| v * 20.0).collect();
        let y = softmax(&x, d);
        for (r, row) in y.chunks_exact(d).enumerate() {
            let sum: f64 = row.iter().sum();
            assert_close(&[sum], &[1.0], 1e-14);
            assert!(row.iter().all(|&p| p > 0.0 && p < 1.0), "row {r} has a value outside (0, 1)");
            // The largest input gets the largest probability.
            let x_row = &x[r * d..(r + 1) * d];
            let argmax_x = (0..d).max_by(|&a, &b| x_row[a].total_cmp(&x_row[b])).unwrap();
            let argmax_y = (0..d).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_eq!(argmax_x, argmax_y);
        }
    }

    #[test]
    fn shift_invariant_and_large_inputs_do_not_overflow() {
        let y = softmax(&[1000.0, 1001.0, 0.0, 1.0], 2);
        assert_close(&y[..2], &y[2..], 1e-15);
    }

    #[test]
    fn minus_infinity_entries_get_zero() {
        let y = softmax(&[f32::NEG_INFINITY, 0.0, 0.0], 3);
        assert_close(&y, &[0.0, 0.5, 0.5], 0.0);
    }

    #[test]
    fn all_minus_infinity_row_is_zeros() {
        let y = softmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0, 0.0], 2);
        assert_close(&y, &[0.0, 0.0, 0.5, 0.5], 0.0);
    }

    #[test]
    fn nan_or_plus_infinity_makes_the_row_nan() {
        let y = softmax(&[f32::NAN, 1.0, f32::INFINITY, 1.0, 0.0, 0.0], 2);
        assert!(y[..4].iter().all(|v| v.is_nan()), "{y:?}");
        assert_close(&y[4..], &[0.5, 0.5], 0.0);
    }

    #[test]
    #[should_panic(expected = "multiple of d")]
    fn ragged_rows_panic() {
        softmax(&[1.0; 5], 2);
    }
}
