//! Linux RAPL through powercap sysfs: `<root>/intel-rapl:N[:M]/{name, energy_uj,
//! max_energy_range_uj}` (AMD Zen exposes the same `intel-rapl` zones).
//!
//! Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694): a zone that answers
//! "permission denied" is reported unavailable with that reason, never read as 0 J. Virtual
//! machines usually have no powercap zones at all. The counter is in µJ and wraps at
//! `max_energy_range_uj` (minutes to hours at package power); the hardware updates it about every
//! millisecond (Intel SDM vol. 3B, 15.10.1), in energy units coarser than a µJ (15.3–61 µJ).

use super::{EnergyMeter, MeterInfo, MeterProbe, Scope, WrappingCounter};
use crate::{Error, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable that moves the powercap root (fake trees in tests, containers).
pub const ROOT_ENV: &str = "EDGEHAL_POWERCAP_ROOT";
/// The real powercap root.
pub const DEFAULT_ROOT: &str = "/sys/class/powercap";
/// RAPL's update period.
const UPDATE_PERIOD_S: f64 = 1e-3;

/// How sysfs files are read (a seam so tests can answer "permission denied" even as root).
pub type FileReader = Arc<dyn Fn(&Path) -> io::Result<String> + Send + Sync>;

/// `$EDGEHAL_POWERCAP_ROOT`, else `/sys/class/powercap`.
pub fn root_from_env() -> PathBuf {
    std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

/// One RAPL zone as a meter.
pub struct RaplMeter {
    info: MeterInfo,
    energy_path: PathBuf,
    counter: WrappingCounter,
    read: FileReader,
}

impl std::fmt::Debug for RaplMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaplMeter").field("info", &self.info).field("energy_path", &self.energy_path).finish()
    }
}

impl EnergyMeter for RaplMeter {
    fn info(&self) -> &MeterInfo {
        &self.info
    }

    fn read_joules(&mut self) -> Result<f64> {
        let raw = read_u64(&self.read, &self.energy_path).map_err(|why| self.error(why))?;
        let total = self.counter.update(raw).map_err(|why| self.error(why))?;
        Ok(total as f64 * 1e-6)
    }
}

impl RaplMeter {
    fn error(&self, why: String) -> Error {
        Error::Meter { meter: self.info.name.clone(), why: format!("{}: {why}", self.energy_path.display()) }
    }
}

/// The zones under `root`, opened with the real file system.
pub fn discover(root: &Path) -> (Vec<RaplMeter>, Vec<MeterProbe>) {
    discover_with(root, Arc::new(|p: &Path| std::fs::read_to_string(p)))
}

/// The zones under `root`, read through `read`: the meters that work, and a probe line for every
/// zone (and for a root with no zones).
pub fn discover_with(root: &Path, read: FileReader) -> (Vec<RaplMeter>, Vec<MeterProbe>) {
    let none = |detail: String| (Vec::new(), vec![MeterProbe { name: "rapl".into(), available: false, detail }]);
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("intel-rapl:")))
            .map(|e| e.path())
            .collect(),
        Err(e) => return none(format!("{}: {e} (no powercap: a VM or a kernel without intel_rapl)", root.display())),
    };
    if dirs.is_empty() {
        return none(format!("{}: no intel-rapl zones (a VM, or the intel_rapl driver not loaded)", root.display()));
    }
    dirs.sort();
    let mut meters = Vec::new();
    let mut probes = Vec::new();
    for dir in dirs {
        let zone = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        match open_zone(&dir, &zone, read.clone()) {
            Ok(m) => {
                let detail = format!(
                    "{:?} scope, wraps at {:.0} J, {}",
                    m.info.scope,
                    m.info.wrap_range_j.unwrap_or(0.0),
                    m.info.source
                );
                probes.push(MeterProbe { name: m.info.name.clone(), available: true, detail });
                meters.push(m);
            }
            Err((name, detail)) => probes.push(MeterProbe { name, available: false, detail }),
        }
    }
    (meters, probes)
}

fn open_zone(dir: &Path, zone: &str, read: FileReader) -> std::result::Result<RaplMeter, (String, String)> {
    let fail = |name: &str, why: String| (name.to_string(), why);
    let name_path = dir.join("name");
    let zone_name = match read(&name_path) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        Ok(_) => return Err(fail(&format!("rapl:{zone}"), format!("{}: empty", name_path.display()))),
        Err(e) => return Err(fail(&format!("rapl:{zone}"), describe_io(&name_path, &e))),
    };
    let name = format!("rapl:{zone_name}");
    let energy_path = dir.join("energy_uj");
    let range_path = dir.join("max_energy_range_uj");
    let range = read_u64(&read, &range_path).map_err(|why| fail(&name, why))?;
    let first = read_u64(&read, &energy_path).map_err(|why| fail(&name, why))?;
    // max_energy_range_uj is the largest value; the counter wraps to 0 after it.
    let counter = WrappingCounter::new(first, range.saturating_add(1))
        .map_err(|why| fail(&name, format!("{}: {why}", energy_path.display())))?;
    let info = MeterInfo {
        name,
        scope: scope_of(&zone_name),
        covers: vec![crate::DeviceKind::Cpu],
        source: energy_path.display().to_string(),
        resolution_j: 1e-6,
        update_period_s: UPDATE_PERIOD_S,
        wrap_range_j: Some((range as f64 + 1.0) * 1e-6),
    };
    Ok(RaplMeter { info, energy_path, counter, read })
}

/// `package-N` → package, `dram` → DRAM, `psys` → the platform, `core`/`uncore` → a rail.
fn scope_of(zone_name: &str) -> Scope {
    match zone_name {
        n if n.starts_with("package") => Scope::Package,
        "dram" => Scope::Dram,
        "psys" => Scope::Device,
        _ => Scope::Rail,
    }
}

fn read_u64(read: &FileReader, path: &Path) -> std::result::Result<u64, String> {
    let text = read(path).map_err(|e| describe_io(path, &e))?;
    let t = text.trim();
    t.parse::<u64>().map_err(|_| format!("{}: not a counter value: {t:?}", path.display()))
}

fn describe_io(path: &Path, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        format!("{}: permission denied (root-only since Linux 5.10; run as root or grant read access)", path.display())
    } else {
        format!("{}: {e}", path.display())
    }
}
