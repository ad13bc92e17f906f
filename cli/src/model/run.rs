//! `edgehal run`: generate text from a prompt, streaming tokens, then the speed figures.

use super::{LoadedModel, ModelArgs};
use crate::error::{CliError, Result};
use edgehal::models::generate::generate;
use edgehal::models::sampling::{Sampler, SamplerConfig};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `edgehal run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The text to continue.
    #[arg(long, short)]
    pub prompt: String,
    /// Tokens to generate at most (stops earlier at an end-of-text token).
    #[arg(short = 'n', long, default_value_t = 32)]
    pub max_tokens: usize,
    /// Wrap the prompt in the model's ChatML template (`<|im_start|>user ... assistant`).
    #[arg(long)]
    pub chat: bool,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Sample among the k most likely tokens only (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Sample among the most likely tokens holding this much probability.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the figures as one JSON object on stderr after the text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let mut loaded = LoadedModel::open(&args.model)?;
    let prompt = if args.chat { chat_prompt(&loaded, &args.prompt)? } else { args.prompt.clone() };
    let tokenizer = &loaded.tokenizer;
    let ids = tokenizer.encode(&prompt, tokenizer.add_bos_default())?;
    if ids.is_empty() {
        return Err(CliError::Usage("the prompt encodes to no tokens; give some text".into()));
    }
    let sampler_config =
        SamplerConfig { temperature: args.temperature, top_k: args.top_k, top_p: args.top_p, seed: args.seed };
    let mut sampler = Sampler::new(sampler_config)?;
    let mut stream = tokenizer.stream();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", args.prompt);
    let _ = out.flush();
    let stats = generate(&mut loaded.model, &ids, args.max_tokens, &mut sampler, |t| {
        if tokenizer.is_end(t) {
            return Ok(false);
        }
        let text = stream.push(t)?;
        let _ = write!(out, "{text}");
        let _ = out.flush();
        Ok(true)
    })?;
    let _ = writeln!(out, "{}", stream.finish());
    drop(out);
    let device = loaded.model.decode_plan().map(|p| placement_summary(&p)).unwrap_or_default();
    eprintln!(
        "{}: {} prompt tokens, {} generated ({}); load {:.0} ms, compile {:.0} ms, time to first token {:.0} ms; \
         prefill {:.1} tokens/s, decode {:.1} tokens/s on {}{device}",
        LoadedModel::name(&args.model.model),
        stats.prompt_tokens,
        stats.generated,
        stats.stop,
        loaded.load_time.as_secs_f64() * 1e3,
        loaded.compile_time.as_secs_f64() * 1e3,
        stats.time_to_first_token.as_secs_f64() * 1e3,
        stats.prefill_tokens_per_s(),
        stats.decode_tokens_per_s(),
        args.model.backend,
    );
    if args.json {
        let json = serde_json::json!({
            "model": args.model.model,
            "backend": args.model.backend,
            "load_ms": loaded.load_time.as_secs_f64() * 1e3,
            "compile_ms": loaded.compile_time.as_secs_f64() * 1e3,
            "stats": stats,
            "prefill_tokens_per_s": stats.prefill_tokens_per_s(),
            "decode_tokens_per_s": stats.decode_tokens_per_s(),
        });
        eprintln!("{json}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The prompt in ChatML, when the file's chat template is ChatML.
fn chat_prompt(loaded: &LoadedModel, prompt: &str) -> Result<String> {
    let template = loaded.file.get_str("tokenizer.chat_template")?.unwrap_or_default();
    if !template.contains("<|im_start|>") {
        return Err(CliError::Usage(
            "--chat knows the ChatML template only, and this model's tokenizer.chat_template is not ChatML".into(),
        ));
    }
    Ok(format!("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"))
}

/// ` (n nodes on a, m on b)` when the decode graph spans more than one backend.
fn placement_summary(plan: &edgehal::Plan) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, b) in &plan.placement {
        match counts.iter_mut().find(|(n, _)| n == b) {
            Some((_, c)) => *c += 1,
            None => counts.push((b.clone(), 1)),
        }
    }
    if counts.len() <= 1 {
        return String::new();
    }
    let parts: Vec<String> = counts.iter().map(|(b, c)| format!("{c} nodes on {b}")).collect();
    format!(" ({})", parts.join(", "))
}
