//! Splitting measured windows' joules over the ops that ran in them, or modelling each op.

use super::{ComputeClass, EnergyLabel, EnergyModel, MeterInfo, Scope};
use crate::DeviceKind;
use serde::Serialize;

/// Windows shorter than this many meter update periods are not measured, only attributed.
pub const MIN_PERIODS_FOR_MEASURED: f64 = 10.0;
/// An op must fill this share of a window to be `Measured` from it alone.
const MIN_SHARE_FOR_MEASURED: f64 = 0.9;

/// One meter's joules over a window (a run); its ops are those on the devices the meter covers.
#[derive(Clone, Debug, Serialize)]
pub struct EnergyWindow {
    /// The meter.
    pub meter: MeterInfo,
    /// Joules counted between the window's opening and its close after the device fence.
    pub joules: f64,
    /// Window length, in seconds.
    pub seconds: f64,
}

/// One op as attribution sees it.
#[derive(Copy, Clone, Debug)]
pub struct OpWork {
    /// The device kind the op ran on.
    pub kind: DeviceKind,
    /// That device's energy model.
    pub model: EnergyModel,
    /// The op's arithmetic.
    pub class: ComputeClass,
    /// FLOPs.
    pub flops: u64,
    /// Bytes read and written.
    pub bytes: u64,
    /// Duration, in seconds.
    pub seconds: f64,
}

impl OpWork {
    /// The model's joules for this op.
    pub fn modelled_joules(&self) -> f64 {
        self.model.joules(self.flops, self.class, self.bytes, self.seconds)
    }
}

/// An op's energy, labelled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpEnergy {
    /// Joules.
    pub joules: f64,
    /// Where they came from.
    pub label: EnergyLabel,
    /// The scopes of the meters whose windows it has a share of (empty when modelled).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// What the model alone says (kept beside a measured figure, to compare).
    pub modelled_joules: f64,
}

impl OpEnergy {
    /// The model's figure, labelled as such.
    pub fn modelled(joules: f64) -> OpEnergy {
        OpEnergy { joules, label: EnergyLabel::Modelled, scopes: Vec::new(), modelled_joules: joules }
    }
}

/// The energy of a run's ops.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attribution {
    /// One entry per op, in the order given.
    pub ops: Vec<OpEnergy>,
    /// Joules of the used windows spent outside the ops they cover (host work between kernels),
    /// so that the covered ops plus this equal the windows' sum.
    pub between_ops_j: f64,
    /// Names of the meters whose windows were used (the others overlap them).
    pub meters_used: Vec<String>,
}

impl Attribution {
    /// Total joules of the ops and the label of the sum (the weakest of its parts).
    pub fn total(&self) -> (f64, EnergyLabel) {
        let j = self.ops.iter().map(|o| o.joules).sum::<f64>() + self.between_ops_j;
        (j, EnergyLabel::weakest(self.ops.iter().map(|o| o.label)))
    }
}

/// The windows that count each joule once: package, DRAM and GPU meters where there are any
/// (RAPL core/uncore rails sit inside a package, psys holds everything); else the rails (ODPM
/// rails are disjoint); else the first whole-device meter (platform counter, battery).
pub fn disjoint_windows(windows: &[EnergyWindow]) -> Vec<&EnergyWindow> {
    let of = |scopes: &[Scope]| -> Vec<&EnergyWindow> {
        windows.iter().filter(|w| scopes.contains(&w.meter.scope)).collect()
    };
    let chips = of(&[Scope::Package, Scope::Dram, Scope::Gpu]);
    if !chips.is_empty() {
        return chips;
    }
    let rails = of(&[Scope::Rail]);
    if !rails.is_empty() {
        return rails;
    }
    of(&[Scope::Device]).into_iter().take(1).collect()
}

/// Gives every op its energy. For each window of [`disjoint_windows`], the ops on the devices
/// its meter covers share its joules in proportion to their modelled energy (time × modelled
/// power); the time between them gets the first covered device's static power's share. An op
/// that fills a window (≥ 90 % of a window at least [`MIN_PERIODS_FOR_MEASURED`] update periods
/// long) is `Measured` from it; other covered ops are `Attributed`; an op covered by several
/// windows (package and DRAM) sums its shares and takes the weakest label; ops no window covers
/// are `Modelled`.
pub fn attribute(ops: &[OpWork], windows: &[EnergyWindow]) -> Attribution {
    let modelled: Vec<f64> = ops.iter().map(OpWork::modelled_joules).collect();
    let mut shares: Vec<Vec<(f64, EnergyLabel, Scope)>> = vec![Vec::new(); ops.len()];
    let mut between_ops_j = 0.0;
    let used = disjoint_windows(windows);
    for w in &used {
        let covered: Vec<usize> = (0..ops.len()).filter(|&i| w.meter.covers.contains(&ops[i].kind)).collect();
        if covered.is_empty() {
            between_ops_j += w.joules;
            continue;
        }
        let busy: f64 = covered.iter().map(|&i| ops[i].seconds).sum();
        let gap_model = ops[covered[0]].model.static_w * (w.seconds - busy).max(0.0);
        let weights: f64 = covered.iter().map(|&i| modelled[i]).sum::<f64>() + gap_model;
        let long_enough = w.seconds >= MIN_PERIODS_FOR_MEASURED * w.meter.update_period_s;
        let alone = covered.len() == 1 && busy >= MIN_SHARE_FOR_MEASURED * w.seconds;
        let label = if long_enough && alone { EnergyLabel::Measured } else { EnergyLabel::Attributed };
        let mut given = 0.0;
        for &i in &covered {
            let share =
                if weights > 0.0 { modelled[i] / weights } else { ops[i].seconds / w.seconds.max(f64::MIN_POSITIVE) };
            shares[i].push((w.joules * share, label, w.meter.scope));
            given += w.joules * share;
        }
        between_ops_j += w.joules - given;
    }
    let ops = shares
        .into_iter()
        .zip(&modelled)
        .map(|(parts, &model_j)| {
            if parts.is_empty() {
                return OpEnergy::modelled(model_j);
            }
            OpEnergy {
                joules: parts.iter().map(|p| p.0).sum(),
                label: EnergyLabel::weakest(parts.iter().map(|p| p.1)),
                scopes: parts.iter().map(|p| p.2).collect(),
                modelled_joules: model_j,
            }
        })
        .collect();
    Attribution { ops, between_ops_j, meters_used: used.iter().map(|w| w.meter.name.clone()).collect() }
}
