//! The commands that run a GGUF model: `edgehal run` (generate text) and the model half of
//! `edgehal bench` ([`bench`]), over one loader ([`LoadedModel`]).

pub mod bench;
pub mod objective;
pub mod run;

use crate::error::Result;
use edgehal::energy::EnergyModel;
use edgehal::gguf::GgufFile;
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::tokenizer::Tokenizer;
use std::path::Path;
use std::time::{Duration, Instant};

/// The model file and backend of `edgehal run`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// The GGUF model file (Llama family).
    #[arg(long, short)]
    pub model: std::path::PathBuf,
    /// Backend to run on, or several in order of preference (`wgpu,cpu`); what none supports
    /// runs on the CPU.
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// How the model is set up.
    #[command(flatten)]
    pub setup: ModelSetup,
}

/// How a model is set up, shared by `edgehal run` and `edgehal bench --model`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelSetup {
    /// KV-cache positions (default: the trained context, at most 4096).
    #[arg(long)]
    pub ctx: Option<usize>,
    /// Tokens per prefill run.
    #[arg(long, default_value_t = 64)]
    pub chunk: usize,
    /// Keep matmul activations in f32 instead of 8 bits (slower; closest to an exact product).
    #[arg(long)]
    pub f32_activations: bool,
    /// What placement optimises over the backends: preference (first that supports a node),
    /// latency, energy, or energy-within=F (least energy within F x the fastest plan's time).
    #[arg(long, default_value = "preference", value_parser = objective::parse)]
    pub objective: edgehal::Objective,
}

/// A model ready to run, with its tokenizer and what loading cost.
pub struct LoadedModel {
    /// The mapped file.
    pub file: GgufFile,
    /// The model on its backend, sessions compiled.
    pub model: LlamaModel,
    /// The file's own tokenizer.
    pub tokenizer: Tokenizer,
    /// Opening, reading the tokenizer and building the model.
    pub load_time: Duration,
    /// Compiling the sessions (packing weights, building pipelines).
    pub compile_time: Duration,
    /// Peak resident memory of the process right after compiling, in bytes (`VmHWM`), when
    /// `/proc` has it.
    pub peak_rss_after_load: Option<u64>,
}

impl LoadedModel {
    /// Opens `args.model` on `args.backend` and compiles the prefill and decode sessions.
    pub fn open(args: &ModelArgs) -> Result<LoadedModel> {
        Self::open_with(args, false, Vec::new())
    }

    /// As [`LoadedModel::open`], with every run profiled ([`LlamaOptions::profile`]) and these
    /// energy models, by backend name, in place of the device kinds' defaults.
    pub fn open_profiled(args: &ModelArgs, energy_models: Vec<(String, EnergyModel)>) -> Result<LoadedModel> {
        Self::open_with(args, true, energy_models)
    }

    fn open_with(args: &ModelArgs, profile: bool, energy_models: Vec<(String, EnergyModel)>) -> Result<LoadedModel> {
        let setup = &args.setup;
        if setup.f32_activations {
            // SAFETY: set before any backend (or other thread) exists; the backends read it once
            // when they are created.
            unsafe { std::env::set_var("EDGEHAL_F32_ACTIVATIONS", "1") };
        }
        let start = Instant::now();
        let backends = objective::backends(&args.backend)?;
        let policy = objective::policy(setup.objective, &backends)?;
        let file = GgufFile::open(&args.model)?;
        let tokenizer = Tokenizer::from_gguf(&file)?;
        let options = LlamaOptions { n_ctx: setup.ctx, prefill_chunk: setup.chunk, policy, profile, energy_models };
        let mut model = LlamaModel::load(&file, backends, options)?;
        let load_time = start.elapsed();
        let start = Instant::now();
        model.warm_up()?;
        let compile_time = start.elapsed();
        Ok(LoadedModel { file, model, tokenizer, load_time, compile_time, peak_rss_after_load: peak_rss() })
    }

    /// The file's size in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.file.file_len()
    }

    /// The model file's name for reports.
    pub fn name(path: &Path) -> String {
        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// The process's peak resident set (`VmHWM` in /proc/self/status), in bytes.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
