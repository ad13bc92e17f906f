//! Timing one case: sessions over enough weight copies to defeat the cache when the op is
//! memory-bound, a warm-up run per copy, then N timed runs cycling over the copies; then its
//! energy (see [`energy`]).

use super::case::BenchCase;
use crate::error::Result;
use edgehal::energy::{EnergyLabel, EnergyModel};
use edgehal::{Backend, OpCost, Peaks, RunOptions, Session};
use std::sync::Arc;
use std::time::Instant;

/// Most copies made of a memory-bound case's operands.
const MAX_COPIES: usize = 512;
/// Operands of memory-bound cases are copied until they total this many times the LLC.
const LLC_MULTIPLE: u64 = 4;
/// With `--iters` not given: at least this many timed runs ...
const AUTO_MIN_ITERS: usize = 5;
/// ... and more until this much kernel time has been measured ...
const AUTO_TARGET_NS: u64 = 1_000_000_000;
/// ... but never more than this many.
const AUTO_MAX_ITERS: usize = 200;

/// How a case ran.
pub struct Measurement {
    /// FLOPs and bytes of one run.
    pub cost: OpCost,
    /// True when the case is left of the roofline's ridge (bytes dominate).
    pub memory_bound: bool,
    /// Copies of the operands cycled over.
    pub copies: usize,
    /// Bytes of all copies' operands.
    pub working_set_bytes: u64,
    /// Timed runs.
    pub iters: usize,
    /// Kernel time of every timed run, in ns, sorted.
    pub samples_ns: Vec<u64>,
    /// Energy of one run.
    pub energy: EnergyFigure,
}

/// The energy of one run of a case: the sum of its records' joules (nothing between ops).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnergyFigure {
    /// Joules per run.
    pub joules: f64,
    /// The weakest label of the records summed.
    pub label: EnergyLabel,
    /// Runs in each meter window (0: no meter; the figure is the timed runs' modelled median).
    pub runs_per_window: usize,
    /// Meter windows measured.
    pub windows: usize,
    /// The meters whose windows were split over the ops.
    pub meters: Vec<String>,
    /// Why a window gave no measurement (too short, a failing meter), once each.
    pub notes: Vec<String>,
}

impl Measurement {
    /// The median kernel time.
    pub fn median_ns(&self) -> u64 {
        median(&mut self.samples_ns.clone())
    }

    /// The best kernel time.
    pub fn best_ns(&self) -> u64 {
        self.samples_ns[0]
    }
}

/// FLOPs per byte moved above which an op is compute-bound on a device with these peaks.
pub fn ridge(peaks: &Peaks) -> f64 {
    if peaks.read_gbps > 0.0 { peaks.f32_gflops / peaks.read_gbps } else { 10.0 }
}

/// Runs `case` on `backend`. `iters: None` picks the count automatically.
pub fn measure(
    case: &BenchCase,
    backend: &Arc<dyn Backend>,
    peaks: &Peaks,
    llc_bytes: u64,
    iters: Option<usize>,
    energy_model: Option<EnergyModel>,
) -> Result<Measurement> {
    let first = case.build(0)?;
    let (cost, operand_bytes) = (first.cost, first.operand_bytes);
    let moved = (cost.bytes_read + cost.bytes_written).max(1);
    let memory_bound = (cost.flops as f64 / moved as f64) < ridge(peaks);
    let copies = if memory_bound { copies_for(operand_bytes, llc_bytes) } else { 1 };

    let mut sessions = Vec::with_capacity(copies);
    sessions.push(first.into_session(backend, energy_model)?);
    for c in 1..copies {
        sessions.push(case.build(c as u64)?.into_session(backend, energy_model)?);
    }
    let opts = RunOptions { profile: true, ..RunOptions::default() };
    for s in &mut sessions {
        timed_run(s, &opts)?;
    }
    let mut samples = Vec::new();
    let mut walls = Vec::new();
    let mut energies = Vec::new();
    let mut total = 0u64;
    loop {
        let done = match iters {
            Some(n) => samples.len() >= n.max(1),
            None => samples.len() >= AUTO_MAX_ITERS || (samples.len() >= AUTO_MIN_ITERS && total >= AUTO_TARGET_NS),
        };
        if done {
            break;
        }
        let run = timed_run(&mut sessions[samples.len() % copies], &opts)?;
        total += run.kernel_ns;
        samples.push(run.kernel_ns);
        walls.push(run.wall_ns);
        energies.push(run.energy);
    }
    samples.sort_unstable();
    // Meters are attached only now, so the timed runs above ran without meter reads.
    let (meters, _) = edgehal::energy::discover();
    let energy = if meters.is_empty() {
        energy::modelled(energies)
    } else {
        energy::measure(&mut sessions, meters, median(&mut walls))?
    };
    Ok(Measurement {
        cost,
        memory_bound,
        copies,
        working_set_bytes: operand_bytes * copies as u64,
        iters: samples.len(),
        samples_ns: samples,
        energy,
    })
}

/// Copies whose total is at least `LLC_MULTIPLE` × the LLC, within `1..=MAX_COPIES`.
fn copies_for(operand_bytes: u64, llc_bytes: u64) -> usize {
    (LLC_MULTIPLE * llc_bytes).div_ceil(operand_bytes.max(1)).clamp(1, MAX_COPIES as u64) as usize
}

/// The median of `v` (0 when empty); sorts `v`.
pub fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    match v.len() {
        0 => 0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

/// One timed run.
struct TimedRun {
    /// Time inside the kernels (wall time if the backend gave none).
    kernel_ns: u64,
    /// Wall time of the whole run.
    wall_ns: u64,
    /// The records' joules and their weakest label.
    energy: (f64, EnergyLabel),
}

fn timed_run(session: &mut Session, opts: &RunOptions) -> Result<TimedRun> {
    let start = Instant::now();
    session.run_with(&[], opts)?;
    let wall_ns = start.elapsed().as_nanos() as u64;
    let profile = session.last_profile();
    let kernels: u64 = profile.map_or(0, |p| p.records.iter().map(|r| r.duration_ns).sum());
    let energy = profile.map_or((0.0, EnergyLabel::Modelled), energy::of_profile);
    Ok(TimedRun { kernel_ns: if kernels > 0 { kernels } else { wall_ns }, wall_ns, energy })
}

/// Energy of a case: modelled from the timed runs' profiles, or measured in meter windows.
pub(super) mod energy {
    use super::EnergyFigure;
    use crate::error::Result;
    use edgehal::energy::{EnergyLabel, EnergyMeter};
    use edgehal::{Profile, RunOptions, Session};

    /// A meter window spans at least this many of the slowest meter's update periods.
    pub const PERIODS_PER_WINDOW: f64 = 10.0;
    /// Windows per case (the median is reported).
    pub const WINDOWS: usize = 3;
    /// Most runs in one window (tiny ops).
    pub const MAX_RUNS_PER_WINDOW: usize = 100_000;

    /// The records' joules (ops only, not the time between them) and their weakest label.
    pub fn of_profile(p: &Profile) -> (f64, EnergyLabel) {
        let joules = p.records.iter().map(|r| r.energy.joules).sum();
        (joules, EnergyLabel::weakest(p.records.iter().map(|r| r.energy.label)))
    }

    /// Without meters: the median of the timed runs' modelled energies.
    pub fn modelled(runs: Vec<(f64, EnergyLabel)>) -> EnergyFigure {
        let label = EnergyLabel::weakest(runs.iter().map(|r| r.1));
        let mut j: Vec<f64> = runs.into_iter().map(|r| r.0).collect();
        EnergyFigure { joules: median_f64(&mut j), label, ..EnergyFigure::default() }
    }

    /// With meters: [`WINDOWS`] windows of `run_repeated`, each long enough for
    /// [`PERIODS_PER_WINDOW`] update periods at `wall_ns` per run, cycling over the copies (the runs
    /// inside one window repeat one copy, so a memory-bound op whose operands fit in the LLC may
    /// read them from cache there). A window that gives no measurement doubles the next one. The
    /// figure is the median of the windows with the strongest label.
    pub fn measure(sessions: &mut [Session], meters: Vec<Box<dyn EnergyMeter>>, wall_ns: u64) -> Result<EnergyFigure> {
        let period = meters.iter().map(|m| m.info().update_period_s).fold(0.0, f64::max);
        let mut runs = runs_for(period, wall_ns);
        let mut meters = Some(meters);
        let opts = RunOptions { profile: true, ..RunOptions::default() };
        let mut fig = EnergyFigure::default();
        let mut windows: Vec<(f64, EnergyLabel)> = Vec::new();
        for w in 0..WINDOWS {
            let session = &mut sessions[w % sessions.len()];
            // The meters move to the session that runs the window; discover() opens fresh ones
            // for the next copy, as a session keeps the meters it was given.
            let m = meters.take().unwrap_or_else(|| edgehal::energy::discover().0);
            session.attach_meters(m);
            session.run_repeated(&[], &opts, runs)?;
            let p = session.last_profile().expect("run_repeated leaves a profile");
            let (j, label) = of_profile(p);
            for n in &p.energy_notes {
                if !fig.notes.contains(n) {
                    fig.notes.push(n.clone());
                }
            }
            for m in &p.meters_used {
                if !fig.meters.contains(m) {
                    fig.meters.push(m.clone());
                }
            }
            fig.runs_per_window = runs;
            windows.push((j, label));
            if label == EnergyLabel::Modelled {
                runs = (runs * 2).min(MAX_RUNS_PER_WINDOW);
            }
        }
        let best = windows.iter().map(|w| w.1).max().unwrap_or_default();
        let mut j: Vec<f64> = windows.iter().filter(|w| w.1 == best).map(|w| w.0).collect();
        fig.joules = median_f64(&mut j);
        fig.label = best;
        fig.windows = windows.len();
        Ok(fig)
    }

    /// Runs whose wall time covers [`PERIODS_PER_WINDOW`] update periods of `period_s`.
    pub fn runs_for(period_s: f64, wall_ns: u64) -> usize {
        let want = PERIODS_PER_WINDOW * period_s * 1e9 / wall_ns.max(1) as f64;
        (want.ceil() as usize).clamp(1, MAX_RUNS_PER_WINDOW)
    }

    fn median_f64(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_windows_cover_ten_periods() {
        assert_eq!(energy::runs_for(1e-3, 1_000_000), 10);
        assert_eq!(energy::runs_for(1e-3, 3_000_000), 4);
        assert_eq!(energy::runs_for(1e-3, 50_000_000), 1);
        assert_eq!(energy::runs_for(1e-3, 1), energy::MAX_RUNS_PER_WINDOW);
        let m = energy::modelled(vec![
            (3.0, EnergyLabel::Modelled),
            (1.0, EnergyLabel::Modelled),
            (2.0, EnergyLabel::Modelled),
        ]);
        assert_eq!((m.joules, m.label, m.runs_per_window), (2.0, EnergyLabel::Modelled, 0));
    }

    #[test]
    fn copies_cover_four_llcs() {
        let llc = 32 << 20;
        assert_eq!(copies_for(9_437_184, llc), 15);
        assert_eq!(copies_for(64 << 20, llc), 2);
        assert_eq!(copies_for(1 << 30, llc), 1);
        assert_eq!(copies_for(100, llc), MAX_COPIES);
        assert_eq!(copies_for(1 << 20, llc), 128);
    }

    #[test]
    fn median_and_best() {
        let m = |s: Vec<u64>| Measurement {
            cost: OpCost::default(),
            memory_bound: false,
            copies: 1,
            working_set_bytes: 0,
            iters: s.len(),
            samples_ns: s,
            energy: EnergyFigure::default(),
        };
        assert_eq!(m(vec![1, 2, 9]).median_ns(), 2);
        assert_eq!(m(vec![1, 3, 5, 9]).median_ns(), 4);
        assert_eq!(m(vec![4, 5]).best_ns(), 4);
    }
}
