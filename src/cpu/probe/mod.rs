//! Probes that measure this CPU's peaks (f32 FMA rate, DRAM read bandwidth) and describe it.

pub mod cache;
mod fma;
mod read;

use crate::backend::Peaks;

/// Measures both peaks on the current rayon pool.
pub(crate) fn measure_peaks() -> Peaks {
    // FMA first: the read probe's half-size thread pool winds down after it returns, and its
    // threads would compete with the FMA loops.
    let f32_gflops = fma::fma_gflops();
    let (read_gbps, method) = read::read_gbps(cache::last_level_cache(), total_memory());
    Peaks { f32_gflops, read_gbps, f16_gflops: None, read_probe: Some(method) }
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
