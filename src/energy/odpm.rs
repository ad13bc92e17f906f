//! Android On-Device Power Monitor (ODPM) rails through IIO sysfs:
//! `<root>/iio:deviceN/{name, enabled_rails, energy_value, sampling_rate}`, one meter per enabled
//! rail (Pixel phones: two PMICs, `s2mpg1x-odpm`, 8 channels each).
//!
//! Formats, from the Pixel kernel's ODPM driver (`drivers/power/odpm`, Google's gs kernel:
//! `enabled_rails_show`, `energy_value_show`) and the Pixel PowerStats HAL that parses them
//! (`RailDataProvider::parsePowerRails`, `parseIioEnergyNodeString`):
//!
//! * `enabled_rails`: `CH<n>[<schematic name>]:<subsystem>` per enabled channel, e.g.
//!   `CH5[S4M_VDD_CPUCL0]:CPU`.
//! * `energy_value`: `t=<ms since boot>`, then `CH<n>(T=<ms measured>)[<schematic name>], <energy>`
//!   per channel, the energy accumulated since measurement start in µW·s (= µJ). The counter is
//!   a u64 and does not wrap in practice; it goes back to 0 only when a channel is switched to
//!   another rail, which is reported as an error.
//! * `sampling_rate`: the ADC rate in Hz (`%d.%06d`). The driver refreshes its accumulators at
//!   most once per 20 ADC counts (`ODPM_MIN_INTERVAL_ACC_COUNT`; 20 ms at the 1 kHz maximum) and
//!   serves cached values in between, so the update period is 20 / rate (20 ms when the file is
//!   absent).
//!
//! On production Android builds SELinux reserves these files for the PowerStats HAL: a shell
//! user gets "permission denied" (reported, never 0 J); `adb root` reads them.
//!
//! Covers, from the schematic name and subsystem: CPU cluster rails (`CPUCL0..2`) → CPU; `G3D`,
//! `GPU` → GPU; `TPU`, `NPU`, `DSP`, `GXP` → NPU; memory and fabric (`MIF`, `INT`, `DDR`, `MEM`,
//! `VDD2H`, `VDD2L`, `VDDQ`) are shared by every compute device → CPU, GPU and NPU; the rest
//! (display, modem, radio, WLAN, GNSS, the always-on audio/sensor core) covers no compute device:
//! its joules are counted but given to no op.

use super::rapl::FileReader;
use super::sampler::{entries, file_name, fs_reader, read_text};
use super::{EnergyMeter, MeterInfo, MeterProbe, Scope, WrappingCounter};
use crate::{DeviceKind, Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable that moves the IIO root (fake trees in tests).
pub const ROOT_ENV: &str = "EDGEHAL_IIO_ROOT";
/// The real IIO device directory.
pub const DEFAULT_ROOT: &str = "/sys/bus/iio/devices";
/// ADC counts between two accumulator refreshes in the driver.
const REFRESH_COUNTS: f64 = 20.0;
/// The rate assumed when `sampling_rate` is absent: the PMICs' maximum.
const DEFAULT_RATE_HZ: f64 = 1000.0;
const DENIED: &str = "SELinux keeps ODPM for the PowerStats HAL on user builds; run as root (adb root)";

/// `$EDGEHAL_IIO_ROOT`, else `/sys/bus/iio/devices`.
pub fn root_from_env() -> PathBuf {
    std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

/// One ODPM rail as a meter.
pub struct OdpmMeter {
    info: MeterInfo,
    energy_path: PathBuf,
    rail: String,
    counter: WrappingCounter,
    read: FileReader,
}

impl std::fmt::Debug for OdpmMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdpmMeter").field("info", &self.info).field("rail", &self.rail).finish()
    }
}

impl EnergyMeter for OdpmMeter {
    fn info(&self) -> &MeterInfo {
        &self.info
    }

    fn read_joules(&mut self) -> Result<f64> {
        let uws = rail_energy(&self.read, &self.energy_path, &self.rail).map_err(|why| self.error(why))?;
        let total = self.counter.update(uws).map_err(|why| self.error(format!("{}: {why}", self.rail)))?;
        Ok(total as f64 * 1e-6)
    }
}

impl OdpmMeter {
    fn error(&self, why: String) -> Error {
        Error::Meter { meter: self.info.name.clone(), why }
    }
}

/// The rails under `root`, read with the real file system.
pub fn discover(root: &Path) -> (Vec<OdpmMeter>, Vec<MeterProbe>) {
    discover_with(root, fs_reader())
}

/// The rails under `root`, read through `read`: a meter per enabled rail that reads, and a probe
/// line for every rail, device or root that does not.
pub fn discover_with(root: &Path, read: FileReader) -> (Vec<OdpmMeter>, Vec<MeterProbe>) {
    let none = |detail: String| (Vec::new(), vec![MeterProbe { name: "odpm".into(), available: false, detail }]);
    let devices: Vec<PathBuf> = match entries(root, "iio:device") {
        Ok(d) => d.into_iter().filter(|d| d.join("energy_value").exists()).collect(),
        Err(e) => return none(format!("{}: {e} (no IIO bus: not an Android device with ODPM)", root.display())),
    };
    if devices.is_empty() {
        return none(format!("{}: no iio:device with an energy_value (no ODPM power monitor)", root.display()));
    }
    let (mut meters, mut probes) = (Vec::new(), Vec::new());
    for dir in devices {
        let device = read(&dir.join("name")).map(|s| s.trim().to_string()).unwrap_or_else(|_| file_name(&dir));
        let fail = |detail: String| MeterProbe { name: format!("odpm:{device}"), available: false, detail };
        let rails = match read_text(&read, &dir.join("enabled_rails"), DENIED) {
            Ok(text) => text,
            Err(why) => {
                probes.push(fail(why));
                continue;
            }
        };
        let energy_path = dir.join("energy_value");
        let energy = match read_text(&read, &energy_path, DENIED).and_then(|t| parse_energy(&t, &energy_path)) {
            Ok(e) => e,
            Err(why) => {
                probes.push(fail(why));
                continue;
            }
        };
        let (update_period_s, rate_note) = update_period(&read, &dir);
        for line in rails.lines().filter(|l| !l.trim().is_empty()) {
            let Some((rail, subsystem)) = parse_enabled(line) else {
                let why = format!(
                    "{}: malformed line {line:?} (want CH<n>[<rail>]:<subsystem>)",
                    dir.join("enabled_rails").display()
                );
                probes.push(fail(why));
                continue;
            };
            let name = format!("odpm:{rail}");
            let Some(&(_, first)) = energy.iter().find(|(r, _)| *r == rail) else {
                let detail = format!("{}: rail {rail} is enabled but has no energy line", energy_path.display());
                probes.push(MeterProbe { name, available: false, detail });
                continue;
            };
            let covers = covers_of(&rail, &subsystem);
            let detail = format!(
                "Rail scope ({subsystem}), covers {covers:?}, update period {:.0} ms{rate_note}, {}",
                update_period_s * 1e3,
                energy_path.display()
            );
            probes.push(MeterProbe { name: name.clone(), available: true, detail });
            let info = MeterInfo {
                name,
                scope: Scope::Rail,
                covers,
                source: format!("{} [{rail}]", energy_path.display()),
                resolution_j: 1e-6,
                update_period_s,
                wrap_range_j: None,
            };
            let counter = WrappingCounter::new(first, 0).expect("a counter without a wrap range takes any value");
            meters.push(OdpmMeter { info, energy_path: energy_path.clone(), rail, counter, read: read.clone() });
        }
    }
    (meters, probes)
}

/// 20 ADC counts at `sampling_rate` Hz, or at the 1 kHz maximum with a note saying so.
fn update_period(read: &FileReader, dir: &Path) -> (f64, String) {
    let rate = read(&dir.join("sampling_rate")).ok().and_then(|s| s.trim().parse::<f64>().ok());
    match rate {
        Some(hz) if hz > 0.0 && hz.is_finite() => (REFRESH_COUNTS / hz, String::new()),
        _ => (REFRESH_COUNTS / DEFAULT_RATE_HZ, " (no sampling_rate: 1 kHz assumed)".into()),
    }
}

/// One rail's µW·s from the current `energy_value`.
fn rail_energy(read: &FileReader, path: &Path, rail: &str) -> std::result::Result<u64, String> {
    let text = read_text(read, path, DENIED)?;
    let energy = parse_energy(&text, path)?;
    energy
        .into_iter()
        .find(|(r, _)| r == rail)
        .map(|(_, uws)| uws)
        .ok_or_else(|| format!("{}: rail {rail} is no longer listed", path.display()))
}

/// `t=<ms>` then `CH<n>(T=<ms>)[<rail>], <µWs>` lines: every rail with its energy. Any other
/// line is an error, as in the PowerStats HAL.
fn parse_energy(text: &str, path: &Path) -> std::result::Result<Vec<(String, u64)>, String> {
    let bad = |line: &str, want: &str| format!("{}: malformed line {line:?} (want {want})", path.display());
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    if first.strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()).is_none() {
        return Err(bad(first, "t=<ms since boot>"));
    }
    lines
        .map(|line| {
            let parsed = (|| {
                let rest = line.strip_prefix("CH")?;
                let (ch, rest) = rest.split_once("(T=")?;
                let (ms, rest) = rest.split_once(")[")?;
                let (rail, value) = rest.split_once("],")?;
                ch.parse::<u32>().ok()?;
                ms.parse::<u64>().ok()?;
                Some((rail.to_string(), value.trim().parse::<u64>().ok()?))
            })();
            parsed.ok_or_else(|| bad(line, "CH<n>(T=<ms>)[<rail>], <µWs>"))
        })
        .collect()
}

/// `CH<n>[<rail>]:<subsystem>` → (rail, subsystem).
fn parse_enabled(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("CH")?;
    let (ch, rest) = rest.split_once('[')?;
    ch.parse::<u32>().ok()?;
    let (rail, subsystem) = rest.split_once("]:")?;
    (!rail.is_empty()).then(|| (rail.to_string(), subsystem.trim().to_string()))
}

/// The devices whose ops a rail's energy belongs to (see the module docs).
fn covers_of(rail: &str, subsystem: &str) -> Vec<DeviceKind> {
    let upper = rail.to_ascii_uppercase();
    let tokens: Vec<&str> = upper.split('_').collect();
    let sub = subsystem.to_ascii_lowercase();
    let has = |pred: &dyn Fn(&str) -> bool| tokens.iter().any(|t| pred(t));
    let shared = has(&|t| matches!(t, "MIF" | "INT" | "DDR" | "MEM" | "VDD2H" | "VDD2L" | "VDDQ"))
        || sub.contains("memory")
        || sub.contains("ddr");
    if shared {
        return vec![DeviceKind::Cpu, DeviceKind::Gpu, DeviceKind::Npu];
    }
    let mut covers = Vec::new();
    if has(&|t| t.starts_with("CPU")) || sub.contains("cpu") {
        covers.push(DeviceKind::Cpu);
    }
    if has(&|t| t == "G3D" || t == "GPU") || sub.contains("gpu") {
        covers.push(DeviceKind::Gpu);
    }
    if has(&|t| matches!(t, "TPU" | "NPU" | "DSP" | "GXP")) {
        covers.push(DeviceKind::Npu);
    }
    covers
}
