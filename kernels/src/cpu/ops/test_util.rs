//! Helpers shared by the tests of the ops: seeded random data, poisoned outputs, comparisons
//! against f64 that NaN never passes.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A seeded rng.
pub(crate) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` uniform values in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// An output buffer filled with NaN, so that an element the kernel forgets fails the comparison.
pub(crate) fn poisoned(n: usize) -> Vec<f32> {
    vec![f32::NAN; n]
}

/// Asserts `|got - want| <= abs + rel * |want|` element-wise; a NaN `want` requires a NaN `got`
/// and a NaN `got` never passes otherwise. Infinite `want` requires the same `got`.
#[track_caller]
pub(crate) fn assert_close(what: &str, got: &[f32], want: &[f64], rel: f64, abs: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g as f64 == w
        } else {
            (g as f64 - w).abs() <= abs + rel * w.abs()
        };
        assert!(ok, "{what}[{i}]: got {g}, want {w}");
    }
}
