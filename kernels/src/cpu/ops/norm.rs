//! RMS norm and layer norm over rows.

use super::parallel::for_row_chunks;
use super::simd::{Vf32, dispatch, load_partial, store_partial};
use super::{check_len, rows_of};
use crate::KernelError;

/// RMS norm over rows of length `d`: `out = x / sqrt(mean(x²) + eps) · weight`.
///
/// Sums of squares accumulate in f32 over 4 vector accumulators (relative error ≲ 1e-6 for
/// d ≤ 16384); the per-row scale is computed in f64.
pub fn rms_norm(x: &[f32], d: usize, eps: f32, weight: Option<&[f32]>, out: &mut [f32]) -> Result<(), KernelError> {
    rows_of("x", x.len(), d)?;
    check_len("out", x.len(), out.len())?;
    if let Some(w) = weight {
        check_len("weight", d, w.len())?;
    }
    for_row_chunks(out, d, 2, |row0, out| {
        norm_rows(&x[row0 * d..row0 * d + out.len()], d, eps, weight, None, false, out);
    });
    Ok(())
}

/// Layer norm over rows of length `d`: `out = (x − mean) / sqrt(var + eps) · weight + bias`
/// with the biased variance, computed in two passes (no cancellation).
pub fn layer_norm(
    x: &[f32],
    d: usize,
    eps: f32,
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<(), KernelError> {
    rows_of("x", x.len(), d)?;
    check_len("out", x.len(), out.len())?;
    if let Some(w) = weight {
        check_len("weight", d, w.len())?;
    }
    if let Some(b) = bias {
        check_len("bias", d, b.len())?;
    }
    for_row_chunks(out, d, 3, |row0, out| {
        norm_rows(&x[row0 * d..row0 * d + out.len()], d, eps, weight, bias, true, out);
    });
    Ok(())
}

dispatch!(fn norm_rows(
    x: &[f32],
    d: usize,
    eps: f32,
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    center: bool,
    out: &mut [f32],
) => norm_rows_generic);

#[inline(always)]
fn norm_rows_generic<V: Vf32>(
    x: &[f32],
    d: usize,
    eps: f32,
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    center: bool,
    out: &mut [f32],
) {
    for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean = if center { sum::<V>(xr, 0.0, false) as f64 / d as f64 } else { 0.0 };
        let ss = sum::<V>(xr, mean as f32, true) as f64;
        let scale = 1.0 / (ss / d as f64 + eps as f64).sqrt();
        scale_row::<V>(xr, mean as f32, scale as f32, weight, bias, or);
    }
}

/// `Σ (x − shift)` or `Σ (x − shift)²`, over four vector accumulators.
#[inline(always)]
fn sum<V: Vf32>(x: &[f32], shift: f32, square: bool) -> f32 {
    // (Helper functions, not closures: a closure would not inherit the target features.)
    #[inline(always)]
    fn term<V: Vf32>(v: V, shift: V, square: bool) -> V {
        let c = v - shift;
        if square { c * c } else { c }
    }
    let n = x.len();
    let l = V::LANES;
    let p = x.as_ptr();
    let sh = V::splat(shift);
    let mut acc = [V::splat(0.0); 4];
    let mut i = 0;
    while i + 4 * l <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4 * LANES <= n.
            *a = *a + term(unsafe { V::load(p.add(i + k * l)) }, sh, square);
        }
        i += 4 * l;
    }
    while i + l <= n {
        // SAFETY: i + LANES <= n.
        acc[0] = acc[0] + term(unsafe { V::load(p.add(i)) }, sh, square);
        i += l;
    }
    if i < n {
        // SAFETY: n - i values remain; padding with `shift` adds zero.
        acc[1] = acc[1] + term(unsafe { load_partial::<V>(p.add(i), n - i, shift) }, sh, square);
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])).reduce_sum()
}

/// Loads `len <= LANES` values at `p + i` (padding with zeros).
///
/// # Safety
/// `p + i .. p + i + len` must be readable.
#[inline(always)]
unsafe fn load_n<V: Vf32>(p: *const f32, i: usize, len: usize) -> V {
    // SAFETY: guaranteed by the caller.
    unsafe { if len == V::LANES { V::load(p.add(i)) } else { load_partial::<V>(p.add(i), len, 0.0) } }
}

/// `(x − mean) · scale · weight + bias` for `len` values from `i`.
///
/// # Safety
/// `i + len` must not exceed the length of `x` nor of `weight` and `bias`.
#[inline(always)]
unsafe fn scale_chunk<V: Vf32>(
    x: &[f32],
    (m, s): (V, V),
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    i: usize,
    len: usize,
) -> V {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let mut y = (load_n::<V>(x.as_ptr(), i, len) - m) * s;
        if let Some(w) = weight {
            y = y * load_n::<V>(w.as_ptr(), i, len);
        }
        if let Some(b) = bias {
            y = y + load_n::<V>(b.as_ptr(), i, len);
        }
        y
    }
}

/// `out = (x − mean) · scale · weight + bias`; `weight` and `bias` hold `x.len()` values.
#[inline(always)]
fn scale_row<V: Vf32>(x: &[f32], mean: f32, scale: f32, weight: Option<&[f32]>, bias: Option<&[f32]>, out: &mut [f32]) {
    let n = x.len().min(out.len());
    let ms = (V::splat(mean), V::splat(scale));
    let full = n - n % V::LANES;
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n.
        unsafe { scale_chunk(x, ms, weight, bias, i, V::LANES).store(out.as_mut_ptr().add(i)) };
        i += V::LANES;
    }
    if full < n {
        // SAFETY: n - full values remain.
        unsafe {
            let y = scale_chunk(x, ms, weight, bias, full, n - full);
            store_partial(y, out.as_mut_ptr().add(full), n - full)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::test_util::{assert_close, poisoned, rng, uniform};

    fn reference(x: &[f32], d: usize, eps: f32, w: Option<&[f32]>, b: Option<&[f32]>, center: bool) -> Vec<f64> {
        let mut out = Vec::new();
        for row in x.chunks(d) {
            let mean = if center { row.iter().map(|&v| v as f64).sum::<f64>() / d as f64 } else { 0.0 };
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            let s = 1.0 / (var + eps as f64).sqrt();
            for j in 0..d {
                let mut y = (row[j] as f64 - mean) * s;
                if let Some(w) = w {
                    y *= w[j] as f64;
                }
                if let Some(b) = b {
                    y += b[j] as f64;
                }
                out.push(y);
            }
        }
        out
    }

    #[test]
    fn matches_f64() {
        let mut r = rng(3);
        for &(rows, d) in &[(1, 1), (3, 7), (5, 64), (4, 129), (2, 4096), (600, 100)] {
            let x = uniform(&mut r, rows * d, -2.0, 3.0);
            let w = uniform(&mut r, d, -1.5, 1.5);
            let b = uniform(&mut r, d, -1.0, 1.0);
            let eps = 1e-5;
            let mut out = poisoned(x.len());
            rms_norm(&x, d, eps, Some(&w), &mut out).unwrap();
            assert_close("rms", &out, &reference(&x, d, eps, Some(&w), None, false), 2e-6, 1e-6);
            let mut out = poisoned(x.len());
            rms_norm(&x, d, eps, None, &mut out).unwrap();
            assert_close("rms", &out, &reference(&x, d, eps, None, None, false), 2e-6, 1e-6);
            let mut out = poisoned(x.len());
            layer_norm(&x, d, eps, Some(&w), Some(&b), &mut out).unwrap();
            let want = reference(&x, d, eps, Some(&w), Some(&b), true);
            assert_close("layer", &out, &want, 2e-6, 1e-6);
            let mut out = poisoned(x.len());
            layer_norm(&x, d, eps, None, None, &mut out).unwrap();
            let want = reference(&x, d, eps, None, None, true);
            assert_close("layer", &out, &want, 2e-6, 1e-6);
        }
    }

    #[test]
    fn nan_poisons_its_row_only() {
        let d = 37;
        let mut x = uniform(&mut rng(4), 3 * d, -1.0, 1.0);
        x[d + 5] = f32::NAN;
        let mut out = poisoned(x.len());
        rms_norm(&x, d, 1e-6, None, &mut out).unwrap();
        assert!(out[d..2 * d].iter().all(|v| v.is_nan()));
        assert!(out[..d].iter().chain(&out[2 * d..]).all(|v| v.is_finite()));
        let mut out = poisoned(x.len());
        layer_norm(&x, d, 1e-6, None, None, &mut out).unwrap();
        assert!(out[d..2 * d].iter().all(|v| v.is_nan()));
        assert!(out[..d].iter().chain(&out[2 * d..]).all(|v| v.is_finite()));
    }

    #[test]
    fn bad_lengths() {
        let x = [1.0f32; 12];
        let mut out = [0.0f32; 12];
        assert!(rms_norm(&x, 5, 1e-5, None, &mut out).is_err());
        assert!(rms_norm(&x, 4, 1e-5, Some(&[1.0; 3]), &mut out).is_err());
        assert!(rms_norm(&x, 4, 1e-5, None, &mut out[..8]).is_err());
        assert!(layer_norm(&x, 4, 1e-5, None, Some(&[1.0; 5]), &mut out).is_err());
        assert!(layer_norm(&x, 4, 1e-5, Some(&[1.0; 4]), Some(&[1.0; 4]), &mut out).is_ok());
    }
}
