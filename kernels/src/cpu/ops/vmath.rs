//! Vectorized transcendental functions on [`Vf32`], branch-free and NaN-propagating.
//!
//! Error bounds (measured against f64 by the tests below, on the x86 paths with FMA):
//! - [`exp`]: relative error ≤ 1.2e-7 where the result is a normal f32; `exp(x > 88.73) = +inf`,
//!   subnormal results lose relative precision and `exp(x < -104) = 0`.
//! - [`tanh`]: relative error ≤ 1.5e-7 (odd Taylor series below 0.625, `1 − 2/(e^{2|x|}+1)` above).
//! - [`erfc_pos_scaled`] (for GELU-erf): relative error ≤ 4.5e-7 (Chebyshev fit with fractional
//!   error < 1.2e-7, Numerical Recipes `erfcc`, plus f32 rounding).

use super::simd::Vf32;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n * LN2_HI` is exact for |n| < 2^15.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `exp(r) · 2^n` for the reduced argument `|r| ≲ ln2/2`: degree-7 Taylor polynomial (truncation
/// error < 8e-9 relative).
#[inline(always)]
fn exp_reduced<V: Vf32>(r: V, n: V) -> V {
    let mut p = V::splat(1.0 / 5040.0);
    p = p.mul_add(r, V::splat(1.0 / 720.0));
    p = p.mul_add(r, V::splat(1.0 / 120.0));
    p = p.mul_add(r, V::splat(1.0 / 24.0));
    p = p.mul_add(r, V::splat(1.0 / 6.0));
    p = p.mul_add(r, V::splat(0.5));
    p = p.mul_add(r, V::splat(1.0));
    p = p.mul_add(r, V::splat(1.0));
    p.mul_pow2(n)
}

/// `e^x`, lane-wise. See the module docs for the error bound.
#[inline(always)]
pub(crate) fn exp<V: Vf32>(x: V) -> V {
    let x = x.clamp(-104.0, 89.0);
    let n = (x * V::splat(LOG2_E)).round();
    let r = n.mul_add(V::splat(-LN2_HI), x);
    let r = n.mul_add(V::splat(-LN2_LO), r);
    exp_reduced(r, n)
}

/// `2^x` for `x ≤ 0` (softmax weights in base 2): relative error ≤ 2e-7 down to `2^-126`, below
/// which (and for `-inf`) it is exactly 0; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp2_nonpositive<V: Vf32>(x: V) -> V {
    const LN2: f32 = std::f32::consts::LN_2;
    let floor = V::splat(-126.0);
    let xc = x.max(floor);
    let n = xc.round();
    // |r| <= 1/2: degree-7 Taylor polynomial of e^(r ln 2) (truncation error < 5e-9 relative).
    let r = xc - n;
    let mut p = V::splat(LN2.powi(7) / 5040.0);
    p = p.mul_add(r, V::splat(LN2.powi(6) / 720.0));
    p = p.mul_add(r, V::splat(LN2.powi(5) / 120.0));
    p = p.mul_add(r, V::splat(LN2.powi(4) / 24.0));
    p = p.mul_add(r, V::splat(LN2.powi(3) / 6.0));
    p = p.mul_add(r, V::splat(LN2 * LN2 / 2.0));
    p = p.mul_add(r, V::splat(LN2));
    p = p.mul_add(r, V::splat(1.0));
    V::select_lt(x, floor, V::splat(0.0), p.mul_pow2_normal(n))
}

/// `e^(a + b)` for `|b| ≲ 2`, keeping the full precision of a large exact `a` (whose f32 sum with
/// `b` would round).
#[inline(always)]
fn exp_sum<V: Vf32>(a: V, b: V) -> V {
    let a = a.clamp(-106.0, 87.0);
    let n = ((a + b) * V::splat(LOG2_E)).round();
    let r = n.mul_add(V::splat(-LN2_HI), a);
    let r = n.mul_add(V::splat(-LN2_LO), r) + b;
    exp_reduced(r, n)
}

/// `tanh(x)`, lane-wise. See the module docs for the error bound.
#[inline(always)]
pub(crate) fn tanh<V: Vf32>(x: V) -> V {
    #[allow(clippy::excessive_precision)]
    // Taylor coefficients of tanh(x)/x in x², from 2^{2n}(2^{2n}-1)B_{2n}/(2n)!.
    const C: [f32; 10] = [
        -0.333_333_33,
        0.133_333_33,
        -0.053_968_254,
        0.021_869_489,
        -0.008_863_236,
        0.003_592_128,
        -0.001_455_834_4,
        5.900_274_4e-4,
        -2.391_291_1e-4,
        9.691_538e-5,
    ];
    let x2 = x * x;
    let mut q = V::splat(C[9]);
    for &c in C[..9].iter().rev() {
        q = q.mul_add(x2, V::splat(c));
    }
    let small = (x * x2).mul_add(q, x);
    let a = x.abs();
    let big = V::splat(1.0) - V::splat(2.0) / (exp(a + a) + V::splat(1.0));
    V::select_lt(a, V::splat(0.625), small, big.with_sign_of(x))
}

/// `erfc(|x| / √2)`, computed from `x` directly so that the exponent `x²/2` keeps full precision.
#[inline(always)]
pub(crate) fn erfc_pos_scaled<V: Vf32>(x: V) -> V {
    #[allow(clippy::excessive_precision)]
    const P: [f32; 10] = [
        -1.265_512_2,
        1.000_023_7,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_9,
        1.488_515_9,
        -0.822_152_2,
        0.170_872_77,
    ];
    let x = x.clamp(-15.0, 15.0);
    let z = x.abs() * V::splat(std::f32::consts::FRAC_1_SQRT_2);
    let t = V::splat(1.0) / z.mul_add(V::splat(0.5), V::splat(1.0));
    let mut p = V::splat(P[9]);
    for &c in P[..9].iter().rev() {
        p = p.mul_add(t, V::splat(c));
    }
    // x² = hi + lo exactly: Dekker's product (no fused multiply-add needed).
    let hi = x * x;
    let c = x * V::splat(4097.0);
    let xh = c - (c - x);
    let xl = x - xh;
    let lo = ((xh * xh - hi) + V::splat(2.0) * xh * xl) + xl * xl;
    let half = V::splat(0.5);
    t * exp_sum(V::splat(0.0) - hi * half, p - lo * half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::simd::{Portable, map_slice};

    /// Largest relative error of `f` over `xs` against `reference`, ignoring results below `tiny`.
    fn max_rel_err(xs: &[f32], got: &[f32], reference: &impl Fn(f64) -> f64, tiny: f64) -> (f64, f32) {
        let mut worst = (0.0, 0.0);
        for (&x, &g) in xs.iter().zip(got) {
            let r = reference(x as f64);
            if r.abs() < tiny {
                assert!((g as f64 - r).abs() <= tiny, "x={x}: got {g}, want {r}");
                continue;
            }
            let e = ((g as f64 - r) / r).abs();
            assert!(e.is_finite(), "x={x}: got {g}, want {r}");
            if e > worst.0 {
                worst = (e, x);
            }
        }
        worst
    }

    fn sweep(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| lo + (hi - lo) * (i as f32 + 0.37) / n as f32).collect()
    }

    #[derive(Copy, Clone)]
    enum Func {
        Exp,
        Exp2NonPositive,
        Tanh,
        Erfc,
    }

    #[inline(always)]
    fn apply<V: Vf32>(f: Func, xs: &[f32], out: &mut [f32]) {
        match f {
            Func::Exp => map_slice::<V>(
                xs,
                out,
                0.0,
                #[inline(always)]
                |x| exp(x),
            ),
            Func::Exp2NonPositive => map_slice::<V>(
                xs,
                out,
                0.0,
                #[inline(always)]
                |x| exp2_nonpositive(x),
            ),
            Func::Tanh => map_slice::<V>(
                xs,
                out,
                0.0,
                #[inline(always)]
                |x| tanh(x),
            ),
            Func::Erfc => map_slice::<V>(
                xs,
                out,
                0.0,
                #[inline(always)]
                |x| erfc_pos_scaled(x),
            ),
        }
    }

    /// Checks `f` on every instruction set this CPU has.
    fn check_all_isas(f: Func, xs: Vec<f32>, reference: impl Fn(f64) -> f64, tiny: f64, bound: f64) {
        let mut got = vec![f32::NAN; xs.len()];
        apply::<Portable>(f, &xs, &mut got);
        let (e, at) = max_rel_err(&xs, &got, &reference, tiny);
        // The portable path may not fuse multiply-adds: allow it a little more.
        assert!(e <= 2.0 * bound, "portable: rel err {e:e} at {at}");
        #[cfg(target_arch = "x86_64")]
        {
            use crate::cpu::ops::simd::{Avx2, Avx512, Isa, isa};
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")]
            fn with_avx512(f: Func, xs: &[f32], out: &mut [f32]) {
                apply::<Avx512>(f, xs, out)
            }
            #[target_feature(enable = "avx2,fma,f16c")]
            fn with_avx2(f: Func, xs: &[f32], out: &mut [f32]) {
                apply::<Avx2>(f, xs, out)
            }
            if isa() != Isa::Portable {
                got.fill(f32::NAN);
                // SAFETY: the CPU has the features.
                unsafe { with_avx2(f, &xs, &mut got) };
                let (e, at) = max_rel_err(&xs, &got, &reference, tiny);
                assert!(e <= bound, "avx2: rel err {e:e} at {at}");
            }
            if isa() == Isa::Avx512 {
                got.fill(f32::NAN);
                // SAFETY: the CPU has the features.
                unsafe { with_avx512(f, &xs, &mut got) };
                let (e, at) = max_rel_err(&xs, &got, &reference, tiny);
                assert!(e <= bound, "avx512: rel err {e:e} at {at}");
            }
        }
    }

    #[test]
    fn exp_accuracy() {
        check_all_isas(Func::Exp, sweep(-87.0, 88.7, 400_003), f64::exp, 0.0, 2e-7);
        check_all_isas(Func::Exp, sweep(-1.0, 1.0, 100_003), f64::exp, 0.0, 2e-7);
    }

    #[test]
    fn exp2_nonpositive_accuracy() {
        let tiny = 2f64.powi(-126);
        check_all_isas(Func::Exp2NonPositive, sweep(-125.9, 0.0, 400_003), f64::exp2, 0.0, 2e-7);
        check_all_isas(Func::Exp2NonPositive, sweep(-140.0, -126.0, 10_003), f64::exp2, tiny, 2e-7);
        let xs = [f32::NAN, f32::NEG_INFINITY, 0.0, -0.0, -126.5, -1000.0, -1.0, -0.5];
        let mut e = [0.0f32; 8];
        map_slice::<Portable>(&xs, &mut e, 0.0, exp2_nonpositive::<Portable>);
        assert!(e[0].is_nan());
        assert_eq!(&e[1..], &[0.0, 1.0, 1.0, 0.0, 0.0, 0.5, std::f32::consts::FRAC_1_SQRT_2]);
    }

    #[test]
    fn tanh_accuracy() {
        check_all_isas(Func::Tanh, sweep(-12.0, 12.0, 400_003), f64::tanh, 0.0, 2e-7);
        check_all_isas(Func::Tanh, sweep(-0.01, 0.01, 10_003), f64::tanh, 0.0, 2e-7);
    }

    #[test]
    fn erfc_accuracy() {
        let reference = |x: f64| libm::erfc(x.abs() / std::f64::consts::SQRT_2);
        check_all_isas(Func::Erfc, sweep(-13.0, 13.0, 400_003), reference, 1e-37, 5e-7);
    }

    #[test]
    fn special_values() {
        let xs = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 89.0, -110.0, 1e-30];
        let mut e = [0.0f32; 8];
        let mut t = [0.0f32; 8];
        map_slice::<Portable>(&xs, &mut e, 0.0, exp::<Portable>);
        map_slice::<Portable>(&xs, &mut t, 0.0, tanh::<Portable>);
        assert!(e[0].is_nan() && t[0].is_nan());
        assert_eq!(&e[1..], &[f32::INFINITY, 0.0, 1.0, 1.0, f32::INFINITY, 0.0, 1.0]);
        assert_eq!(&t[1..], &[1.0, -1.0, 0.0, 0.0, 1.0, -1.0, 1e-30]);
    }
}
