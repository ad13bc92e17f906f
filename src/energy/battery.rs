//! The battery as a whole-device meter: `<root>/<supply>/{type, scope, status, current_now,
//! voltage_now, power_now}` (Linux power-supply class, `Documentation/ABI/testing/sysfs-class-power`:
//! current in µA, voltage in µV, power in µW).
//!
//! A fuel gauge reports power, not energy: a [`PowerSampler`] thread integrates
//! |current_now| × voltage_now (or power_now when current or voltage cannot be read) every
//! [`SAMPLE_PERIOD`] into joules, and stops when the meter is dropped.
//!
//! The sign of `current_now` is not uniform. The ABI (since the 2020 commit "power: supply:
//! document current direction") says negative while discharging, but that commit itself lists
//! drivers that report discharge as positive and drivers that only report positive values, and
//! ACPI batteries only turned negative in 2025 ("ACPI: battery: negate current when
//! discharging"). So the direction comes from `status`, and the sign only tells which
//! [`SignConvention`] the driver follows: while `Discharging` the draw is |current|. When
//! `Charging`, `Full` or `Not charging` the device runs from the charger and the battery does not
//! see its draw: the meter is unavailable with that reason (and a window during which the status
//! leaves `Discharging` is an error), never negative joules. `Unknown` status is refused too.
//!
//! Update period: the sampler runs every 10 ms, but gauges refresh `current_now` on their own
//! schedule, from a fraction of a second (phone gauges) to seconds (ACPI batteries evaluate
//! `_BST` in firmware on each read). 1 s is declared, so only windows of 10 s or more count as
//! measured. Supplies of another type (Mains, USB) and peripherals' batteries (`scope` = Device:
//! a wireless mouse) are not this machine's battery and are skipped.

use super::rapl::FileReader;
use super::sampler::{PowerSampler, entries, file_name, fs_reader, read_num, read_text};
use super::{EnergyMeter, MeterInfo, MeterProbe, Scope};
use crate::{DeviceKind, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that moves the power-supply root (fake trees in tests).
pub const ROOT_ENV: &str = "EDGEHAL_POWER_SUPPLY_ROOT";
/// The real power-supply class directory.
pub const DEFAULT_ROOT: &str = "/sys/class/power_supply";
/// How often the sampler thread reads the gauge.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(10);
/// The declared update period (see the module docs).
const UPDATE_PERIOD_S: f64 = 1.0;
const DENIED: &str = "grant read access to the power-supply class";

/// `$EDGEHAL_POWER_SUPPLY_ROOT`, else `/sys/class/power_supply`.
pub fn root_from_env() -> PathBuf {
    std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

/// Which sign a driver gives the current of a discharging battery.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SignConvention {
    /// Negative while discharging (the documented ABI).
    NegativeWhileDischarging,
    /// Positive while discharging (older drivers, ACPI before 2025).
    PositiveWhileDischarging,
    /// No current to tell by (zero, or only `power_now` readable).
    Unknown,
}

/// A battery as a sampled whole-device meter.
pub struct BatteryMeter {
    info: MeterInfo,
    convention: SignConvention,
    sampler: PowerSampler,
}

impl std::fmt::Debug for BatteryMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatteryMeter").field("info", &self.info).field("convention", &self.convention).finish()
    }
}

impl EnergyMeter for BatteryMeter {
    fn info(&self) -> &MeterInfo {
        &self.info
    }

    fn read_joules(&mut self) -> Result<f64> {
        self.sampler.joules().map_err(|why| Error::Meter { meter: self.info.name.clone(), why })
    }
}

impl BatteryMeter {
    /// The sign convention seen when the meter opened.
    pub fn convention(&self) -> SignConvention {
        self.convention
    }

    /// Samples taken so far.
    pub fn samples(&self) -> u64 {
        self.sampler.samples()
    }
}

/// The batteries under `root`, sampled every [`SAMPLE_PERIOD`] from the real file system.
pub fn discover(root: &Path) -> (Vec<BatteryMeter>, Vec<MeterProbe>) {
    discover_with(root, fs_reader(), SAMPLE_PERIOD)
}

/// The batteries under `root`, read through `read` every `period`: a meter per discharging
/// battery, and a probe line for each battery that cannot be metered (or for none at all).
pub fn discover_with(root: &Path, read: FileReader, period: Duration) -> (Vec<BatteryMeter>, Vec<MeterProbe>) {
    let none = |detail: String| (Vec::new(), vec![MeterProbe { name: "battery".into(), available: false, detail }]);
    let supplies = match entries(root, "") {
        Ok(s) => s,
        Err(e) => return none(format!("{}: {e} (no power-supply class)", root.display())),
    };
    let batteries: Vec<PathBuf> = supplies
        .into_iter()
        .filter(|d| read_text(&read, &d.join("type"), DENIED).is_ok_and(|t| t == "Battery"))
        .filter(|d| read_text(&read, &d.join("scope"), DENIED).map_or(true, |s| s != "Device"))
        .collect();
    if batteries.is_empty() {
        return none(format!("{}: no supply of type Battery (a desktop, server or VM)", root.display()));
    }
    let (mut meters, mut probes) = (Vec::new(), Vec::new());
    for dir in batteries {
        let name = format!("battery:{}", file_name(&dir));
        match open(&dir, &name, read.clone(), period) {
            Ok(m) => {
                let detail = format!(
                    "Device scope, {:?}, sampled every {} ms, {}",
                    m.convention,
                    period.as_millis(),
                    m.info.source
                );
                probes.push(MeterProbe { name, available: true, detail });
                meters.push(m);
            }
            Err(detail) => probes.push(MeterProbe { name, available: false, detail }),
        }
    }
    (meters, probes)
}

/// What the draw is computed from.
enum Draw {
    /// |current_now| (µA) × voltage_now (µV).
    CurrentVoltage(PathBuf, PathBuf),
    /// |power_now| (µW): no documented sign, its magnitude is the draw while discharging.
    Power(PathBuf),
}

impl Draw {
    fn watts(&self, read: &FileReader) -> std::result::Result<f64, String> {
        match self {
            Draw::CurrentVoltage(current, voltage) => {
                let i = read_num::<i64>(read, current, DENIED)?;
                let v = read_num::<i64>(read, voltage, DENIED)?;
                if v < 0 {
                    return Err(format!("{}: negative voltage {v} µV", voltage.display()));
                }
                Ok(i.unsigned_abs() as f64 * 1e-6 * v as f64 * 1e-6)
            }
            Draw::Power(power) => Ok(read_num::<i64>(read, power, DENIED)?.unsigned_abs() as f64 * 1e-6),
        }
    }

    fn source(&self) -> String {
        match self {
            Draw::CurrentVoltage(i, v) => format!("{} × {}", i.display(), v.display()),
            Draw::Power(p) => p.display().to_string(),
        }
    }
}

fn open(dir: &Path, name: &str, read: FileReader, period: Duration) -> std::result::Result<BatteryMeter, String> {
    let status = dir.join("status");
    check_status(&read_text(&read, &status, DENIED)?, &status, "")?;
    let by_current = Draw::CurrentVoltage(dir.join("current_now"), dir.join("voltage_now"));
    let (draw, convention) = match by_current.watts(&read) {
        Ok(_) => {
            let current = read_num::<i64>(&read, &dir.join("current_now"), DENIED)?;
            let convention = match current.signum() {
                -1 => SignConvention::NegativeWhileDischarging,
                1 => SignConvention::PositiveWhileDischarging,
                _ => SignConvention::Unknown,
            };
            (by_current, convention)
        }
        Err(why) => {
            let by_power = Draw::Power(dir.join("power_now"));
            by_power.watts(&read).map_err(|p| format!("{why}; and {p}"))?;
            (by_power, SignConvention::Unknown)
        }
    };
    let source = draw.source();
    let sample = move || -> std::result::Result<f64, String> {
        check_status(&read_text(&read, &status, DENIED)?, &status, "changed to ")?;
        draw.watts(&read)
    };
    let sampler = PowerSampler::start(name, period, Box::new(sample))?;
    let info = MeterInfo {
        name: name.to_string(),
        scope: Scope::Device,
        covers: vec![DeviceKind::Cpu, DeviceKind::Gpu, DeviceKind::Npu],
        source,
        // One µW over one sample period.
        resolution_j: 1e-6 * period.as_secs_f64(),
        update_period_s: UPDATE_PERIOD_S.max(period.as_secs_f64()),
        wrap_range_j: None,
    };
    Ok(BatteryMeter { info, convention, sampler })
}

/// Only a discharging battery carries the device's draw.
fn check_status(status: &str, path: &Path, changed: &str) -> std::result::Result<(), String> {
    match status {
        "Discharging" => Ok(()),
        "Charging" | "Full" | "Not charging" => Err(format!(
            "{}: status {changed}{status}: on external power the battery does not see the device's draw (unplug to measure)",
            path.display()
        )),
        other => Err(format!(
            "{}: status {changed}{other:?}: cannot tell whether the battery is discharging",
            path.display()
        )),
    }
}
