//! `edgehal profile --preset P`: each bench case warmed up once, then run `--repeat` times in one
//! window of freshly discovered meters; its profile is the last run's, energies per run.

use super::{Phase, ProfileArgs, table};
use crate::bench::{self, BenchCase};
use crate::error::{CliError, Result};
use crate::{backends, progress};
use edgehal::energy::EnergyModel;
use edgehal::{Backend, Profile, RunOptions};
use std::sync::Arc;
use std::time::Instant;

/// Windows sized again when the first (sized from the warm run) gave no measurement.
const AUTO_RETRIES: usize = 3;

/// Profiles the cases of `preset` that pass the `--op` / `--dtype` filters, printing each table
/// as it is made; `model` prices the backend's modelled energy when given.
pub fn run(args: &ProfileArgs, preset: &str, model: Option<EnergyModel>) -> Result<Vec<Phase>> {
    let (_, cases) = bench::select_cases(Some(preset), args.op.as_deref(), args.dtype.as_deref(), &[])?;
    let backend = backends::create(&args.backend)?;
    let bar = progress::bar(cases.len() as u64);
    let mut phases = Vec::with_capacity(cases.len());
    for case in &cases {
        bar.set_message(case.label());
        let (profile, metered, runs) = profile_case(case, &backend, model, args.repeat)?;
        let mut title = format!("{} on {}", case.label(), backend.name());
        if metered {
            title += &format!(": {runs} run{} in one meter window", if runs == 1 { "" } else { "s" });
        }
        let text = table(&title, &profile);
        bar.suspend(|| print!("{text}"));
        phases.push(Phase::new(case.label(), None, profile));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(phases)
}

/// One case: a warm run, then `repeat` runs (default: see [`ProfileArgs::repeat`]) in one window
/// of the meters `discover()` opens now. Returns the profile, whether a meter was attached and
/// the runs in its window.
fn profile_case(
    case: &BenchCase,
    backend: &Arc<dyn Backend>,
    model: Option<EnergyModel>,
    repeat: Option<usize>,
) -> Result<(Profile, bool, usize)> {
    let mut session = case.build(0)?.into_session(backend, model)?;
    let opts = RunOptions { profile: true, ..RunOptions::default() };
    let start = Instant::now();
    session.run_with(&[], &opts)?;
    let wall_ns = start.elapsed().as_nanos() as u64;
    let (meters, _) = edgehal::energy::discover();
    let slowest = meters.iter().map(|m| m.info().update_period_s).fold(0.0, f64::max);
    let metered = !meters.is_empty();
    let mut runs = repeat.unwrap_or(if metered { bench::runs_for(slowest, wall_ns) } else { 1 });
    session.attach_meters(meters);
    let mut attempts = 0;
    loop {
        session.run_repeated(&[], &opts, runs)?;
        let profile =
            session.last_profile().cloned().ok_or_else(|| CliError::Usage("a profiled run left no profile".into()))?;
        attempts += 1;
        // A warm run slower than the ones after it (a busy machine) can leave the window too
        // short for any meter: size it again from the repeated runs' own time.
        if !metered || repeat.is_some() || !profile.meters_used.is_empty() || attempts > AUTO_RETRIES {
            return Ok((profile, metered, runs));
        }
        runs = bench::runs_for(slowest, profile.total_ns).max(2 * runs);
    }
}
