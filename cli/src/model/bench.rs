//! `edgehal bench --model M.gguf`: prefill and decode tokens/s of a real model, with the bytes of
//! weights each decoded token reads against the device's measured read peak, and the energy per
//! prefill and decode token.
//!
//! Energy comes from profiled runs made after the timed ones, by a second copy of the model (the
//! timed copy is dropped first) built with `LlamaOptions::profile`, so profiling does not touch
//! the timing: the sum of each run's op records, as in `edgehal bench`. A `LlamaModel` keeps its
//! sessions to itself, so no meter can be attached to them yet: the figures are labelled by their
//! records (modelled wherever no meter is attached).

use super::{LoadedModel, ModelArgs};
use crate::error::{CliError, Result, write_file};
use crate::progress;
use edgehal::Profile;
use edgehal::energy::EnergyLabel;
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::models::sampling::argmax;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// What the model benchmark runs.
#[derive(Debug, Clone)]
pub struct ModelBenchArgs {
    /// Model and backend.
    pub model: ModelArgs,
    /// Prompt length of each prefill run.
    pub prompt_tokens: usize,
    /// Decode steps after the prompt.
    pub gen_tokens: usize,
    /// Timed prefill runs (the best is reported; the first, cold, gives the time to first token).
    pub repeats: usize,
    /// JSON report path.
    pub json: Option<PathBuf>,
}

/// The model benchmark's figures (also its JSON).
#[derive(Debug, Serialize)]
pub struct ModelBenchReport {
    /// The file.
    pub model: String,
    /// The backend.
    pub backend: String,
    /// File size in bytes.
    pub file_bytes: u64,
    /// KV-cache bytes (f16, the whole context).
    pub kv_cache_bytes: u64,
    /// Context positions.
    pub n_ctx: usize,
    /// Peak resident memory after loading and compiling, bytes (`VmHWM`).
    pub peak_rss_after_load: Option<u64>,
    /// `peak_rss_after_load / (file_bytes + kv_cache_bytes)`.
    pub peak_rss_ratio: Option<f64>,
    /// Opening the file and building the model, ms.
    pub load_ms: f64,
    /// Compiling the sessions, ms.
    pub compile_ms: f64,
    /// The first (cold) prefill of the prompt plus one sample, ms.
    pub time_to_first_token_ms: f64,
    /// Prompt tokens per prefill run.
    pub prompt_tokens: usize,
    /// Best prefill rate over the repeats, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// Decode steps timed.
    pub decode_steps: usize,
    /// Decode rate over the steps, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Weight bytes one decode step reads (every block, one embedding row, the output matrix).
    pub weight_bytes_per_token: u64,
    /// Mean KV-cache bytes one decode step reads.
    pub kv_bytes_per_token: u64,
    /// `(weight + KV bytes per token) × decode rate`, GB/s.
    pub decode_read_gbps: f64,
    /// The backend's measured read peak, GB/s.
    pub read_peak_gbps: f64,
    /// `decode_read_gbps / read_peak_gbps`, percent.
    pub decode_percent_of_read_peak: f64,
    /// Joules per prompt token of one prefill of the prompt (ops only).
    pub prefill_j_per_token: f64,
    /// Mean joules per decoded token (ops only).
    pub decode_j_per_token: f64,
    /// Decode steps the energy is the mean of.
    pub energy_decode_steps: usize,
    /// The weakest label of every record summed: `measured`, `attributed` or `modelled`.
    pub energy_label: &'static str,
}

/// Most decode steps profiled for the energy figure.
const ENERGY_DECODE_STEPS: usize = 16;

/// Energy per token of prefill and decode.
struct TokenEnergy {
    prefill_j_per_token: f64,
    decode_j_per_token: f64,
    decode_steps: usize,
    label: EnergyLabel,
}

/// Runs the model benchmark.
pub fn run(args: &ModelBenchArgs) -> Result<ExitCode> {
    if args.prompt_tokens == 0 || args.gen_tokens == 0 || args.repeats == 0 {
        return Err(CliError::Usage("--prompt-tokens, --gen-tokens and --repeats must be at least 1".into()));
    }
    let spinner = progress::spinner(format!("loading {}", args.model.model.display()));
    let mut loaded = LoadedModel::open(&args.model)?;
    spinner.finish_and_clear();
    let need = args.prompt_tokens + args.gen_tokens;
    if need > loaded.model.n_ctx() {
        return Err(CliError::Usage(format!(
            "--prompt-tokens + --gen-tokens = {need} exceed the context of {} (raise --ctx)",
            loaded.model.n_ctx()
        )));
    }
    let config = loaded.model.config().clone();
    let prompt = random_prompt(config.n_vocab, args.prompt_tokens);

    let bar = progress::bar((args.repeats + 1) as u64);
    bar.set_message("prefill");
    let mut best = f64::INFINITY;
    let mut ttft = 0.0;
    let mut last = Vec::new();
    for r in 0..args.repeats {
        loaded.model.reset();
        let t = Instant::now();
        last = loaded.model.forward_last(&prompt)?;
        let _first = argmax(&last);
        let s = t.elapsed().as_secs_f64();
        if r == 0 {
            ttft = s;
        }
        best = best.min(s);
        bar.inc(1);
    }
    bar.set_message("decode");
    let mut token = argmax(&last);
    let t = Instant::now();
    for _ in 0..args.gen_tokens {
        token = argmax(&loaded.model.forward_last(&[token])?);
    }
    let decode_s = t.elapsed().as_secs_f64();
    bar.inc(1);
    bar.finish_and_clear();

    let spinner = progress::spinner(format!("measuring {} read peak", args.model.backend));
    let peaks = crate::backends::create(&args.model.backend)?.measure_peaks()?;
    spinner.finish_and_clear();

    let weights = loaded.model.weights().bytes_per_token();
    let mean_position = args.prompt_tokens as f64 + args.gen_tokens as f64 / 2.0;
    let kv_per_position = config.kv_cache_bytes(1);
    let kv = (mean_position * kv_per_position as f64) as u64;
    let decode_tps = args.gen_tokens as f64 / decode_s;
    let read_gbps = (weights + kv) as f64 * decode_tps / 1e9;
    let n_ctx = loaded.model.n_ctx();
    let kv_cache_bytes = config.kv_cache_bytes(n_ctx);
    let file_bytes = loaded.file_bytes();
    let (peak_rss, load_time, compile_time) = (loaded.peak_rss_after_load, loaded.load_time, loaded.compile_time);
    let energy = energy_per_token(args, loaded, &prompt)?;
    let report = ModelBenchReport {
        model: LoadedModel::name(&args.model.model),
        backend: args.model.backend.clone(),
        file_bytes,
        kv_cache_bytes,
        n_ctx,
        peak_rss_after_load: peak_rss,
        peak_rss_ratio: peak_rss.map(|p| p as f64 / (file_bytes + kv_cache_bytes) as f64),
        load_ms: load_time.as_secs_f64() * 1e3,
        compile_ms: compile_time.as_secs_f64() * 1e3,
        time_to_first_token_ms: ttft * 1e3,
        prompt_tokens: args.prompt_tokens,
        prefill_tokens_per_s: args.prompt_tokens as f64 / best,
        decode_steps: args.gen_tokens,
        decode_tokens_per_s: decode_tps,
        weight_bytes_per_token: weights,
        kv_bytes_per_token: kv,
        decode_read_gbps: read_gbps,
        read_peak_gbps: peaks.read_gbps,
        decode_percent_of_read_peak: 100.0 * read_gbps / peaks.read_gbps,
        prefill_j_per_token: energy.prefill_j_per_token,
        decode_j_per_token: energy.decode_j_per_token,
        energy_decode_steps: energy.decode_steps,
        energy_label: energy.label.name(),
    };
    print!("{}", table(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(format!("JSON: {e}")))?;
        write_file(path, text + "\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Drops the timed model, builds a profiled copy from the same file and runs one prefill of
/// `prompt` and up to [`ENERGY_DECODE_STEPS`] decode steps, summing each run's op records.
fn energy_per_token(args: &ModelBenchArgs, loaded: LoadedModel, prompt: &[u32]) -> Result<TokenEnergy> {
    let spinner = progress::spinner("energy: profiled prefill and decode");
    let LoadedModel { file, model, .. } = loaded;
    let n_ctx = model.n_ctx();
    drop(model);
    let setup = &args.model.setup;
    let backends = super::objective::backends(&args.model.backend)?;
    let policy = super::objective::policy(setup.objective, &backends)?;
    let options =
        LlamaOptions { n_ctx: Some(n_ctx), prefill_chunk: setup.chunk, policy, profile: true, ..Default::default() };
    let mut model = LlamaModel::load(&file, backends, options)?;
    model.warm_up()?;
    let chunk = setup.chunk.clamp(1, n_ctx);
    let (mut labels, mut prefill_j, mut decode_j) = (Vec::new(), 0.0, 0.0);
    let mut token = feed_profiled(&mut model, prompt, chunk, |p| {
        labels.extend(p.records.iter().map(|r| r.energy.label));
        prefill_j += p.records.iter().map(|r| r.energy.joules).sum::<f64>();
    })?;
    let steps = args.gen_tokens.min(ENERGY_DECODE_STEPS).min(n_ctx - model.position());
    for _ in 0..steps {
        token = feed_profiled(&mut model, &[token], chunk, |p| {
            labels.extend(p.records.iter().map(|r| r.energy.label));
            decode_j += p.records.iter().map(|r| r.energy.joules).sum::<f64>();
        })?;
    }
    spinner.finish_and_clear();
    Ok(TokenEnergy {
        prefill_j_per_token: prefill_j / prompt.len().max(1) as f64,
        decode_j_per_token: decode_j / steps.max(1) as f64,
        decode_steps: steps,
        label: EnergyLabel::weakest(labels),
    })
}

/// `n` seeded random token ids of ordinary text (no control tokens: the kernels' cost does not
/// depend on which) for a vocabulary of `n_vocab`.
pub(crate) fn random_prompt(n_vocab: usize, n: usize) -> Vec<u32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let upper = (n_vocab as u32).clamp(2, 40_000);
    (0..n).map(|_| rng.random_range(1..upper)).collect()
}

/// Feeds `tokens` to a profiled model in the runs `LlamaModel` makes of them (one per chunk of
/// `chunk` tokens; a tail under a quarter of a chunk, or one past the context, as decode steps),
/// handing each run's profile to `each`; returns the most likely next token.
pub(crate) fn feed_profiled(
    model: &mut LlamaModel,
    tokens: &[u32],
    chunk: usize,
    mut each: impl FnMut(&Profile),
) -> Result<u32> {
    let (mut next, mut rest) = (0, tokens);
    while !rest.is_empty() {
        let take = rest.len().min(chunk);
        let as_chunk = chunk > 1 && model.position() + chunk <= model.n_ctx() && (take == chunk || take * 4 >= chunk);
        let piece = if as_chunk { take } else { 1 };
        next = argmax(&model.forward_last(&rest[..piece])?);
        each(model.last_profile().ok_or_else(|| CliError::Usage("a profiled run left no profile".into()))?);
        rest = &rest[piece..];
    }
    Ok(next)
}

fn table(r: &ModelBenchReport) -> String {
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    let rss = match (r.peak_rss_after_load, r.peak_rss_ratio) {
        (Some(p), Some(x)) => format!("{:.0} MiB = {x:.2}× (file + KV cache)", mib(p)),
        _ => "not available".into(),
    };
    format!(
        "{} on {}: file {:.1} MiB, KV cache {:.1} MiB ({} positions, f16)\n\
         load {:.0} ms, compile {:.0} ms, peak RSS after load {rss}\n\
         prefill  {:>4} tokens: {:>8.1} tokens/s (best of runs); time to first token {:.0} ms (first, cold run)\n\
         decode   {:>4} tokens: {:>8.1} tokens/s; {:.1} MiB weights + {:.2} MiB KV read per token = {:.1} GB/s, \
         {:.0} % of the {:.1} GB/s read peak\n\
         energy   prefill {:.3} mJ/token, decode {:.3} mJ/token ({}; ops only, mean of {} decode steps)\n",
        r.model,
        r.backend,
        mib(r.file_bytes),
        mib(r.kv_cache_bytes),
        r.n_ctx,
        r.load_ms,
        r.compile_ms,
        r.prompt_tokens,
        r.prefill_tokens_per_s,
        r.time_to_first_token_ms,
        r.decode_steps,
        r.decode_tokens_per_s,
        mib(r.weight_bytes_per_token),
        mib(r.kv_bytes_per_token),
        r.decode_read_gbps,
        r.decode_percent_of_read_peak,
        r.read_peak_gbps,
        r.prefill_j_per_token * 1e3,
        r.decode_j_per_token * 1e3,
        r.energy_label,
        r.energy_decode_steps,
    )
}
