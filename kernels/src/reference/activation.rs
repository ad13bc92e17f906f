//! Reference element-wise activations.

use crate::GeluKind;

/// SiLU: `y = x · sigmoid(x) = x / (1 + exp(-x))`, in f64.
///
/// Follows the formula literally, so `silu(-inf)` is `NaN` (`-inf / inf`) and `silu(+inf) = +inf`.
pub fn silu(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| silu_f64(f64::from(v))).collect()
}

/// GELU, in f64: [`GeluKind::Tanh`] is `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))`,
/// [`GeluKind::Erf`] is `0.5 x (1 + erf(x / sqrt(2)))`.
pub fn gelu(x: &[f32], kind: GeluKind) -> Vec<f64> {
    let sqrt_2_over_pi = (2.0 / std::f64::consts::PI).sqrt();
    x.iter()
        .map(|&v| {
            let x = f64::from(v);
            match kind {
                GeluKind::Tanh => 0.5 * x * (1.0 + (sqrt_2_over_pi * (x + 0.044715 * x.powi(3))).tanh()),
                GeluKind::Erf => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            }
        })
        .collect()
}

/// SwiGLU: `y = silu(gate) · up`, element-wise, in f64.
///
/// Precondition (asserted): `gate.len() == up.len()`.
pub fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f64> {
    assert_eq!(gate.len(), up.len(), "reference::swiglu: gate and up differ in length");
    gate.iter().zip(up).map(|(&g, &u)| silu_f64(f64::from(g)) * f64::from(u)).collect()
}

fn silu_f64(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    #[test]
    fn silu_by_hand() {
        // sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
        let ln3 = 3.0f32.ln();
        let e = f64::from(ln3).exp(); // 3 up to ln 3's f32 rounding
        let y = silu(&[0.0, ln3, -ln3, 2.0]);
        let l = f64::from(ln3);
        let want = [0.0, l * e / (1.0 + e), -l / (1.0 + e), 2.0 / (1.0 + (-2f64).exp())];
        assert_close(&y, &want, 1e-15);
        assert_close(&y[1..3], &[0.75 * l, -0.25 * l], 1e-7);
    }

    #[test]
    fn silu_tails() {
        let y = silu(&[-1000.0, 1000.0, f32::INFINITY]);
        assert_close(&y, &[0.0, 1000.0, f64::INFINITY], 0.0);
    }

    #[test]
    fn gelu_by_hand() {
        // erf form: gelu(1) = 0.5 (1 + erf(1/sqrt 2)) = Φ(1) = 0.8413447460685429...
        let y = gelu(&[0.0, 1.0, -1.0], GeluKind::Erf);
        assert_close(&y, &[0.0, 0.841_344_746_068_542_9, -0.158_655_253_931_457_05], 1e-15);
        // tanh form at 1: inner = sqrt(2/pi) · 1.044715.
        let inner = (2.0 / std::f64::consts::PI).sqrt() * 1.044715;
        let y = gelu(&[0.0, 1.0], GeluKind::Tanh);
        assert_close(&y, &[0.0, 0.5 * (1.0 + inner.tanh())], 1e-15);
    }

    #[test]
    fn gelu_forms_agree_closely() {
        let x: Vec<f32> = random_vec(60, 200).iter().map(|v| v * 6.0).collect();
        // The tanh approximation is within ~1e-3 of the exact erf form.
        assert_close(&gelu(&x, GeluKind::Tanh), &gelu(&x, GeluKind::Erf), 1e-3);
    }

    #[test]
    fn swiglu_is_silu_times_up() {
        let gate = random_vec(61, 33);
        let up = random_vec(62, 33);
        let want: Vec<f64> = silu(&gate).iter().zip(&up).map(|(s, &u)| s * f64::from(u)).collect();
        assert_close(&swiglu(&gate, &up), &want, 0.0);
        assert_close(&swiglu(&[2.0], &[3.0]), &[6.0 / (1.0 + (-2f64).exp())], 1e-15);
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn swiglu_length_mismatch_panics() {
        swiglu(&[1.0; 3], &[1.0; 2]);
    }
}
