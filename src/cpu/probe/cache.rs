//! The last-level cache, from Linux sysfs: what the bandwidth probe and the benchmarks size their
//! buffers from, so that they stream from DRAM and not from cache.

use std::path::Path;

/// The size assumed when sysfs does not say (a common desktop / server L3).
pub const ASSUMED_LLC_BYTES: u64 = 32 << 20;

const CACHE_DIR: &str = "/sys/devices/system/cpu/cpu0/cache";

/// A last-level cache size and where it came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CacheSize {
    /// Bytes (of one instance: the cache a core's data can live in).
    pub bytes: u64,
    /// `sysfs` when read from the system, `assumed` otherwise.
    pub source: &'static str,
}

/// The largest data or unified cache level of cpu0, or [`ASSUMED_LLC_BYTES`].
pub fn last_level_cache() -> CacheSize {
    last_level_cache_in(Path::new(CACHE_DIR))
        .map(|bytes| CacheSize { bytes, source: "sysfs" })
        .unwrap_or(CacheSize { bytes: ASSUMED_LLC_BYTES, source: "assumed" })
}

/// The size of the highest-level data or unified cache under a sysfs `cache` directory.
fn last_level_cache_in(dir: &Path) -> Option<u64> {
    let read = |p: &Path, f: &str| std::fs::read_to_string(p.join(f)).ok();
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let p = e.path();
            let kind = read(&p, "type")?;
            if kind.trim() == "Instruction" {
                return None;
            }
            let level: u32 = read(&p, "level")?.trim().parse().ok()?;
            Some((level, parse_size(&read(&p, "size")?)?))
        })
        .max()
        .map(|(_, bytes)| bytes)
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
    use super::*;

    #[test]
    fn sysfs_sizes() {
        assert_eq!(parse_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0K"), None);
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn the_highest_data_level_wins() {
        let dir = std::env::temp_dir().join(format!("edgehal-cache-{}", std::process::id()));
        let levels = [
            ("index0", "1", "Data", "48K"),
            ("index1", "1", "Instruction", "32K"),
            ("index2", "2", "Unified", "2048K"),
            ("index3", "3", "Unified", "307200K"),
        ];
        for (name, level, kind, size) in levels {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(d.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(d.join("size"), format!("{size}\n")).unwrap();
        }
        assert_eq!(last_level_cache_in(&dir), Some(300 << 20));
        std::fs::remove_dir_all(dir.join("index3")).unwrap();
        assert_eq!(last_level_cache_in(&dir), Some(2 << 20));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(last_level_cache_in(&dir), None);
    }
}
