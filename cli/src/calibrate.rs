//! `edgehal calibrate`: fit a backend's energy model to this machine's energy meter.
//!
//! Runs a fixed set of one-op graphs that load the model's terms differently (f32, f16 and int8
//! compute-bound matmuls, memory-bound GEMVs and element-wise ops), each repeated inside meter
//! windows, fits `pJ/FLOP` by class, `pJ/byte` and static W to the windows
//! ([`edgehal::energy::fit`]) and writes the model where `profile` and `bench` read it
//! ([`crate::energy_model`]). Without a meter it fails and says why no meter was found: a model
//! "fitted" to modelled figures would only give the defaults back.

use crate::backends;
use crate::bench::BenchCase;
use crate::energy_model::{self, FittedModel};
use crate::error::{CliError, Result, write_file};
use crate::progress;
use edgehal::energy::{EnergyMeter, EnergyModel, FitSample, fit};
use edgehal::{DType, RunOptions};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `edgehal calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Backend whose model to fit.
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// Where to write the model (default: the cache file `profile` and `bench` read).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write every window and the fit as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Length of each meter window, in ms (at least 10 update periods of the slowest meter).
    #[arg(long, default_value_t = 250)]
    pub window_ms: u64,
    /// Windows per case.
    #[arg(long, default_value_t = 3)]
    pub windows: usize,
    /// Tiny shapes: a check that the command works, not a good fit (caches hold every operand).
    #[arg(long)]
    pub small: bool,
}

/// The cases, full size: compute-bound matmuls of each class and DRAM-bound ops.
const CASES: &[(&str, DType, &[usize])] = &[
    ("matmul", DType::F32, &[128, 1024, 1024]),
    ("matmul", DType::F16, &[128, 1024, 1024]),
    ("matmul", DType::Q8_0, &[128, 2048, 2048]),
    ("matmul", DType::F32, &[1, 4096, 4096]),
    ("matmul", DType::Q4_0, &[1, 14336, 4096]),
    ("add", DType::F32, &[16 << 20]),
    ("copy", DType::F32, &[16 << 20]),
];

/// The cases with `--small`.
const SMALL_CASES: &[(&str, DType, &[usize])] = &[
    ("matmul", DType::F32, &[16, 64, 64]),
    ("matmul", DType::F16, &[16, 64, 64]),
    ("matmul", DType::Q8_0, &[16, 64, 256]),
    ("matmul", DType::Q4_0, &[1, 256, 256]),
    ("add", DType::F32, &[1 << 12]),
    ("copy", DType::F32, &[1 << 12]),
];

/// One case's windows, as reported.
#[derive(Serialize)]
struct CaseReport {
    case: String,
    runs_per_window: usize,
    /// Joules per window: the meters', the default model's and the fitted model's.
    measured_j: Vec<f64>,
    default_model_j: Vec<f64>,
    fitted_j: Vec<f64>,
    seconds: Vec<f64>,
}

/// What `--json` writes.
#[derive(Serialize)]
struct CalibrationReport<'a> {
    fitted: &'a FittedModel,
    default_model: EnergyModel,
    not_fitted: &'a [&'static str],
    written_to: String,
    cases: Vec<CaseReport>,
}

/// Runs the command.
pub fn run(args: &CalibrateArgs) -> Result<ExitCode> {
    if args.windows == 0 {
        return Err(CliError::param("calibrate", "--windows", "0", "must be at least 1"));
    }
    let backend = backends::create(&args.backend)?;
    let kind = backend.device().kind;
    let (mut meters, reasons) = edgehal::energy::discover();
    meters.retain(|m| m.info().covers.contains(&kind));
    if meters.is_empty() {
        return Err(CliError::Usage(format!(
            "calibrate fits the energy model to a meter, and no energy meter covers the {kind:?} device of backend \
             `{}` here ({}); see `edgehal devices`",
            args.backend,
            reasons.iter().map(|r| format!("{}: {}", r.name, r.detail)).collect::<Vec<_>>().join("; ")
        )));
    }
    let period = meters.iter().map(|m| m.info().update_period_s).fold(0.0, f64::max);
    let window_s = (args.window_ms as f64 * 1e-3).max(10.0 * period);
    let meter_names: Vec<String> = meters.iter().map(|m| m.info().name.clone()).collect();
    let list = if args.small { SMALL_CASES } else { CASES };

    let bar = progress::bar(list.len() as u64);
    let mut cases = Vec::new();
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for (op, dtype, dims) in list {
        let case = BenchCase::new(op, Some(*dtype), dims.to_vec())?;
        bar.set_message(case.label());
        let (windows, runs) = measure_case(&case, &backend, &mut meters, window_s, args.windows, &mut notes)?;
        cases.push((case.label(), runs, windows.clone()));
        samples.extend(windows);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for n in &notes {
        eprintln!("note: {n}");
    }
    let prior = EnergyModel::for_kind(kind);
    let result = fit(&samples, prior)?;
    let fitted = FittedModel {
        backend: args.backend.clone(),
        model: result.model,
        meters: meter_names,
        windows: samples.len(),
        rms_relative_error: result.rms_relative_error,
        fitted_unix_s: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    };
    let out = args.out.clone().unwrap_or_else(|| energy_model::default_path(&args.backend));
    energy_model::save(&out, &fitted)?;

    let reports: Vec<CaseReport> = cases
        .into_iter()
        .map(|(case, runs, w)| CaseReport {
            case,
            runs_per_window: runs,
            measured_j: w.iter().map(|s| s.joules).collect(),
            default_model_j: w.iter().map(|s| s.joules_of(&prior)).collect(),
            fitted_j: w.iter().map(|s| s.joules_of(&fitted.model)).collect(),
            seconds: w.iter().map(|s| s.seconds).collect(),
        })
        .collect();
    print!("{}", table(&reports));
    let m = &fitted.model;
    println!(
        "fitted to {} over {} windows: f32 {:.2} pJ/FLOP, f16 {:.2} pJ/FLOP, int8 {:.2} pJ/op, {:.1} pJ/byte, \
         static {:.2} W; rms error {:.1} %",
        fitted.meters.join(", "),
        fitted.windows,
        m.pj_per_flop_f32,
        m.pj_per_flop_f16,
        m.pj_per_op_int8,
        m.pj_per_byte,
        m.static_w,
        100.0 * fitted.rms_relative_error
    );
    if !result.not_fitted.is_empty() {
        println!("not exercised, kept at the defaults: {}", result.not_fitted.join(", "));
    }
    println!("wrote {}", out.display());
    if let Some(path) = &args.json {
        let report = CalibrationReport {
            fitted: &fitted,
            default_model: prior,
            not_fitted: &result.not_fitted,
            written_to: out.display().to_string(),
            cases: reports,
        };
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(format!("JSON: {e}")))?;
        write_file(path, text + "\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `case` in `windows` meter windows of at least `window_s` each; returns the windows that
/// measured something and the runs per window. The meters move into the case's session and back.
fn measure_case(
    case: &BenchCase,
    backend: &std::sync::Arc<dyn edgehal::Backend>,
    meters: &mut Vec<Box<dyn EnergyMeter>>,
    window_s: f64,
    windows: usize,
    notes: &mut Vec<String>,
) -> Result<(Vec<FitSample>, usize)> {
    let mut session = case.build(0)?.into_session(backend, None)?;
    let plain = RunOptions::default();
    session.run_with(&[], &plain)?;
    let start = Instant::now();
    session.run_with(&[], &plain)?;
    let wall = start.elapsed().as_secs_f64().max(1e-7);
    let runs = ((window_s / wall).ceil() as usize).clamp(1, 1_000_000);
    let kind = backend.device().kind;
    session.attach_meters(std::mem::take(meters));
    let mut out = Vec::with_capacity(windows);
    let mut result = Ok(());
    for _ in 0..windows {
        if let Err(e) = session.run_repeated(&[], &plain, runs) {
            result = Err(e);
            break;
        }
        let p = session.last_profile().expect("run_repeated leaves a profile");
        match FitSample::from_profile(p, kind) {
            Some(s) if s.joules > 0.0 => out.push(s),
            _ => notes.extend(p.energy_notes.iter().map(|n| format!("{}: {n}", case.label()))),
        }
    }
    *meters = session.detach_meters();
    result?;
    Ok((out, runs))
}

/// Per case: runs per window, mean window length, and mean joules by meter, defaults and fit.
fn table(cases: &[CaseReport]) -> String {
    let width = cases.iter().map(|c| c.case.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<width$}  {:>8} {:>10} {:>12} {:>12} {:>12}\n",
        "case", "runs/win", "window ms", "meter J", "default J", "fitted J"
    );
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    for c in cases {
        out += &format!(
            "{:<width$}  {:>8} {:>10.1} {:>12.4} {:>12.4} {:>12.4}\n",
            c.case,
            c.runs_per_window,
            mean(&c.seconds) * 1e3,
            mean(&c.measured_j),
            mean(&c.default_model_j),
            mean(&c.fitted_j)
        );
    }
    out
}
