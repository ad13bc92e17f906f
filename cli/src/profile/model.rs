//! `edgehal profile --model M.gguf`: a profiled prefill of a random prompt and decode steps after
//! it; each phase is its runs (prefill chunks, decode steps) laid end to end, with its energy per
//! token.

use super::{Phase, table};
use crate::error::{CliError, Result};
use crate::model::bench::{feed_profiled, random_prompt};
use crate::model::{LoadedModel, ModelArgs};
use crate::progress;
use edgehal::Profile;
use edgehal::energy::EnergyModel;

/// Profiles `prompt_tokens` of prefill and `gen_tokens` decode steps of `args.model`, with
/// `energy_models` by backend name, printing both tables and the energy per token.
pub fn run(
    args: &ModelArgs,
    energy_models: Vec<(String, EnergyModel)>,
    prompt_tokens: usize,
    gen_tokens: usize,
) -> Result<Vec<Phase>> {
    let spinner = progress::spinner(format!("loading {}", args.model.display()));
    let mut loaded = LoadedModel::open_profiled(args, energy_models)?;
    spinner.finish_and_clear();
    let model = &mut loaded.model;
    let n_ctx = model.n_ctx();
    if prompt_tokens + gen_tokens > n_ctx {
        return Err(CliError::Usage(format!(
            "--prompt-tokens + --gen-tokens = {} exceed the context of {n_ctx} (raise --ctx)",
            prompt_tokens + gen_tokens
        )));
    }
    let prompt = random_prompt(model.config().n_vocab, prompt_tokens);
    // One decode step reads every weight once (pages in the mapped file), then is forgotten.
    model.forward_last(&prompt[..1])?;
    model.reset();
    let (meters, _) = edgehal::energy::discover();
    model.attach_meters(meters);

    let chunk = args.setup.chunk.clamp(1, n_ctx);
    let bar = progress::bar(gen_tokens as u64 + 1);
    bar.set_message("prefill");
    let mut prefill = Vec::new();
    let mut token = feed_profiled(model, &prompt, chunk, |p| prefill.push(p.clone()))?;
    bar.inc(1);
    bar.set_message("decode");
    let mut decode = Vec::with_capacity(gen_tokens);
    for _ in 0..gen_tokens {
        token = feed_profiled(model, &[token], chunk, |p| decode.push(p.clone()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();

    let name = LoadedModel::name(&args.model);
    let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
    let prefill_title =
        format!("prefill of {name} on {}: {prompt_tokens} tokens in {}", args.backend, runs(prefill.len()));
    let decode_title = format!("decode of {name} on {}: {gen_tokens} steps", args.backend);
    let phases = vec![
        Phase::new("prefill".into(), Some(prompt_tokens), Profile::concat(prefill)),
        Phase::new("decode".into(), Some(gen_tokens), Profile::concat(decode)),
    ];
    print!("{}", table(&prefill_title, &phases[0].profile));
    print!("{}", table(&decode_title, &phases[1].profile));
    let per_token =
        |p: &Phase| format!("{:.4} mJ/token ({})", p.j_per_token.unwrap_or(0.0) * 1e3, p.energy_label.name());
    println!(
        "\nenergy per token: prefill {}, decode {} (ops and the measured time between them)",
        per_token(&phases[0]),
        per_token(&phases[1])
    );
    Ok(phases)
}
