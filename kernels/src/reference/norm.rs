//! Reference RMS and layer normalization over rows.

/// RMS normalization of each row of length `d`: `y = x / sqrt(mean(x²) + eps) * weight`, in f64.
///
/// `weight = None` means all ones.
///
/// Preconditions (asserted): `d > 0`, `x.len()` a multiple of `d`, a weight holds `d` values.
pub fn rms_norm(x: &[f32], d: usize, eps: f32, weight: Option<&[f32]>) -> Vec<f64> {
    check_rows("rms_norm", x, d, weight, None);
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let mean_square = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / d as f64;
        let inv_rms = 1.0 / (mean_square + f64::from(eps)).sqrt();
        for (c, &v) in row.iter().enumerate() {
            y.push(f64::from(v) * inv_rms * weight_at(weight, c));
        }
    }
    y
}

/// Layer normalization of each row of length `d`:
/// `y = (x - mean) / sqrt(var + eps) * weight + bias`, with the population variance
/// `var = mean((x - mean)²)`, in f64.
///
/// `weight = None` means all ones, `bias = None` all zeros.
///
/// Preconditions (asserted): `d > 0`, `x.len()` a multiple of `d`, a weight or bias holds `d`
/// values.
pub fn layer_norm(x: &[f32], d: usize, eps: f32, weight: Option<&[f32]>, bias: Option<&[f32]>) -> Vec<f64> {
    check_rows("layer_norm", x, d, weight, bias);
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / d as f64;
        let inv_std = 1.0 / (var + f64::from(eps)).sqrt();
        for (c, &v) in row.iter().enumerate() {
            let bias_c = bias.map_or(0.0, |b| f64::from(b[c]));
            y.push((f64::from(v) - mean) * inv_std * weight_at(weight, c) + bias_c);
        }
    }
    y
}

fn weight_at(weight: Option<&[f32]>, c: usize) -> f64 {
    weight.map_or(1.0, |w| f64::from(w[c]))
}

fn check_rows(op: &str, x: &[f32], d: usize, weight: Option<&[f32]>, bias: Option<&[f32]>) {
    assert!(d > 0, "reference::{op}: row length d must be positive");
    assert!(x.len().is_multiple_of(d), "reference::{op}: x.len() must be a multiple of d = {d}");
    if let Some(w) = weight {
        assert_eq!(w.len(), d, "reference::{op}: weight must hold d values");
    }
    if let Some(b) = bias {
        assert_eq!(b.len(), d, "reference::{op}: bias must hold d values");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    #[test]
    fn rms_norm_by_hand() {
        // Row [3, 4]: mean square 12.5; with eps 0.0 the divisor is sqrt(12.5).
        let r = 12.5f64.sqrt();
        assert_close(&rms_norm(&[3.0, 4.0], 2, 0.0, None), &[3.0 / r, 4.0 / r], 1e-15);
        // Weight scales per column; eps enters under the root.
        let y = rms_norm(&[3.0, 4.0], 2, 0.5, Some(&[2.0, -1.0]));
        assert_close(&y, &[6.0 / 13f64.sqrt(), -4.0 / 13f64.sqrt()], 1e-15);
    }

    #[test]
    fn rms_norm_unit_weight_gives_unit_mean_square() {
        let d = 64;
        let x = random_vec(40, 3 * d);
        for row in rms_norm(&x, d, 0.0, Some(&[1.0; 64])).chunks_exact(d) {
            let mean_square = row.iter().map(|v| v * v).sum::<f64>() / d as f64;
            assert_close(&[mean_square], &[1.0], 1e-13);
        }
    }

    #[test]
    fn layer_norm_by_hand() {
        // Row [1, 3]: mean 2, variance 1; eps 0.0 gives [-1, 1], then weight and bias.
        assert_close(&layer_norm(&[1.0, 3.0], 2, 0.0, None, None), &[-1.0, 1.0], 1e-15);
        let y = layer_norm(&[1.0, 3.0, 5.0, 5.0], 2, 3.0, Some(&[2.0, 3.0]), Some(&[0.5, -0.5]));
        // Row 0: var 1 + eps 3 = 4, so [-1/2, 1/2] -> [-1 + 0.5, 1.5 - 0.5]. Row 1 is constant: bias.
        assert_close(&y, &[-0.5, 1.0, 0.5, -0.5], 1e-15);
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance() {
        let d = 50;
        let x = random_vec(41, 4 * d);
        for row in layer_norm(&x, d, 0.0, None, None).chunks_exact(d) {
            let mean = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
            assert_close(&[mean, var], &[0.0, 1.0], 1e-13);
        }
    }

    #[test]
    #[should_panic(expected = "weight must hold d values")]
    fn short_weight_panics() {
        rms_norm(&[1.0; 4], 2, 1e-6, Some(&[1.0]));
    }
}
