//! Ad-hoc release-mode timings (ignored by default; run with
//! `cargo test -p edgehal-kernels --release timing -- --ignored --nocapture`).

use std::time::Instant;

use rand::Rng;

use super::{random_weights, rng};
use crate::DType;
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::{PackedWeights, matmul_at};

/// The level to time: `TIMING_LEVEL=scalar|avx2|avx512-vnni|neon`, else the detected one.
fn level() -> SimdLevel {
    let name = std::env::var("TIMING_LEVEL").unwrap_or_default();
    [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512Vnni, SimdLevel::Neon]
        .into_iter()
        .find(|l| l.name() == name && l.is_supported())
        .unwrap_or_else(SimdLevel::detected)
}

/// On-CPU nanoseconds of all this process's threads (from /proc; 0 where unavailable).
/// On a shared machine, CPU time is a steadier measure than wall time.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Best wall time and best CPU time (divided by the thread count) of `runs` calls, in seconds.
fn best_of(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let threads = rayon::current_num_threads() as f64;
    (0..runs)
        .map(|_| {
            let (t, c) = (Instant::now(), process_cpu_ns());
            f();
            (t.elapsed().as_secs_f64(), (process_cpu_ns() - c) as f64 * 1e-9 / threads)
        })
        .fold((f64::INFINITY, f64::INFINITY), |(a, b), (t, c)| (a.min(t), b.min(c)))
}

fn time(dtype: DType, m: usize, n: usize, k: usize, runs: usize) {
    let mut rng = rng(9);
    let bytes = random_weights(dtype, n, k, &mut rng);
    let pack_runs: usize = std::env::var("TIMING_PACK").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let mut pack = f64::INFINITY;
    for _ in 1..pack_runs {
        let start = Instant::now();
        drop(PackedWeights::new(dtype, n, k, &bytes).unwrap());
        pack = pack.min(start.elapsed().as_secs_f64());
    }
    let start = Instant::now();
    let w = PackedWeights::new(dtype, n, k, &bytes).unwrap();
    let pack = pack.min(start.elapsed().as_secs_f64());
    let x: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let mut y = vec![0f32; m * n];
    let level = level();
    let (t, cpu) = best_of(runs, || matmul_at(level, &x, m, &w, &mut y).unwrap());
    let flop = 2.0 * (m * n * k) as f64;
    println!(
        "{:>7} m={m:<4} n={n:<6} k={k:<6} wall {:8.3} ms {:7.1} GFLOP/s {:6.1} GB/s | cpu/thread {:8.3} ms {:7.1} GFLOP/s {:6.1} GB/s",
        dtype.name(),
        t * 1e3,
        flop / t / 1e9,
        bytes.len() as f64 / t / 1e9,
        cpu * 1e3,
        flop / cpu / 1e9,
        bytes.len() as f64 / cpu / 1e9,
    );
    if std::env::var("TIMING_PACK").is_ok() {
        println!("        packing {:8.3} ms ({:.2} GB/s)", pack * 1e3, bytes.len() as f64 / pack / 1e9);
    }
}

/// Plain read bandwidth over 256 MiB on the current pool (a reference for the GEMV figures).
fn read_bandwidth() {
    use rayon::prelude::*;
    let data = vec![1u64; 32 << 20];
    let chunk = data.len() / (8 * rayon::current_num_threads());
    let (t, cpu) = best_of(10, || {
        let sum: u64 = data.par_chunks(chunk).map(|c| c.iter().fold(0u64, |a, &v| a.wrapping_add(v))).sum();
        assert_eq!(sum, data.len() as u64);
    });
    let bytes = (data.len() * 8) as f64;
    println!("read bandwidth: wall {:6.1} GB/s | cpu/thread {:6.1} GB/s", bytes / t / 1e9, bytes / cpu / 1e9);
}

/// `TIMING=dtype:m:n:k[:runs],...` times just those products.
fn custom(spec: &str) -> bool {
    let mut any = false;
    for item in spec.split(',') {
        let f: Vec<&str> = item.split(':').collect();
        if f.len() < 4 {
            continue;
        }
        let (Some(dtype), Ok(m), Ok(n), Ok(k)) = (DType::from_name(f[0]), f[1].parse(), f[2].parse(), f[3].parse())
        else {
            continue;
        };
        time(dtype, m, n, k, f.get(4).and_then(|r| r.parse().ok()).unwrap_or(10));
        any = true;
    }
    any
}

#[test]
#[ignore]
fn timing() {
    println!("simd level: {}, threads: {}", level().name(), rayon::current_num_threads());
    let only = std::env::var("TIMING").unwrap_or_default();
    if custom(&only) {
        return;
    }
    let want = |what: &str| only.is_empty() || only.split(',').any(|w| w == what);
    if want("bandwidth") {
        read_bandwidth();
    }
    if want("f32") {
        time(DType::F32, 512, 4096, 4096, 5);
        time(DType::F16, 512, 4096, 4096, 3);
        time(DType::F32, 1, 4096, 4096, 20);
    }
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K] {
        if want("gemv") {
            time(dtype, 1, 4096, 14336, 20);
            time(dtype, 1, 14336, 4096, 20);
        }
        if want("gemm") {
            time(dtype, 512, 4096, 4096, 3);
        }
    }
    if want("other") {
        for dtype in [DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q5_K, DType::IQ4_NL] {
            time(dtype, 1, 4096, 4096, 5);
            time(dtype, 512, 4096, 4096, 1);
        }
    }
}
