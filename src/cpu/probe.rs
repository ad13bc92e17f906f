//! Probes that measure this CPU's peaks (f32 FMA rate, DRAM read bandwidth) and describe it.

use crate::backend::Peaks;
use rayon::prelude::*;
use std::time::Instant;

/// Bytes streamed by the bandwidth probe: well over 4× a 32 MiB last-level cache.
const BANDWIDTH_BYTES: usize = 256 << 20;

/// Measures both peaks on the current rayon pool (all its threads at once).
pub(crate) fn measure_peaks() -> Peaks {
    Peaks { f32_gflops: fma_gflops(), read_gbps: read_gbps(), f16_gflops: None }
}

/// The best of a few runs of an FMA loop on every thread.
fn fma_gflops() -> f64 {
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

/// The best of a few parallel read passes over a buffer far larger than the caches.
fn read_gbps() -> f64 {
    let mut buf = vec![0f32; BANDWIDTH_BYTES / 4];
    buf.par_chunks_mut(1 << 16).enumerate().for_each(|(i, c)| c.fill(i as f32 * 1e-3 + 1.0));
    let chunk = buf.len() / (rayon::current_num_threads() * 16);
    // Best of many short passes: on a shared machine single passes swing by a third.
    (0..12)
        .map(|_| {
            let start = Instant::now();
            let s: f32 = buf.par_chunks(chunk.max(1 << 12)).map(sum_chunk).sum();
            std::hint::black_box(s);
            BANDWIDTH_BYTES as f64 / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn sum_chunk(c: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    let mut it = c.chunks_exact(32);
    for block in &mut it {
        for (a, v) in acc.iter_mut().zip(block) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
}

/// The CPU model name from /proc/cpuinfo (or the architecture).
pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Total memory in bytes from /proc/meminfo (0 if unknown).
pub(crate) fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The SIMD features the kernels can use, and the level they chose.
pub(crate) fn cpu_features() -> Vec<String> {
    let mut f = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($name:tt),*) => {$(if std::arch::is_x86_feature_detected!($name) { f.push($name.to_string()); })*};
        }
        detect!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni",
            "avx512bf16",
            "avxvnni"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        f.push("neon".to_string());
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            f.push("dotprod".to_string());
        }
    }
    f.push(format!("matmul:{}", edgehal_kernels::cpu::matmul::simd_level()));
    f
}
