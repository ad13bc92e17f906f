//! Energy: meters that count joules where the hardware has them, a model where it has not, and
//! the attribution of a run's energy to its ops — every figure labelled by where it came from.
//!
//! * [`EnergyMeter`]: a cumulative-energy counter (wraparound unfolded) with its resolution,
//!   update period, wrap range and [`Scope`]. [`rapl`] reads Linux powercap, [`nvml`] NVIDIA
//!   GPUs' total-energy counter, [`odpm`] Android's on-device power monitor rails, [`hwmon`]
//!   Jetson's INA3221 rails and [`battery`] the battery; the last two report power, which a
//!   [`sampler`] thread integrates into joules.
//! * [`EnergyModel`]: pJ per FLOP by compute class, pJ per byte moved from memory, static power,
//!   per device kind ([`model`] cites the sources); [`fit`](fit::fit) fits it to meter windows.
//! * [`attribute`](attribution::attribute): splits a measured window over the ops that ran in it
//!   (by time × modelled power), or models each op when no meter covers it.
//!
//! Labels order by trust: [`EnergyLabel::Measured`] (the op alone filled a meter window long
//! enough for the meter's update period), [`EnergyLabel::Attributed`] (a share of a measured
//! window), [`EnergyLabel::Modelled`] (no meter). A sum takes the weakest label of its parts.

pub mod attribution;
pub mod battery;
mod counter;
pub mod fit;
pub mod hwmon;
pub mod model;
pub mod nvml;
pub mod odpm;
pub mod rapl;
pub mod sampler;

pub use attribution::{Attribution, EnergyWindow, OpEnergy, OpWork, attribute, disjoint_windows};
pub use counter::WrappingCounter;
pub use fit::{Fit, FitSample, fit};
pub use model::{ComputeClass, EnergyModel};

use serde::Serialize;
use std::time::Instant;

/// What part of the machine a meter counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A CPU package (cores, caches, uncore; every process on it).
    Package,
    /// The DRAM attached to a package.
    Dram,
    /// A GPU board or chip.
    Gpu,
    /// One power rail (a core cluster, an SoC block).
    Rail,
    /// The whole device (platform/psys counter, battery).
    Device,
}

/// Where an energy figure came from, from most to least trusted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyLabel {
    /// From the energy model only.
    #[default]
    Modelled,
    /// A share of a measured window, split across ops by time × modelled power.
    Attributed,
    /// Read from a meter over a window that held this op alone.
    Measured,
}

impl EnergyLabel {
    /// `measured`, `attributed` or `modelled`.
    pub fn name(self) -> &'static str {
        match self {
            EnergyLabel::Modelled => "modelled",
            EnergyLabel::Attributed => "attributed",
            EnergyLabel::Measured => "measured",
        }
    }

    /// The label of a sum: the weakest of its parts (`Modelled` for an empty sum).
    pub fn weakest(labels: impl IntoIterator<Item = EnergyLabel>) -> EnergyLabel {
        labels.into_iter().min().unwrap_or(EnergyLabel::Modelled)
    }
}

/// A meter's fixed properties.
#[derive(Clone, Debug, Serialize)]
pub struct MeterInfo {
    /// Short name (`rapl:package-0`).
    pub name: String,
    /// What it counts.
    pub scope: Scope,
    /// Which devices' ops its energy belongs to (a RAPL package or its DRAM: the CPU's; a
    /// battery: every device's).
    pub covers: Vec<crate::DeviceKind>,
    /// Where it reads from (a sysfs path, a library).
    pub source: String,
    /// Smallest step of the counter, in joules.
    pub resolution_j: f64,
    /// How often the hardware updates the counter, in seconds: windows shorter than a few of
    /// these are not measurable.
    pub update_period_s: f64,
    /// The counter wraps to zero after this many joules (`None`: it does not wrap).
    pub wrap_range_j: Option<f64>,
}

/// A cumulative energy counter.
pub trait EnergyMeter: Send {
    /// The meter's properties.
    fn info(&self) -> &MeterInfo;

    /// Joules counted since the meter was opened, wraparound unfolded. Call at least once per
    /// wrap period (minutes for RAPL packages) or a wrap is missed.
    fn read_joules(&mut self) -> crate::Result<f64>;
}

/// A meter that could not be opened, and why (for `edgehal devices`).
#[derive(Clone, Debug, Serialize)]
pub struct MeterProbe {
    /// The meter kind and zone (`rapl`, `rapl:package-0`, `nvml`).
    pub name: String,
    /// Whether it can be read.
    pub available: bool,
    /// Why not, or what it counts.
    pub detail: String,
}

/// Opens every meter this machine has, with reasons for the ones it has not.
pub fn discover() -> (Vec<Box<dyn EnergyMeter>>, Vec<MeterProbe>) {
    let mut meters: Vec<Box<dyn EnergyMeter>> = Vec::new();
    let mut probes = Vec::new();
    fn add<M: EnergyMeter + 'static>(
        (found, found_probes): (Vec<M>, Vec<MeterProbe>),
        meters: &mut Vec<Box<dyn EnergyMeter>>,
        probes: &mut Vec<MeterProbe>,
    ) {
        meters.extend(found.into_iter().map(|m| Box::new(m) as Box<dyn EnergyMeter>));
        probes.extend(found_probes);
    }
    add(rapl::discover(&rapl::root_from_env()), &mut meters, &mut probes);
    add(nvml::discover(&nvml::lib_from_env()), &mut meters, &mut probes);
    add(odpm::discover(&odpm::root_from_env()), &mut meters, &mut probes);
    add(hwmon::discover(&hwmon::root_from_env()), &mut meters, &mut probes);
    add(battery::discover(&battery::root_from_env()), &mut meters, &mut probes);
    (meters, probes)
}

/// An open measurement window over a set of meters: [`WindowGuard::close`] after the device
/// fence (the backend's run has returned) gives the joules each counted.
pub struct WindowGuard<'m> {
    meters: &'m mut [Box<dyn EnergyMeter>],
    start: Vec<f64>,
    opened: Instant,
}

impl<'m> WindowGuard<'m> {
    /// Reads every meter now.
    pub fn open(meters: &'m mut [Box<dyn EnergyMeter>]) -> crate::Result<WindowGuard<'m>> {
        let start = meters.iter_mut().map(|m| m.read_joules()).collect::<crate::Result<Vec<_>>>()?;
        Ok(WindowGuard { meters, start, opened: Instant::now() })
    }

    /// Reads every meter again: one result per meter, in order. A counter that did not advance
    /// over more than [`attribution::MIN_PERIODS_FOR_MEASURED`] update periods is an error (a stuck or virtualised counter), never a
    /// 0 J figure; one meter's error leaves the others' windows intact.
    pub fn close(self) -> Vec<crate::Result<EnergyWindow>> {
        let seconds = self.opened.elapsed().as_secs_f64();
        self.meters
            .iter_mut()
            .zip(self.start)
            .map(|(m, start)| {
                let joules = m.read_joules()? - start;
                let info = m.info().clone();
                if joules <= 0.0 && seconds > attribution::MIN_PERIODS_FOR_MEASURED * info.update_period_s {
                    return Err(crate::Error::Meter {
                        why: format!(
                            "counter did not advance in {:.3} s (update period {:.3} s): stuck or not a real meter",
                            seconds, info.update_period_s
                        ),
                        meter: info.name,
                    });
                }
                Ok(EnergyWindow { meter: info, joules, seconds })
            })
            .collect()
    }
}
