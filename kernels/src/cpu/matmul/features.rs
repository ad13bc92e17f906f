//! Which SIMD instruction set the matmul kernels use, detected once at run time.

use std::sync::OnceLock;

/// A family of kernels. Every level's kernels compute the same function (up to float rounding
/// order); the level only decides the instructions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum SimdLevel {
    /// Plain Rust, no `target_feature`: runs everywhere.
    Scalar,
    /// x86_64 with AVX2, FMA and F16C.
    Avx2,
    /// x86_64 with AVX-512 F/BW/VL and VNNI (`vpdpbusd`), plus AVX2, FMA and F16C.
    Avx512Vnni,
    /// aarch64 Advanced SIMD (always present there).
    Neon,
}

impl SimdLevel {
    /// The name used in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512Vnni => "avx512-vnni",
            SimdLevel::Neon => "neon",
        }
    }

    /// The best level this CPU supports, detected on first use and cached.
    pub(crate) fn detected() -> SimdLevel {
        static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            [SimdLevel::Avx512Vnni, SimdLevel::Avx2, SimdLevel::Neon]
                .into_iter()
                .find(|level| level.is_supported())
                .unwrap_or(SimdLevel::Scalar)
        })
    }

    /// Whether this CPU can run the level's kernels.
    pub(crate) fn is_supported(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => {
                SimdLevel::Avx2.is_supported()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every level this CPU supports (for tests that force each path).
    #[cfg(test)]
    pub(crate) fn all_supported() -> Vec<SimdLevel> {
        [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512Vnni, SimdLevel::Neon]
            .into_iter()
            .filter(|level| level.is_supported())
            .collect()
    }
}
