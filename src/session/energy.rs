//! Meter windows around runs: open after nothing is in flight, close after the device fence
//! (every backend's `run` has returned), split the joules over the ops.

use super::{Outputs, RunOptions, Session};
use crate::energy::{EnergyLabel, EnergyWindow, OpEnergy, WindowGuard, attribute};
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::tensor::Tensor;

/// A window shorter than this many update periods of its meter, or one in which the counter has
/// not stepped yet, is not used: its count is one or two hardware steps, not a measurement.
const MIN_PERIODS_FOR_A_WINDOW: f64 = 2.0;

impl Session {
    /// Runs `repeats` times (at least once) inside one window of the attached meters, so that
    /// ops shorter than a meter's update period still get a measured share; the profile is the
    /// last run's, with each op's energy the mean over the runs. Without meters energy is
    /// modelled. States advance as in `repeats` separate runs (a decode graph appends to its KV
    /// cache each time: profile it at a fixed `position` or restore the state after).
    pub fn run_repeated(&mut self, inputs: &[(&str, &Tensor)], opts: &RunOptions, repeats: usize) -> Result<Outputs> {
        let opts = RunOptions { profile: true, ..opts.clone() };
        let mut meters = std::mem::take(&mut self.meters);
        let mut notes = Vec::new();
        let guard = if meters.is_empty() {
            None
        } else {
            WindowGuard::open(&mut meters).map_err(|e| notes.push(format!("{e}; energy is modelled"))).ok()
        };
        let mut runs: Vec<Profile> = Vec::with_capacity(repeats.max(1));
        let mut outputs = None;
        for _ in 0..repeats.max(1) {
            match self.run_once(inputs, &opts) {
                Ok(o) => outputs = Some(o),
                Err(e) => {
                    drop(guard);
                    self.meters = meters;
                    return Err(e);
                }
            }
            runs.push(self.last_profile.take().expect("a profiled run leaves a profile"));
        }
        let windows = guard.map(|g| usable_windows(g.close(), &mut notes)).unwrap_or_default();
        self.meters = meters;
        self.last_profile = Some(merge(runs, windows, notes));
        outputs.ok_or_else(|| Error::Graph("no run was made".into()))
    }
}

/// The windows that closed cleanly and are long enough; a note for each of the others.
fn usable_windows(closed: Vec<Result<EnergyWindow>>, notes: &mut Vec<String>) -> Vec<EnergyWindow> {
    let mut out = Vec::new();
    for w in closed {
        match w {
            Err(e) => notes.push(format!("{e}; its ops' energy is modelled")),
            Ok(w) if w.seconds < MIN_PERIODS_FOR_A_WINDOW * w.meter.update_period_s || w.joules <= 0.0 => {
                notes.push(format!(
                    "{}: {:.6} J in {:.3} ms, under {MIN_PERIODS_FOR_A_WINDOW} update periods ({:.3} ms each) or \
                     before the counter's next step; energy is modelled: repeat the graph in one window \
                     (Session::run_repeated, edgehal profile --repeat)",
                    w.meter.name,
                    w.joules,
                    w.seconds * 1e3,
                    w.meter.update_period_s * 1e3
                ))
            }
            Ok(w) => out.push(w),
        }
    }
    out
}

/// The last run's profile with energies attributed over all runs' ops, then averaged per op.
fn merge(mut runs: Vec<Profile>, windows: Vec<EnergyWindow>, notes: Vec<String>) -> Profile {
    let n = runs.len();
    let work: Vec<_> = runs.iter().flat_map(|p| p.work.iter().copied()).collect();
    let a = attribute(&work, &windows);
    let mut last = runs.pop().expect("at least one run");
    let per_run = last.records.len();
    let same_shape = runs.iter().all(|p| p.records.len() == per_run);
    for (i, r) in last.records.iter_mut().enumerate() {
        let parts: Vec<&OpEnergy> = if same_shape {
            (0..n).map(|run| &a.ops[run * per_run + i]).collect()
        } else {
            vec![&a.ops[work.len() - per_run + i]]
        };
        let k = parts.len() as f64;
        r.energy = OpEnergy {
            joules: parts.iter().map(|e| e.joules).sum::<f64>() / k,
            label: EnergyLabel::weakest(parts.iter().map(|e| e.label)),
            scopes: parts[0].scopes.clone(),
            modelled_joules: parts.iter().map(|e| e.modelled_joules).sum::<f64>() / k,
        };
    }
    last.energy_between_ops_j = a.between_ops_j / n as f64;
    last.meters_used = a.meters_used;
    last.energy_windows = windows;
    last.energy_notes = notes;
    last.energy_window_runs = n;
    last
}
