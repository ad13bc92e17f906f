//! Row-wise softmax.

use super::parallel::for_row_chunks;
use super::simd::{Vf32, dispatch, load_partial, store_partial};
use super::vmath::exp;
use super::{check_len, rows_of};
use crate::KernelError;

/// Softmax over rows of length `d`: `out[j] = exp(x[j] - max) / Σ exp(x[k] - max)`.
///
/// A row of all `-inf` yields zeros; a NaN anywhere in a row makes the whole row NaN (as does
/// `+inf`, whose `inf - inf` is undefined). Relative error per element ≤ ~4e-7 (fast exp, one
/// rounded reciprocal) plus `|x − max|·6e-8` from rounding `x − max` to f32, as in any f32 softmax.
pub fn softmax(x: &[f32], d: usize, out: &mut [f32]) -> Result<(), KernelError> {
    rows_of("x", x.len(), d)?;
    check_len("out", x.len(), out.len())?;
    for_row_chunks(out, d, 3, |row0, out| {
        let x = &x[row0 * d..row0 * d + out.len()];
        softmax_rows(x, d, out);
    });
    Ok(())
}

dispatch!(fn softmax_rows(x: &[f32], d: usize, out: &mut [f32]) => softmax_rows_generic);

#[inline(always)]
fn softmax_rows_generic<V: Vf32>(x: &[f32], d: usize, out: &mut [f32]) {
    for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        softmax_row::<V>(xr, or);
    }
}

/// Softmax of one row (`x.len() == out.len()`).
#[inline(always)]
pub(crate) fn softmax_row<V: Vf32>(x: &[f32], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let full = n - n % V::LANES;
    let tail = n - full;
    let (xp, op) = (x.as_ptr(), out.as_mut_ptr());

    let mut m = V::splat(f32::NEG_INFINITY);
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n.
        m = m.max(unsafe { V::load(xp.add(i)) });
        i += V::LANES;
    }
    if tail > 0 {
        // SAFETY: `tail` values remain.
        m = m.max(unsafe { load_partial::<V>(xp.add(full), tail, f32::NEG_INFINITY) });
    }
    let max = m.reduce_max();
    if max == f32::NEG_INFINITY {
        // Every key is -inf: the limit of a softmax over masked-out entries is taken as zeros.
        out[..n].fill(0.0);
        return;
    }

    let vmax = V::splat(max);
    let mut sum = V::splat(0.0);
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n.
        unsafe {
            let e = exp(V::load(xp.add(i)) - vmax);
            e.store(op.add(i));
            sum = sum + e;
        }
        i += V::LANES;
    }
    if tail > 0 {
        // SAFETY: `tail` values remain; padding exp(-inf) = 0 adds nothing.
        unsafe {
            let e = exp(load_partial::<V>(xp.add(full), tail, f32::NEG_INFINITY) - vmax);
            store_partial(e, op.add(full), tail);
            sum = sum + e;
        }
    }
    let inv = V::splat(1.0 / sum.reduce_sum());
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n.
        unsafe { (V::load(op.add(i)) * inv).store(op.add(i)) };
        i += V::LANES;
    }
    if tail > 0 {
        // SAFETY: `tail` values remain.
        unsafe { store_partial(load_partial::<V>(op.add(full), tail, 0.0) * inv, op.add(full), tail) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::test_util::{assert_close, poisoned, rng, uniform};

    fn reference(x: &[f32], d: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for row in x.chunks(d) {
            let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
            if row.iter().any(|v| v.is_nan()) {
                out.extend(std::iter::repeat_n(f64::NAN, d));
            } else if max == f64::NEG_INFINITY {
                out.extend(std::iter::repeat_n(0.0, d));
            } else {
                let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
                let s: f64 = e.iter().sum();
                out.extend(e.iter().map(|v| v / s));
            }
        }
        out
    }

    #[test]
    fn matches_f64() {
        let mut r = rng(1);
        for &(rows, d) in &[(1, 1), (3, 7), (5, 16), (4, 33), (2, 1000), (300, 257)] {
            let x = uniform(&mut r, rows * d, -20.0, 20.0);
            let mut out = poisoned(x.len());
            softmax(&x, d, &mut out).unwrap();
            // |x - max| <= 40: the f32 subtraction adds up to 40 * 6e-8.
            assert_close("softmax", &out, &reference(&x, d), 3e-6, 1e-30);
        }
        let x = uniform(&mut r, 4000, -2.0, 2.0);
        let mut out = poisoned(x.len());
        softmax(&x, 100, &mut out).unwrap();
        assert_close("softmax", &out, &reference(&x, 100), 5e-7, 1e-30);
    }

    #[test]
    fn masked_and_nan_rows() {
        let d = 21;
        let mut r = rng(2);
        let mut x = uniform(&mut r, 4 * d, -3.0, 3.0);
        x[..d].fill(f32::NEG_INFINITY); // row 0: all masked
        x[d + 3] = f32::NAN; // row 1: NaN
        x[2 * d..3 * d].fill(f32::NEG_INFINITY); // row 2: NaN among -inf
        x[2 * d + 20] = f32::NAN;
        x[3 * d + 5] = f32::NEG_INFINITY; // row 3: one masked entry
        let mut out = poisoned(x.len());
        softmax(&x, d, &mut out).unwrap();
        assert_close("softmax", &out, &reference(&x, d), 5e-7, 1e-30);
        assert!(out[3 * d + 5] == 0.0);
    }

    #[test]
    fn bad_lengths() {
        let x = [1.0f32; 10];
        let mut out = [0.0f32; 10];
        assert!(softmax(&x, 3, &mut out).is_err());
        assert!(softmax(&x, 5, &mut out[..9]).is_err());
        assert!(softmax(&x, 0, &mut out).is_err());
        assert!(softmax(&[], 0, &mut []).is_ok());
    }
}
