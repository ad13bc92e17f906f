//! The x86 implementations of [`Vf32`]: AVX-512 (16 lanes) and AVX2 with FMA and F16C (8 lanes).
//! Only valid inside code compiled with those features (see the safety invariant in `simd`).

use super::simd::{MaxNan, Vf32};
use half::f16;
use std::arch::x86_64::*;
use std::ops::{Add, Div, Mul, Sub};

/// 16 f32 lanes in a `zmm` register.
#[derive(Copy, Clone)]
pub(crate) struct Avx512(pub(crate) __m512);

/// 8 f32 lanes in a `ymm` register.
#[derive(Copy, Clone)]
pub(crate) struct Avx2(pub(crate) __m256);

macro_rules! binop {
    ($t:ident, $tr:ident, $f:ident, $intr:ident) => {
        impl $tr for $t {
            type Output = $t;
            #[inline(always)]
            fn $f(self, o: $t) -> $t {
                // SAFETY: see the module's safety invariant.
                unsafe { $t($intr(self.0, o.0)) }
            }
        }
    };
}
binop!(Avx512, Add, add, _mm512_add_ps);
binop!(Avx512, Sub, sub, _mm512_sub_ps);
binop!(Avx512, Mul, mul, _mm512_mul_ps);
binop!(Avx512, Div, div, _mm512_div_ps);
binop!(Avx2, Add, add, _mm256_add_ps);
binop!(Avx2, Sub, sub, _mm256_sub_ps);
binop!(Avx2, Mul, mul, _mm256_mul_ps);
binop!(Avx2, Div, div, _mm256_div_ps);

// SAFETY (all unsafe blocks below): see the module's safety invariant.
impl Vf32 for Avx512 {
    const LANES: usize = 16;
    const REGS: usize = 32;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        unsafe { Self(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { Self(_mm512_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn load_f16(p: *const f16) -> Self {
        unsafe { Self(_mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        unsafe { Self(_mm512_fmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        unsafe {
            // max_ps returns its second operand when either is NaN.
            let m = _mm512_max_ps(o.0, self.0);
            let o_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(o.0, o.0);
            Self(_mm512_mask_blend_ps(o_nan, m, o.0))
        }
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Self {
        unsafe {
            let x = _mm512_max_ps(_mm512_set1_ps(lo), self.0);
            Self(_mm512_min_ps(_mm512_set1_ps(hi), x))
        }
    }
    #[inline(always)]
    fn round(self) -> Self {
        unsafe { Self(_mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)) }
    }
    #[inline(always)]
    fn mul_pow2(self, n: Self) -> Self {
        unsafe { Self(_mm512_scalef_ps(self.0, n.0)) }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        unsafe { Self(_mm512_abs_ps(self.0)) }
    }
    #[inline(always)]
    fn with_sign_of(self, sign: Self) -> Self {
        unsafe {
            let s = _mm512_and_si512(_mm512_castps_si512(sign.0), _mm512_set1_epi32(i32::MIN));
            let m = _mm512_castps_si512(_mm512_abs_ps(self.0));
            Self(_mm512_castsi512_ps(_mm512_or_si512(m, s)))
        }
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, x: Self, y: Self) -> Self {
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a.0, b.0);
            Self(_mm512_mask_blend_ps(m, y.0, x.0))
        }
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe {
            let lo = _mm512_castps512_ps256(self.0);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0)));
            Avx2(_mm256_add_ps(lo, hi)).reduce_sum()
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        unsafe {
            let lo = _mm512_castps512_ps256(self.0);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0)));
            Avx2(lo).max(Avx2(hi)).reduce_max()
        }
    }
    #[inline(always)]
    fn reduce_sum16(v: &[Self; 16], out: &mut [f32; 16]) {
        unsafe {
            // Level 1: pairs of vectors, 256-bit halves added: quarters 0-1 of s[p] belong
            // to v[2p], quarters 2-3 to v[2p+1].
            let mut s = [_mm512_setzero_ps(); 8];
            for (p, x) in s.iter_mut().enumerate() {
                let (a, b) = (v[2 * p].0, v[2 * p + 1].0);
                *x = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xEE>(a, b));
            }
            // Level 2: quarter q of u[t] sums to the total of v[4t + q].
            let mut u = [_mm512_setzero_ps(); 4];
            for (t, x) in u.iter_mut().enumerate() {
                let (c, e) = (s[2 * t], s[2 * t + 1]);
                *x = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(c, e), _mm512_shuffle_f32x4::<0xDD>(c, e));
            }
            // Levels 3-4, within quarters: lane 4q + e of z is the total of v[4e + q].
            let w0 = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(u[0], u[1]), _mm512_shuffle_ps::<0xEE>(u[0], u[1]));
            let w1 = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(u[2], u[3]), _mm512_shuffle_ps::<0xEE>(u[2], u[3]));
            let z = _mm512_add_ps(_mm512_shuffle_ps::<0x88>(w0, w1), _mm512_shuffle_ps::<0xDD>(w0, w1));
            let idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            _mm512_storeu_ps(out.as_mut_ptr(), _mm512_permutexvar_ps(idx, z));
        }
    }
}

impl Avx2 {
    /// `2^n` for integral `n` in `[-126, 127]`.
    #[inline(always)]
    fn pow2i(n: __m256) -> __m256 {
        unsafe {
            let e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e))
        }
    }
}

impl Vf32 for Avx2 {
    const LANES: usize = 8;
    const REGS: usize = 16;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        unsafe { Self(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { Self(_mm256_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn load_f16(p: *const f16) -> Self {
        unsafe { Self(_mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        unsafe { Self(_mm256_fmadd_ps(self.0, a.0, b.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        unsafe {
            let m = _mm256_max_ps(o.0, self.0);
            let o_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(o.0, o.0);
            Self(_mm256_blendv_ps(m, o.0, o_nan))
        }
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Self {
        unsafe {
            let x = _mm256_max_ps(_mm256_set1_ps(lo), self.0);
            Self(_mm256_min_ps(_mm256_set1_ps(hi), x))
        }
    }
    #[inline(always)]
    fn round(self) -> Self {
        unsafe { Self(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)) }
    }
    #[inline(always)]
    fn mul_pow2(self, n: Self) -> Self {
        // Two steps so that 2^n1 and 2^n2 are both normal numbers.
        unsafe {
            let n1 = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
                n.0,
                _mm256_set1_ps(0.5),
            ));
            let n2 = _mm256_sub_ps(n.0, n1);
            Self(_mm256_mul_ps(_mm256_mul_ps(self.0, Self::pow2i(n1)), Self::pow2i(n2)))
        }
    }
    #[inline(always)]
    fn mul_pow2_normal(self, n: Self) -> Self {
        unsafe { Self(_mm256_mul_ps(self.0, Self::pow2i(n.0))) }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        unsafe {
            let m = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
            Self(_mm256_and_ps(self.0, m))
        }
    }
    #[inline(always)]
    fn with_sign_of(self, sign: Self) -> Self {
        unsafe {
            let sbit = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
            Self(_mm256_or_ps(self.abs().0, _mm256_and_ps(sign.0, sbit)))
        }
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, x: Self, y: Self) -> Self {
        unsafe { Self(_mm256_blendv_ps(y.0, x.0, _mm256_cmp_ps::<_CMP_LT_OQ>(a.0, b.0))) }
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(self.0), _mm256_extractf128_ps::<1>(self.0));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        let mut lanes = [0.0f32; 8];
        // SAFETY: lanes holds 8 values.
        unsafe { self.store(lanes.as_mut_ptr()) };
        lanes.iter().fold(f32::NEG_INFINITY, |m, &x| m.max_nan(x))
    }
    #[inline(always)]
    fn reduce_sum16(v: &[Self; 16], out: &mut [f32; 16]) {
        let (lo, hi) = out.split_at_mut(8);
        Self::reduce_sum8(v[..8].try_into().unwrap(), lo.try_into().unwrap());
        Self::reduce_sum8(v[8..].try_into().unwrap(), hi.try_into().unwrap());
    }
    #[inline(always)]
    fn reduce_sum8(half: &[Self; 8], o: &mut [f32; 8]) {
        unsafe {
            let h01 = _mm256_hadd_ps(half[0].0, half[1].0);
            let h23 = _mm256_hadd_ps(half[2].0, half[3].0);
            let h45 = _mm256_hadd_ps(half[4].0, half[5].0);
            let h67 = _mm256_hadd_ps(half[6].0, half[7].0);
            // Lane k of h0123: partial sum of half[k % 4], low or high 128 bits.
            let h0123 = _mm256_hadd_ps(h01, h23);
            let h4567 = _mm256_hadd_ps(h45, h67);
            let lo = _mm256_permute2f128_ps::<0x20>(h0123, h4567);
            let hi = _mm256_permute2f128_ps::<0x31>(h0123, h4567);
            _mm256_storeu_ps(o.as_mut_ptr(), _mm256_add_ps(lo, hi));
        }
    }
}
