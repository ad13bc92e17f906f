//! A small f32 vector abstraction so each kernel is written once and compiled per instruction set.
//!
//! [`Vf32`] is implemented by [`Avx512`] (16 lanes), [`Avx2`] (8 lanes, with FMA and F16C) and
//! [`Portable`] (8 lanes of plain Rust, which LLVM vectorizes for the baseline target, e.g. SSE2 or
//! NEON). Kernels are generic functions marked `#[inline(always)]`; [`dispatch!`] instantiates them
//! inside `#[target_feature]` wrappers and picks one at run time from [`isa()`].
//!
//! Safety invariant: the x86 vector types may only be created and used inside code compiled with
//! (and running on a CPU with) their features; that is what the `dispatch!` wrappers guarantee.
//! Their methods are safe to call under that invariant and are otherwise internal.

use half::f16;
use std::ops::{Add, Div, Mul, Sub};

/// The instruction set chosen at run time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512 F/BW/DQ/VL with FMA and F16C.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
    /// AVX2 with FMA and F16C.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    /// Plain Rust.
    Portable,
}

/// Tests only: 1 caps [`isa()`] at AVX2, 2 at the portable path (so that every path is tested on
/// an AVX-512 machine). Other tests running meanwhile merely take another correct path.
#[cfg(test)]
pub(crate) static TEST_ISA_CAP: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The best instruction set this CPU supports (feature detection is cached by std).
pub(crate) fn isa() -> Isa {
    #[cfg(test)]
    match (TEST_ISA_CAP.load(std::sync::atomic::Ordering::Relaxed), detected_isa()) {
        (2, _) => return Isa::Portable,
        (1, Isa::Avx512) => return Isa::Avx2,
        _ => {}
    }
    detected_isa()
}

fn detected_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Defines `$name`, which runs the generic `$generic::<V>` with the best [`Vf32`] for this CPU.
/// The generic function must be `#[inline(always)]` so it is compiled with the wrapper's features.
macro_rules! dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $generic:ident) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")]
            fn with_avx512($($arg: $ty),*) $(-> $ret)? {
                $generic::<$crate::cpu::ops::simd::Avx512>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma,f16c")]
            fn with_avx2($($arg: $ty),*) $(-> $ret)? {
                $generic::<$crate::cpu::ops::simd::Avx2>($($arg),*)
            }
            match $crate::cpu::ops::simd::isa() {
                // SAFETY: isa() checked that the CPU has these features.
                #[cfg(target_arch = "x86_64")]
                $crate::cpu::ops::simd::Isa::Avx512 => unsafe { with_avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::cpu::ops::simd::Isa::Avx2 => unsafe { with_avx2($($arg),*) },
                _ => $generic::<$crate::cpu::ops::simd::Portable>($($arg),*),
            }
        }
    };
}
pub(crate) use dispatch;

/// An f32 vector of `LANES` lanes. Arithmetic is IEEE (`+ - * /` round once; `mul_add` may or may
/// not fuse: it fuses on the x86 types).
pub(crate) trait Vf32:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// Lanes per vector.
    const LANES: usize;
    /// Vector registers: microkernels size their register blocks by it so nothing spills.
    /// (Portable claims 32, so that tests on any machine run the blockings AVX-512 uses.)
    const REGS: usize;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// Loads `LANES` values.
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` f32 (no alignment needed).
    unsafe fn load(p: *const f32) -> Self;
    /// Loads `LANES` f16 values, widened.
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` f16.
    unsafe fn load_f16(p: *const f16) -> Self;
    /// Stores `LANES` values.
    ///
    /// # Safety
    /// `p` must be valid for writing `LANES` f32.
    unsafe fn store(self, p: *mut f32);
    /// `self * a + b`.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Lane-wise maximum; NaN in either operand gives NaN.
    fn max(self, o: Self) -> Self;
    /// Clamps to `[lo, hi]`, keeping NaN lanes NaN.
    fn clamp(self, lo: f32, hi: f32) -> Self;
    /// Rounds to the nearest integer (ties to even).
    fn round(self) -> Self;
    /// `self * 2^n` for `n` integral in `[-150, 130]` (exact unless the result is subnormal or
    /// overflows, which rounds once as IEEE multiplication does).
    fn mul_pow2(self, n: Self) -> Self;
    /// `self * 2^n` for `n` integral in `[-126, 127]` and a result that stays normal (one step
    /// cheaper than [`Vf32::mul_pow2`] where the ISA has no scaling instruction).
    #[inline(always)]
    fn mul_pow2_normal(self, n: Self) -> Self {
        self.mul_pow2(n)
    }
    /// Absolute value.
    fn abs(self) -> Self;
    /// `|self|` with the sign bit of `sign`.
    fn with_sign_of(self, sign: Self) -> Self;
    /// Lane-wise `if a < b { x } else { y }` (false for NaN).
    fn select_lt(a: Self, b: Self, x: Self, y: Self) -> Self;
    /// Sum of the lanes.
    fn reduce_sum(self) -> f32;
    /// Maximum of the lanes; NaN if any lane is NaN.
    fn reduce_max(self) -> f32;
    /// `out[i] = v[i].reduce_sum()` for 16 vectors at once (a transposing reduction tree).
    fn reduce_sum16(v: &[Self; 16], out: &mut [f32; 16]);
    /// `out[i] = v[i].reduce_sum()` for 8 vectors.
    fn reduce_sum8(v: &[Self; 8], out: &mut [f32; 8]) {
        for (o, x) in out.iter_mut().zip(v) {
            *o = x.reduce_sum();
        }
    }
}

/// Loads `n < LANES` values, padding the rest with `pad`.
///
/// # Safety
/// `p` must be valid for reading `n` f32.
#[inline(always)]
pub(crate) unsafe fn load_partial<V: Vf32>(p: *const f32, n: usize, pad: f32) -> V {
    let mut buf = [pad; 16];
    // SAFETY: the caller guarantees n readable values; n < LANES <= 16.
    unsafe {
        std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
        V::load(buf.as_ptr())
    }
}

/// Stores the first `n < LANES` lanes.
///
/// # Safety
/// `p` must be valid for writing `n` f32.
#[inline(always)]
pub(crate) unsafe fn store_partial<V: Vf32>(v: V, p: *mut f32, n: usize) {
    let mut buf = [0.0f32; 16];
    // SAFETY: buf holds 16 >= LANES values; the caller guarantees n writable values.
    unsafe {
        v.store(buf.as_mut_ptr());
        std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
    }
}

/// Applies `f` to every `LANES`-vector of `x` (tail padded with `pad`), writing `out`.
/// `x.len() == out.len()` is checked by the callers.
#[inline(always)]
pub(crate) fn map_slice<V: Vf32>(x: &[f32], out: &mut [f32], pad: f32, f: impl Fn(V) -> V) {
    let n = x.len().min(out.len());
    let full = n - n % V::LANES;
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n for both slices.
        unsafe { f(V::load(x.as_ptr().add(i))).store(out.as_mut_ptr().add(i)) };
        i += V::LANES;
    }
    if full < n {
        // SAFETY: n - full values remain in both slices.
        unsafe {
            let v = load_partial::<V>(x.as_ptr().add(full), n - full, pad);
            store_partial(f(v), out.as_mut_ptr().add(full), n - full);
        }
    }
}

/// Like [`map_slice`] for two inputs of equal length.
#[inline(always)]
pub(crate) fn zip_map_slice<V: Vf32>(a: &[f32], b: &[f32], out: &mut [f32], f: impl Fn(V, V) -> V) {
    let n = a.len().min(b.len()).min(out.len());
    let full = n - n % V::LANES;
    let mut i = 0;
    while i < full {
        // SAFETY: i + LANES <= n for all three slices.
        unsafe {
            let r = f(V::load(a.as_ptr().add(i)), V::load(b.as_ptr().add(i)));
            r.store(out.as_mut_ptr().add(i));
        }
        i += V::LANES;
    }
    if full < n {
        // SAFETY: n - full values remain in all three slices.
        unsafe {
            let va = load_partial::<V>(a.as_ptr().add(full), n - full, 0.0);
            let vb = load_partial::<V>(b.as_ptr().add(full), n - full, 0.0);
            store_partial(f(va, vb), out.as_mut_ptr().add(full), n - full);
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use super::simd_x86::{Avx2, Avx512};

/// A NaN-propagating scalar maximum.
pub(crate) trait MaxNan {
    /// The maximum, NaN if either is NaN.
    fn max_nan(self, o: Self) -> Self;
}

impl MaxNan for f32 {
    #[inline(always)]
    fn max_nan(self, o: f32) -> f32 {
        if self.is_nan() || o.is_nan() { f32::NAN } else { self.max(o) }
    }
}

/// 8 f32 lanes in plain Rust.
#[derive(Copy, Clone)]
pub(crate) struct Portable([f32; 8]);

impl Portable {
    #[inline(always)]
    fn map(self, f: impl Fn(f32) -> f32) -> Self {
        Self(self.0.map(f))
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Self(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }
    /// `2^n` for integral `n` in `[-126, 127]`.
    #[inline(always)]
    fn pow2i(n: f32) -> f32 {
        f32::from_bits(((n as i32 + 127) as u32) << 23)
    }
}

macro_rules! portable_binop {
    ($tr:ident, $f:ident, $op:tt) => {
        impl $tr for Portable {
            type Output = Portable;
            #[inline(always)]
            fn $f(self, o: Portable) -> Portable {
                self.zip(o, |a, b| a $op b)
            }
        }
    };
}
portable_binop!(Add, add, +);
portable_binop!(Sub, sub, -);
portable_binop!(Mul, mul, *);
portable_binop!(Div, div, /);

impl Vf32 for Portable {
    const LANES: usize = 8;
    const REGS: usize = 32;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Self([x; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable values.
        Self(unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) })
    }
    #[inline(always)]
    unsafe fn load_f16(p: *const f16) -> Self {
        // SAFETY: the caller guarantees 8 readable values.
        let h = unsafe { std::ptr::read_unaligned(p as *const [f16; 8]) };
        Self(h.map(f16::to_f32))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable values.
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] * a.0[i] + b.0[i]))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.zip(o, f32::max_nan)
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Self {
        self.map(|x| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        })
    }
    #[inline(always)]
    fn round(self) -> Self {
        self.map(f32::round_ties_even)
    }
    #[inline(always)]
    fn mul_pow2(self, n: Self) -> Self {
        self.zip(n, |x, n| {
            let n1 = (n * 0.5).round_ties_even();
            x * Self::pow2i(n1) * Self::pow2i(n - n1)
        })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.map(f32::abs)
    }
    #[inline(always)]
    fn with_sign_of(self, sign: Self) -> Self {
        self.zip(sign, f32::copysign)
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, x: Self, y: Self) -> Self {
        Self(std::array::from_fn(|i| if a.0[i] < b.0[i] { x.0[i] } else { y.0[i] }))
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        let s = self.0;
        ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        self.0.iter().fold(f32::NEG_INFINITY, |m, &x| m.max_nan(x))
    }
    #[inline(always)]
    fn reduce_sum16(v: &[Self; 16], out: &mut [f32; 16]) {
        for (o, x) in out.iter_mut().zip(v) {
            *o = x.reduce_sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(always)]
    fn check_reduce_sum16<V: Vf32>() {
        let data: Vec<f32> = (0..16 * V::LANES).map(|i| ((i * 7919) % 1000) as f32).collect();
        // SAFETY: data holds 16 vectors.
        let v: [V; 16] = std::array::from_fn(|i| unsafe { V::load(data.as_ptr().add(i * V::LANES)) });
        let mut got = [f32::NAN; 16];
        V::reduce_sum16(&v, &mut got);
        for (i, g) in got.iter().enumerate() {
            let want: f32 = data[i * V::LANES..(i + 1) * V::LANES].iter().sum();
            assert_eq!(*g, want, "vector {i}");
        }
    }

    dispatch!(fn check_reduce_sum16_dispatched() => check_reduce_sum16);

    #[test]
    fn reduce_sum16_orders_lanes() {
        check_reduce_sum16::<Portable>();
        check_reduce_sum16_dispatched();
        #[cfg(target_arch = "x86_64")]
        if isa() != Isa::Portable {
            #[target_feature(enable = "avx2,fma,f16c")]
            fn avx2() {
                check_reduce_sum16::<Avx2>()
            }
            // SAFETY: the CPU has the features.
            unsafe { avx2() };
        }
    }
}
