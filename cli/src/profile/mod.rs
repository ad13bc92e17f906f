//! `edgehal profile`: run bench cases ([`preset`]) or a model's prefill and decode ([`model`])
//! with profiling on, print each run's summary table (time, rates, energy with its label) and
//! write the Chrome/Perfetto trace and the profiles as JSON.

mod model;
mod preset;

use crate::energy_model;
use crate::error::{CliError, Result, write_file};
use edgehal::Profile;
use edgehal::energy::{EnergyLabel, EnergyModel};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `edgehal profile`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = PROFILE_HELP)]
pub struct ProfileArgs {
    /// Profile the cases of this `edgehal bench` preset (quick, small, ops, ...).
    #[arg(long)]
    pub preset: Option<String>,
    /// With --preset: only this op.
    #[arg(long)]
    pub op: Option<String>,
    /// With --preset: only this dtype.
    #[arg(long)]
    pub dtype: Option<String>,
    /// Profile a prefill and decode steps of this GGUF model (Llama family) instead.
    #[arg(long, value_name = "GGUF")]
    pub model: Option<PathBuf>,
    /// Backend to run on; with --model a list in order of preference (`wgpu,cpu`).
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// With --model: prompt tokens (random ids) of the profiled prefill [default: 64].
    #[arg(long)]
    pub prompt_tokens: Option<usize>,
    /// With --model: decode steps profiled after the prompt [default: 8].
    #[arg(long)]
    pub gen_tokens: Option<usize>,
    /// With --model: how the model is set up.
    #[command(flatten)]
    pub setup: crate::model::ModelSetup,
    /// With --preset: runs of each case in one meter window (default: 1 without a meter, else
    /// enough for 10 update periods of the slowest meter).
    #[arg(long, value_name = "N")]
    pub repeat: Option<usize>,
    /// Price modelled energy with this fitted model (`edgehal calibrate`) for the first backend,
    /// instead of the cached one.
    #[arg(long, value_name = "FILE.json")]
    pub energy_model: Option<PathBuf>,
    /// Write a Chrome/Perfetto trace (chrome://tracing, ui.perfetto.dev): every case or phase
    /// a process of its own, laid end to end.
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,
    /// Write every case's or phase's profile as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub json: Option<PathBuf>,
}

const PROFILE_HELP: &str = "\
Energy is measured where a meter exists (RAPL, NVML, ODPM, INA3221, battery; see `edgehal devices`):
each case runs --repeat times in one meter window and its joules are split over the ops
(`attributed`; `measured` when one op fills a window of >= 10 update periods). A model's prefill
chunks and decode steps are one window each. Without a meter every figure is the energy model's
(`modelled`), priced by the model `edgehal calibrate` fitted, where one is cached.";

/// Default prompt length of `--model`.
const PROMPT_TOKENS: usize = 64;
/// Default decode steps of `--model`.
const GEN_TOKENS: usize = 8;

/// One profiled case or phase, as the JSON holds it.
#[derive(Debug, Serialize)]
pub struct Phase {
    /// The case (`matmul f32 m=4 n=64 k=64`) or phase (`prefill`, `decode`).
    pub label: String,
    /// Tokens the phase ran (model phases only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<usize>,
    /// Joules of one run (ops and the measured time between them).
    pub energy_j: f64,
    /// The weakest label of the records.
    pub energy_label: EnergyLabel,
    /// `energy_j / tokens` (model phases only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub j_per_token: Option<f64>,
    /// The profile: records, meter windows, notes.
    pub profile: Profile,
}

impl Phase {
    /// A phase with its energy totals.
    pub fn new(label: String, tokens: Option<usize>, profile: Profile) -> Phase {
        let (energy_j, energy_label) = profile.energy_total();
        let j_per_token = tokens.map(|t| energy_j / t.max(1) as f64);
        Phase { label, tokens, energy_j, energy_label, j_per_token, profile }
    }
}

/// What `--json` writes.
#[derive(Serialize)]
struct Report<'a> {
    /// `preset NAME` or the model file.
    source: String,
    /// The backend (list).
    backend: &'a str,
    /// Which energy model priced each backend.
    energy_models: &'a [String],
    /// The cases or phases, in order.
    phases: &'a [Phase],
}

/// Runs the command.
pub fn run(args: &ProfileArgs) -> Result<ExitCode> {
    let (source, pricing, phases) = match (&args.preset, &args.model) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage("give either --preset P or --model M.gguf, not both".into()));
        }
        (None, None) => {
            return Err(CliError::Usage(
                "nothing to profile: give --preset P (bench cases, e.g. small) or --model M.gguf".into(),
            ));
        }
        (Some(name), None) => {
            if args.prompt_tokens.is_some() || args.gen_tokens.is_some() || args.setup.ctx.is_some() {
                return Err(CliError::Usage("--prompt-tokens, --gen-tokens and --ctx go with --model".into()));
            }
            if args.repeat == Some(0) {
                return Err(CliError::Usage("--repeat must be at least 1".into()));
            }
            let pricing = Pricing::load(std::slice::from_ref(&args.backend), args.energy_model.as_deref())?;
            let phases = preset::run(args, name, pricing.models.first().map(|m| m.1))?;
            (format!("preset {name}"), pricing, phases)
        }
        (None, Some(path)) => {
            if args.op.is_some() || args.dtype.is_some() || args.repeat.is_some() {
                return Err(CliError::Usage(
                    "--op, --dtype and --repeat go with --preset (a model's prefill chunks and decode steps are \
                     one meter window each)"
                        .into(),
                ));
            }
            let (prompt, steps) = (args.prompt_tokens.unwrap_or(PROMPT_TOKENS), args.gen_tokens.unwrap_or(GEN_TOKENS));
            if prompt == 0 || steps == 0 {
                return Err(CliError::Usage("--prompt-tokens and --gen-tokens must be at least 1".into()));
            }
            let mut names: Vec<String> = args.backend.split(',').map(|b| b.trim().to_string()).collect();
            // LlamaModel adds the CPU for what no listed backend supports.
            if !names.iter().any(|n| n == "cpu") {
                names.push("cpu".into());
            }
            let pricing = Pricing::load(&names, args.energy_model.as_deref())?;
            let model_args = crate::model::ModelArgs {
                model: path.clone(),
                backend: args.backend.clone(),
                setup: args.setup.clone(),
            };
            let phases = model::run(&model_args, pricing.models.clone(), prompt, steps)?;
            (path.display().to_string(), pricing, phases)
        }
    };
    if let Some(path) = &args.trace {
        let parts: Vec<(&str, &Profile)> = phases.iter().map(|p| (p.label.as_str(), &p.profile)).collect();
        write_file(path, Profile::chrome_trace_of(&parts).to_string() + "\n")?;
    }
    if let Some(path) = &args.json {
        let report = Report { source, backend: &args.backend, energy_models: &pricing.lines, phases: &phases };
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(format!("JSON: {e}")))?;
        write_file(path, text + "\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The energy models that price the backends, and the lines saying which.
struct Pricing {
    /// Fitted models by backend name (a backend without one keeps its device kind's defaults).
    models: Vec<(String, EnergyModel)>,
    /// One line per backend, as printed.
    lines: Vec<String>,
}

impl Pricing {
    /// The fitted models of `backends` (`explicit` for the first, else each one's cached file),
    /// printing once which model prices each.
    fn load(backends: &[String], explicit: Option<&Path>) -> Result<Pricing> {
        let mut pricing = Pricing { models: Vec::new(), lines: Vec::new() };
        for (i, backend) in backends.iter().enumerate() {
            let loaded = energy_model::load(backend, if i == 0 { explicit } else { None })?;
            let line = energy_model::describe(backend, &loaded);
            println!("{line}");
            pricing.lines.push(line);
            if let Some((fitted, _)) = loaded {
                pricing.models.push((backend.clone(), fitted.model));
            }
        }
        Ok(pricing)
    }
}

/// A case's or phase's header and summary table.
fn table(title: &str, profile: &Profile) -> String {
    format!("\n== {title}\n{}", profile.summary_table())
}
