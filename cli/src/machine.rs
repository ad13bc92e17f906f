//! Facts about the host machine that benchmarks depend on (cache size, cores), for reports.

use serde::Serialize;

/// The host as benchmarks report it.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Operating system.
    pub os: &'static str,
    /// CPU architecture.
    pub arch: &'static str,
    /// Hardware threads available to this process.
    pub cpus: usize,
    /// Last-level cache size in bytes.
    pub llc_bytes: u64,
    /// `sysfs` when read from the system, `assumed` otherwise.
    pub llc_source: &'static str,
}

impl Machine {
    /// Describes this machine.
    pub fn detect() -> Self {
        let llc = edgehal::last_level_cache();
        Machine {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            llc_bytes: llc.bytes,
            llc_source: llc.source,
        }
    }
}
