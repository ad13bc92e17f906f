//! Helpers shared by the reference kernels' tests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `len` values uniform in `[-1, 1)` (never all zero), reproducible from `seed`.
pub fn random_vec(seed: u64, len: usize) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Asserts `got == want` or `|got - want| <= tol` element-wise (equal infinities pass); a `NaN` on
/// either side fails.
#[track_caller]
pub fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "length mismatch");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        // Written so that NaN (on either side) fails: every comparison with NaN is false.
        let ok = g == w || (g - w).abs() <= tol;
        assert!(ok, "element {i}: got {g}, want {w} (tol {tol})");
    }
}

/// The `f32` values widened to `f64`.
pub fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}
