//! Element-wise activations: SiLU, GELU (tanh and erf forms), SwiGLU.

use super::check_len;
use super::parallel::for_elem_chunks;
use super::simd::{Vf32, dispatch, map_slice, zip_map_slice};
use super::vmath::{erfc_pos_scaled, exp};
use crate::{GeluKind, KernelError};

/// `silu(x) = x / (1 + e^-x)`, relative error ≤ ~2e-7 (`silu(-inf)` is NaN, as the formula).
pub fn silu(x: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    check_len("out", x.len(), out.len())?;
    for_elem_chunks(out, |i, out| silu_slice(&x[i..i + out.len()], out));
    Ok(())
}

/// GELU, either form of [`GeluKind`]. The tanh form is evaluated as `x / (1 + e^{-2u})` with
/// `u = sqrt(2/π)(x + 0.044715 x³)` (equal to `0.5 x (1 + tanh u)` without its cancellation),
/// relative error ≤ ~2e-7·(1 + |2u|) (the exponential amplifies the f32 rounding of `u`, which
/// matters only for negative x, where the result is small); the erf form as `0.5 x erfc(−x/√2)`, relative error
/// ≤ ~6e-7. `gelu(-inf)` is NaN, as the formulas.
pub fn gelu(x: &[f32], kind: GeluKind, out: &mut [f32]) -> Result<(), KernelError> {
    check_len("out", x.len(), out.len())?;
    for_elem_chunks(out, |i, out| gelu_slice(&x[i..i + out.len()], kind, out));
    Ok(())
}

/// `silu(gate) · up`, element-wise.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    check_len("up", gate.len(), up.len())?;
    check_len("out", gate.len(), out.len())?;
    for_elem_chunks(out, |i, out| {
        let n = out.len();
        swiglu_slice(&gate[i..i + n], &up[i..i + n], out)
    });
    Ok(())
}

#[inline(always)]
fn silu_v<V: Vf32>(x: V) -> V {
    x / (V::splat(1.0) + exp(V::splat(0.0) - x))
}

dispatch!(fn silu_slice(x: &[f32], out: &mut [f32]) => silu_generic);
dispatch!(fn gelu_slice(x: &[f32], kind: GeluKind, out: &mut [f32]) => gelu_generic);
dispatch!(fn swiglu_slice(gate: &[f32], up: &[f32], out: &mut [f32]) => swiglu_generic);

#[inline(always)]
fn silu_generic<V: Vf32>(x: &[f32], out: &mut [f32]) {
    map_slice::<V>(
        x,
        out,
        0.0,
        #[inline(always)]
        |x| silu_v(x),
    );
}

#[inline(always)]
fn swiglu_generic<V: Vf32>(gate: &[f32], up: &[f32], out: &mut [f32]) {
    zip_map_slice::<V>(
        gate,
        up,
        out,
        #[inline(always)]
        |g, u| silu_v(g) * u,
    );
}

#[inline(always)]
fn gelu_generic<V: Vf32>(x: &[f32], kind: GeluKind, out: &mut [f32]) {
    match kind {
        GeluKind::Tanh => map_slice::<V>(
            x,
            out,
            0.0,
            #[inline(always)]
            |x| {
                // -2u = x · (k0 + k1 x²)
                let k0 = V::splat(-2.0 * 0.797_884_6);
                let k1 = V::splat(-2.0 * 0.797_884_6 * 0.044_715);
                let m2u = x * (x * x).mul_add(k1, k0);
                x / (V::splat(1.0) + exp(m2u))
            },
        ),
        GeluKind::Erf => map_slice::<V>(
            x,
            out,
            0.0,
            #[inline(always)]
            |x| {
                let e = erfc_pos_scaled(x);
                // erfc(−x/√2) is erfc(|x|/√2) for x ≤ 0 and 2 − erfc(|x|/√2) for x > 0.
                let e = V::select_lt(V::splat(0.0), x, V::splat(2.0) - e, e);
                V::splat(0.5) * x * e
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::test_util::{assert_close, poisoned, rng, uniform};

    fn silu_ref(x: f64) -> f64 {
        x / (1.0 + (-x).exp())
    }
    /// `0.5 x (1 + tanh u)` written as `x / (1 + e^{-2u})`, which does not cancel in f64 either.
    fn gelu_tanh_ref(x: f64) -> f64 {
        let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
        x / (1.0 + (-2.0 * u).exp())
    }
    fn gelu_erf_ref(x: f64) -> f64 {
        0.5 * x * libm::erfc(-x / std::f64::consts::SQRT_2)
    }

    /// Random values in [-12, 12] plus a dense sweep, so both tails and the middle are covered.
    fn inputs(seed: u64) -> Vec<f32> {
        let mut x = uniform(&mut rng(seed), 100_003, -12.0, 12.0);
        x.extend((0..20_000).map(|i| -10.0 + i as f32 * 1e-3));
        x
    }

    fn map_ref(x: &[f32], f: fn(f64) -> f64) -> Vec<f64> {
        x.iter().map(|&v| f(v as f64)).collect()
    }

    #[test]
    fn silu_matches_f64() {
        let x = inputs(5);
        let mut out = poisoned(x.len());
        silu(&x, &mut out).unwrap();
        assert_close("silu", &out, &map_ref(&x, silu_ref), 3e-7, 1e-37);
    }

    #[test]
    fn gelu_matches_f64() {
        let x = inputs(6);
        let mut out = poisoned(x.len());
        gelu(&x, GeluKind::Tanh, &mut out).unwrap();
        // e^{-2u} amplifies the f32 rounding of u by |2u|: tolerance 2e-7 (1 + |2u|).
        for (&xi, &g) in x.iter().zip(&out) {
            let w = gelu_tanh_ref(xi as f64);
            let xd = xi as f64;
            let two_u = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
            let tol = 2e-7 * (1.0 + two_u.abs()) * w.abs() + 1e-37;
            assert!((g as f64 - w).abs() <= tol, "gelu tanh({xi}): got {g}, want {w}");
        }
        let mut out = poisoned(x.len());
        gelu(&x, GeluKind::Erf, &mut out).unwrap();
        assert_close("gelu erf", &out, &map_ref(&x, gelu_erf_ref), 6e-7, 1e-37);
    }

    #[test]
    fn swiglu_matches_f64() {
        let mut r = rng(7);
        let g = uniform(&mut r, 70_001, -15.0, 15.0);
        let u = uniform(&mut r, 70_001, -3.0, 3.0);
        let mut out = poisoned(g.len());
        swiglu(&g, &u, &mut out).unwrap();
        let want: Vec<f64> = g.iter().zip(&u).map(|(&g, &u)| silu_ref(g as f64) * u as f64).collect();
        assert_close("swiglu", &out, &want, 3e-7, 1e-37);
    }

    #[test]
    fn special_values() {
        let x = [f32::NAN, f32::INFINITY, 0.0, -0.0, 1e-20, -1e-20, 30.0, -200.0];
        let want = [f64::NAN, f64::INFINITY, 0.0, 0.0, 5e-21, -5e-21, 30.0, 0.0];
        for kind in [GeluKind::Tanh, GeluKind::Erf] {
            let mut out = poisoned(x.len());
            gelu(&x, kind, &mut out).unwrap();
            assert_close(&format!("{kind:?}"), &out, &want, 2e-7, 0.0);
        }
        let mut out = poisoned(x.len());
        silu(&x, &mut out).unwrap();
        assert_close("silu", &out, &want, 2e-7, 0.0);
    }

    #[test]
    fn bad_lengths() {
        let x = [1.0f32; 9];
        let mut out = [0.0f32; 8];
        assert!(silu(&x, &mut out).is_err());
        assert!(gelu(&x, GeluKind::Erf, &mut out).is_err());
        assert!(swiglu(&x[..8], &x, &mut out).is_err());
        assert!(swiglu(&x, &x, &mut out).is_err());
    }
}
