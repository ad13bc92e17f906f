//! NVIDIA Jetson power rails from the TI INA3221 monitors through hwmon:
//! `<root>/<i2c device>/hwmon/hwmonN/{in<c>_label, in<c>_input, curr<c>_input, in<c>_enable,
//! update_interval}` for channels c = 1..3 (root: `/sys/bus/i2c/drivers/ina3221`; JetPack 5 and
//! later, e.g. `1-0040/hwmon/hwmon1`).
//!
//! Format, from the kernel's `Documentation/hwmon/ina3221.rst`: `in[123]_input` is the bus
//! voltage in mV, `curr[123]_input` the current in mA, `in[123]_label` the channel's name from the
//! device tree (absent for unconnected channels, which are skipped), `update_interval` the
//! conversion time in ms. Labels, from NVIDIA's Jetson developer guides (power monitoring) and
//! tegrastats: `VDD_IN`, `VDD_CPU_GPU_CV`, `VDD_SOC` (Orin Nano/NX, Xavier NX); `VDD_GPU_SOC`,
//! `VDD_CPU_CV`, `VIN_SYS_5V0` (AGX Orin); `POM_5V_IN`, `POM_5V_GPU`, `POM_5V_CPU` (Nano).
//!
//! The monitor reports power, not energy: each rail's [`PowerSampler`] thread integrates
//! volts × amps every [`SAMPLE_PERIOD`]. The module input (`VDD_IN`, `POM_5V_IN`) is Scope::Device
//! covering every device; every other channel is a rail whose covers come from its label's
//! words: `CPU` → CPU, `GPU` → GPU, `CV`/`DLA`/`PVA` (the DLA and vision accelerators) → NPU, and
//! `SOC`/`DDR`/`VDDRQ`/`VDDQ`/`VDD2`/`EMC`/`MEM` (memory and fabric, shared) → all three; a label
//! with none of these (Wi-Fi, the 5 V system rail, always-on I/O) covers no compute device.

use super::rapl::FileReader;
use super::sampler::{PowerSampler, entries, file_name, fs_reader, read_num, read_text};
use super::{EnergyMeter, MeterInfo, MeterProbe, Scope};
use crate::{DeviceKind, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that moves the INA3221 driver root (fake trees in tests).
pub const ROOT_ENV: &str = "EDGEHAL_INA3221_ROOT";
/// The real INA3221 driver directory.
pub const DEFAULT_ROOT: &str = "/sys/bus/i2c/drivers/ina3221";
/// How often each rail's sampler thread reads its channel.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(10);
const DENIED: &str = "grant read access to the ina3221 hwmon files";

/// `$EDGEHAL_INA3221_ROOT`, else `/sys/bus/i2c/drivers/ina3221`.
pub fn root_from_env() -> PathBuf {
    std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

/// One INA3221 channel as a sampled meter.
pub struct Ina3221Meter {
    info: MeterInfo,
    sampler: PowerSampler,
}

impl std::fmt::Debug for Ina3221Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ina3221Meter").field("info", &self.info).finish()
    }
}

impl EnergyMeter for Ina3221Meter {
    fn info(&self) -> &MeterInfo {
        &self.info
    }

    fn read_joules(&mut self) -> Result<f64> {
        self.sampler.joules().map_err(|why| Error::Meter { meter: self.info.name.clone(), why })
    }
}

impl Ina3221Meter {
    /// Samples taken so far.
    pub fn samples(&self) -> u64 {
        self.sampler.samples()
    }
}

/// The labelled channels under `root`, sampled every [`SAMPLE_PERIOD`] from the real file system.
pub fn discover(root: &Path) -> (Vec<Ina3221Meter>, Vec<MeterProbe>) {
    discover_with(root, fs_reader(), SAMPLE_PERIOD)
}

/// The labelled channels under `root`, read through `read` every `period`: a meter per channel
/// that reads, and a probe line for each that does not (or for a root with none).
pub fn discover_with(root: &Path, read: FileReader, period: Duration) -> (Vec<Ina3221Meter>, Vec<MeterProbe>) {
    let none = |detail: String| (Vec::new(), vec![MeterProbe { name: "ina3221".into(), available: false, detail }]);
    let chips = match entries(root, "") {
        Ok(c) => c,
        Err(e) => return none(format!("{}: {e} (no ina3221 driver: not a Jetson)", root.display())),
    };
    let hwmons: Vec<PathBuf> =
        chips.iter().flat_map(|c| entries(&c.join("hwmon"), "hwmon").unwrap_or_default()).collect();
    let (mut meters, mut probes) = (Vec::new(), Vec::new());
    for dir in &hwmons {
        let interval_s = read_num::<f64>(&read, &dir.join("update_interval"), DENIED).map_or(0.0, |ms| ms * 1e-3);
        for c in 1..=3 {
            let Ok(label) = read_text(&read, &dir.join(format!("in{c}_label")), DENIED) else { continue };
            let name = format!("ina3221:{label}");
            if read_text(&read, &dir.join(format!("in{c}_enable")), DENIED).is_ok_and(|e| e == "0") {
                probes.push(MeterProbe {
                    name,
                    available: false,
                    detail: format!("{}: channel {c} disabled", dir.display()),
                });
                continue;
            }
            let volts = dir.join(format!("in{c}_input"));
            let amps = dir.join(format!("curr{c}_input"));
            let r = read.clone();
            let sample = Box::new(move || -> std::result::Result<f64, String> {
                let mv = read_num::<f64>(&r, &volts, DENIED)?;
                let ma = read_num::<f64>(&r, &amps, DENIED)?;
                Ok(mv * 1e-3 * ma * 1e-3)
            });
            let sampler = match PowerSampler::start(&name, period, sample) {
                Ok(s) => s,
                Err(detail) => {
                    probes.push(MeterProbe { name, available: false, detail });
                    continue;
                }
            };
            let (scope, covers) = scope_of(&label);
            let update_period_s = interval_s.max(period.as_secs_f64());
            let detail = format!(
                "{scope:?} scope, covers {covers:?}, sampled every {} ms, {}",
                period.as_millis(),
                dir.join(format!("in{c}_input")).display()
            );
            probes.push(MeterProbe { name: name.clone(), available: true, detail });
            let source = format!("{} channel {c} ({})", dir.display(), file_name(dir));
            let info = MeterInfo {
                name,
                scope,
                covers,
                source,
                // One mW over one sample period.
                resolution_j: 1e-3 * period.as_secs_f64(),
                update_period_s,
                wrap_range_j: None,
            };
            meters.push(Ina3221Meter { info, sampler });
        }
    }
    if probes.is_empty() {
        return none(format!("{}: no labelled INA3221 channel under */hwmon/hwmon*", root.display()));
    }
    (meters, probes)
}

/// The module input is the device; other labels are rails with covers from their words.
fn scope_of(label: &str) -> (Scope, Vec<DeviceKind>) {
    let all = vec![DeviceKind::Cpu, DeviceKind::Gpu, DeviceKind::Npu];
    let upper = label.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').collect();
    if matches!(upper.as_str(), "VDD_IN" | "POM_5V_IN") {
        return (Scope::Device, all);
    }
    if words.iter().any(|w| matches!(*w, "SOC" | "DDR" | "VDDRQ" | "VDDQ" | "VDD2" | "EMC" | "MEM")) {
        return (Scope::Rail, all);
    }
    let mut covers = Vec::new();
    if words.contains(&"CPU") {
        covers.push(DeviceKind::Cpu);
    }
    if words.contains(&"GPU") {
        covers.push(DeviceKind::Gpu);
    }
    if words.iter().any(|w| matches!(*w, "CV" | "DLA" | "PVA")) {
        covers.push(DeviceKind::Npu);
    }
    (Scope::Rail, covers)
}
