//! The generation loop: prefill the prompt, then sample and decode one token at a time, timing
//! both phases.

use super::llama::LlamaModel;
use super::sampling::Sampler;
use crate::error::Result;
use std::time::{Duration, Instant};

/// What a generation did and how long it took.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct GenerationStats {
    /// Prompt tokens run in prefill.
    pub prompt_tokens: usize,
    /// Tokens generated (each handed to the callback).
    pub generated: usize,
    /// From the call to the first generated token (prefill plus one sample).
    pub time_to_first_token: Duration,
    /// Time running the prompt.
    pub prefill: Duration,
    /// Time running generated tokens back through the model (decode steps).
    pub decode: Duration,
    /// Decode steps run (the last generated token is not run back).
    pub decode_steps: usize,
    /// Why the loop stopped: `length`, `callback` (the caller said stop, e.g. at an end token)
    /// or `context` (the KV cache is full).
    pub stop: &'static str,
}

impl GenerationStats {
    /// Prompt tokens per second.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prompt_tokens as f64 / self.prefill.as_secs_f64().max(1e-9)
    }

    /// Decode steps per second.
    pub fn decode_tokens_per_s(&self) -> f64 {
        self.decode_steps as f64 / self.decode.as_secs_f64().max(1e-9)
    }
}

/// Appends `prompt` to the model's cache, then generates up to `max_new` tokens, handing each
/// to `on_token`, which returns whether to go on (return `false` at an end token).
pub fn generate(
    model: &mut LlamaModel,
    prompt: &[u32],
    max_new: usize,
    sampler: &mut Sampler,
    mut on_token: impl FnMut(u32) -> Result<bool>,
) -> Result<GenerationStats> {
    let start = Instant::now();
    let mut logits = model.forward_last(prompt)?;
    let mut stats =
        GenerationStats { prompt_tokens: prompt.len(), prefill: start.elapsed(), stop: "length", ..Default::default() };
    while stats.generated < max_new {
        let token = sampler.sample(&logits)?;
        if stats.generated == 0 {
            stats.time_to_first_token = start.elapsed();
        }
        stats.generated += 1;
        if !on_token(token)? {
            stats.stop = "callback";
            break;
        }
        if stats.generated == max_new {
            break;
        }
        if model.position() >= model.n_ctx() {
            stats.stop = "context";
            break;
        }
        let step = Instant::now();
        logits = model.forward_last(&[token])?;
        stats.decode += step.elapsed();
        stats.decode_steps += 1;
    }
    Ok(stats)
}
