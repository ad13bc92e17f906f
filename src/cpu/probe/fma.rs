//! The f32 FMA peak: independent multiply-add chains on every thread, in the widest SIMD the CPU
//! has.

use std::time::Instant;

/// The best of a few runs of an FMA loop on every thread.
pub(super) fn fma_gflops() -> f64 {
    let iters = 4_000_000usize;
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let flops: f64 = rayon::broadcast(|_| fma_loop(iters)).into_iter().sum();
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// Runs `iters` rounds of independent FMAs; returns the FLOPs done.
fn fma_loop(iters: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected at run time.
            return unsafe { fma_loop_avx512(iters) };
        }
        if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the features were detected at run time.
            return unsafe { fma_loop_avx2(iters) };
        }
    }
    fma_loop_portable(iters)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_loop_avx512(iters: usize) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let total = acc.iter().fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v));
    std::hint::black_box(_mm512_reduce_add_ps(total));
    (iters * 12 * 16 * 2) as f64
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_loop_avx2(iters: usize) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    std::hint::black_box(acc);
    (iters * 12 * 8 * 2) as f64
}

fn fma_loop_portable(iters: usize) -> f64 {
    let mut acc = [1.0f32; 32];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = v.mul_add(0.999_999, 1e-7);
        }
    }
    std::hint::black_box(acc);
    (iters * 32 * 2) as f64
}
