//! Facts about the host machine that benchmarks depend on (cache size, cores), for reports.

use serde::Serialize;

/// The last-level cache size assumed when sysfs does not say.
pub const ASSUMED_LLC_BYTES: u64 = 32 << 20;

const LLC_SYSFS: &str = "/sys/devices/system/cpu/cpu0/cache/index3/size";

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
        let (llc_bytes, llc_source) = match std::fs::read_to_string(LLC_SYSFS).ok().and_then(|s| parse_size(&s)) {
            Some(b) => (b, "sysfs"),
            None => (ASSUMED_LLC_BYTES, "assumed"),
        };
        Machine {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            llc_bytes,
            llc_source,
        }
    }
}

/// Parses a sysfs cache size such as `32768K`, `32M` or `1048576`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<u64>().ok().filter(|&v| v > 0).map(|v| v * mult)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sysfs_sizes() {
        assert_eq!(parse_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0K"), None);
        assert_eq!(parse_size("lots"), None);
    }
}
