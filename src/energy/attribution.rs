//! Splitting a measured window's joules over the ops that ran in it, or modelling each op.

use super::{ComputeClass, EnergyLabel, EnergyModel, MeterInfo, Scope};
use crate::DeviceKind;
use serde::Serialize;

/// Windows shorter than this many meter update periods are not measured, only attributed.
pub const MIN_PERIODS_FOR_MEASURED: f64 = 10.0;
/// An op must fill this share of a window to be `Measured` from it alone.
const MIN_SHARE_FOR_MEASURED: f64 = 0.9;

/// One meter's joules over a window (a run); its ops are those on the device the meter covers.
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
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct OpEnergy {
    /// Joules.
    pub joules: f64,
    /// Where they came from.
    pub label: EnergyLabel,
    /// The meter's scope, for measured and attributed figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// What the model alone says (kept beside a measured figure, to compare).
    pub modelled_joules: f64,
}

/// The energy of a run's ops.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attribution {
    /// One entry per op, in the order given.
    pub ops: Vec<OpEnergy>,
    /// Joules of the window spent outside the covered ops (host work between kernels), so that
    /// `ops` (covered) plus this equals the window.
    pub between_ops_j: f64,
}

impl Attribution {
    /// Total joules of the ops and the label of the sum (the weakest of its parts).
    pub fn total(&self) -> (f64, EnergyLabel) {
        let j = self.ops.iter().map(|o| o.joules).sum::<f64>() + self.between_ops_j;
        (j, EnergyLabel::weakest(self.ops.iter().map(|o| o.label)))
    }
}

/// Gives every op its energy. Ops on the device `window` covers share its joules in proportion
/// to their modelled energy (time × modelled power); the time between them gets the device's
/// static power's share. An op that fills the window (≥ 90 % of a window at least
/// [`MIN_PERIODS_FOR_MEASURED`] update periods long) is `Measured`; other covered ops are
/// `Attributed`; ops elsewhere, or every op without a window, are `Modelled`.
pub fn attribute(ops: &[OpWork], window: Option<&EnergyWindow>) -> Attribution {
    let modelled: Vec<f64> = ops.iter().map(OpWork::modelled_joules).collect();
    let model_only = |i: usize| OpEnergy {
        joules: modelled[i],
        label: EnergyLabel::Modelled,
        scope: None,
        modelled_joules: modelled[i],
    };
    let mut out: Vec<OpEnergy> = (0..ops.len()).map(model_only).collect();
    let Some(w) = window else {
        return Attribution { ops: out, between_ops_j: 0.0 };
    };
    let covered: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].kind == w.meter.covers).collect();
    if covered.is_empty() {
        return Attribution { ops: out, between_ops_j: w.joules };
    }
    let busy: f64 = covered.iter().map(|&i| ops[i].seconds).sum();
    let gap_model = ops[covered[0]].model.static_w * (w.seconds - busy).max(0.0);
    let weights: f64 = covered.iter().map(|&i| modelled[i]).sum::<f64>() + gap_model;
    let long_enough = w.seconds >= MIN_PERIODS_FOR_MEASURED * w.meter.update_period_s;
    let alone = covered.len() == 1 && busy >= MIN_SHARE_FOR_MEASURED * w.seconds;
    let label = if long_enough && alone { EnergyLabel::Measured } else { EnergyLabel::Attributed };
    for &i in &covered {
        let share =
            if weights > 0.0 { modelled[i] / weights } else { ops[i].seconds / w.seconds.max(f64::MIN_POSITIVE) };
        out[i] = OpEnergy { joules: w.joules * share, label, scope: Some(w.meter.scope), modelled_joules: modelled[i] };
    }
    let given: f64 = covered.iter().map(|&i| out[i].joules).sum();
    Attribution { ops: out, between_ops_j: w.joules - given }
}
