//! Llama-family models from GGUF files: configuration, weights, graphs, and a runtime that feeds
//! tokens through prefill and decode sessions sharing one KV cache.
//!
//! The runtime keeps up to three sessions, each built on first use: prefill over `prefill_chunk`
//! tokens with logits for every row, the same with logits for one row, and decode over one token.
//! The KV cache (`blk.{i}.{k,v}_cache` states, f16) moves between them with
//! [`Session::take_states`] / [`Session::put_states`], never copied. Weights are the file's mapped
//! bytes; the CPU backend packs each one once and shares it across the sessions.

mod config;
mod graph;
mod weights;

pub use config::{LlamaConfig, SUPPORTED_ARCHS};
pub use graph::{LAST_ROW_INPUT, LOGITS_OUTPUT, Logits, TOKENS_INPUT, build_graph, cache_name};
pub use weights::{LayerWeights, LlamaWeights};

use crate::backend::Backend;
use crate::energy::{EnergyMeter, EnergyModel};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::session::{Policy, RunOptions, Session};
use crate::tensor::Tensor;
use std::sync::Arc;

/// How a [`LlamaModel`] is set up.
#[derive(Clone, Debug)]
pub struct LlamaOptions {
    /// KV-cache positions (prompt plus generated tokens); `None`: the trained context length,
    /// capped at 4096 to keep the cache small on edge devices.
    pub n_ctx: Option<usize>,
    /// Tokens per prefill run. Longer prompts run in chunks; a last chunk of fewer than a quarter
    /// of this many tokens runs as decode steps instead of a mostly padded chunk.
    pub prefill_chunk: usize,
    /// Placement policy of every session.
    pub policy: Policy,
    /// Record per-node timings on every run ([`LlamaModel::last_profile`]).
    pub profile: bool,
    /// Energy models by backend name (e.g. fitted by `edgehal calibrate`), given to every
    /// session in place of the device kind's default.
    pub energy_models: Vec<(String, EnergyModel)>,
}

impl Default for LlamaOptions {
    fn default() -> Self {
        LlamaOptions {
            n_ctx: None,
            prefill_chunk: 64,
            policy: Policy::default(),
            profile: false,
            energy_models: Vec::new(),
        }
    }
}

/// The default cap on the KV-cache length when [`LlamaOptions::n_ctx`] is `None`.
pub const DEFAULT_MAX_CTX: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    PrefillAll,
    PrefillLast,
    Decode,
}

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// A Llama-family model ready to run: feed tokens with [`LlamaModel::forward`] (logits for every
/// token) or [`LlamaModel::forward_last`] (logits for the last one), reset with
/// [`LlamaModel::reset`].
pub struct LlamaModel {
    config: LlamaConfig,
    weights: LlamaWeights,
    backends: Vec<Arc<dyn Backend>>,
    options: LlamaOptions,
    n_ctx: usize,
    sessions: [Option<Session>; 3],
    holder: Option<Kind>,
    last_run: Option<Kind>,
    position: usize,
    source: String,
    /// Meters lent to whichever session runs (a session keeps the meters it holds).
    meters: Vec<Box<dyn EnergyMeter>>,
}

impl LlamaModel {
    /// Builds the model from `file` for `backends` (in order of preference; the CPU takes what
    /// none of them supports when the policy allows fallback). Sessions compile on first use.
    pub fn load(file: &GgufFile, backends: Vec<Arc<dyn Backend>>, options: LlamaOptions) -> Result<LlamaModel> {
        let mut backends = backends;
        // One fallback CPU for every session (a session would otherwise add its own), so the KV
        // cache placed on it can move between them.
        if options.policy.allow_fallback && !backends.iter().any(|b| b.name() == "cpu") {
            backends.push(Arc::new(crate::cpu::CpuBackend::new()?));
        }
        let config = LlamaConfig::from_gguf(file)?;
        let weights = LlamaWeights::from_gguf(file, &config)?;
        let n_ctx = options.n_ctx.unwrap_or(config.n_ctx_train.min(DEFAULT_MAX_CTX));
        let bad = |item: &str, why: String| Error::Model { model: file.path().into(), item: item.into(), why };
        if n_ctx == 0 || n_ctx > config.n_ctx_train.max(1) * 4 {
            return Err(bad(
                "n_ctx",
                format!("{n_ctx} must be in 1..={} (4× the trained length)", config.n_ctx_train * 4),
            ));
        }
        if options.prefill_chunk == 0 {
            return Err(bad("prefill_chunk", "0 must be at least 1".into()));
        }
        if let Some((name, _)) = options.energy_models.iter().find(|(n, _)| !backends.iter().any(|b| b.name() == n)) {
            return Err(Error::Unknown {
                kind: "backend",
                name: name.clone(),
                known: backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
            });
        }
        // A chunk longer than the context could never run.
        let options = LlamaOptions { prefill_chunk: options.prefill_chunk.min(n_ctx), ..options };
        Ok(LlamaModel {
            config,
            weights,
            backends,
            options,
            n_ctx,
            sessions: [None, None, None],
            holder: None,
            last_run: None,
            position: 0,
            source: file.path().to_string(),
            meters: Vec::new(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The weights (borrowing the file's bytes).
    pub fn weights(&self) -> &LlamaWeights {
        &self.weights
    }

    /// KV-cache capacity in tokens.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Tokens in the KV cache.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Forgets the cached tokens (the next token goes to position 0). Nothing is freed.
    pub fn reset(&mut self) {
        self.position = 0;
    }

    /// Drops cached tokens after the first `position` (to rewind after a rejected draft).
    pub fn truncate(&mut self, position: usize) {
        self.position = self.position.min(position);
    }

    /// Builds every session now (otherwise each compiles on first use), so the time to the first
    /// token does not include compilation.
    pub fn warm_up(&mut self) -> Result<()> {
        for kind in [Kind::Decode, Kind::PrefillLast] {
            self.session(kind)?;
        }
        Ok(())
    }

    /// The placement and memory plan of the decode session (built if needed).
    pub fn decode_plan(&mut self) -> Result<crate::session::Plan> {
        Ok(self.session(Kind::Decode)?.plan().clone())
    }

    /// Reads these meters around every profiled run (with [`LlamaOptions::profile`]), so the
    /// profiles' energies are measured or attributed instead of modelled. Typically
    /// `edgehal::energy::discover().0`.
    pub fn attach_meters(&mut self, meters: Vec<Box<dyn EnergyMeter>>) {
        self.meters = meters;
    }

    /// The profile of the last session run, when [`LlamaOptions::profile`] is on.
    pub fn last_profile(&self) -> Option<&crate::profile::Profile> {
        self.sessions[self.last_run?.index()].as_ref()?.last_profile()
    }

    /// Appends `tokens` to the cache and returns their logits, f32 `[tokens.len(), n_vocab]`.
    pub fn forward(&mut self, tokens: &[u32]) -> Result<Tensor> {
        self.check_tokens(tokens)?;
        let mut rows: Vec<f32> = Vec::with_capacity(tokens.len() * self.config.n_vocab);
        self.feed(tokens, Logits::All, |logits| rows.extend_from_slice(logits))?;
        Tensor::from_f32([tokens.len(), self.config.n_vocab], &rows)
    }

    /// Appends `tokens` to the cache and returns the logits of the last one, `[n_vocab]`.
    pub fn forward_last(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.check_tokens(tokens)?;
        let mut last = Vec::new();
        self.feed(tokens, Logits::Last, |logits| {
            last.clear();
            last.extend_from_slice(logits);
        })?;
        Ok(last)
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        if tokens.is_empty() {
            return Err(Error::Input("no tokens to run".into()));
        }
        if let Some((i, &t)) = tokens.iter().enumerate().find(|&(_, &t)| t as usize >= self.config.n_vocab) {
            return Err(Error::Input(format!(
                "token {i} is id {t}, outside the vocabulary of {} tokens",
                self.config.n_vocab
            )));
        }
        if self.position + tokens.len() > self.n_ctx {
            return Err(Error::Input(format!(
                "{} cached + {} new tokens exceed the context of {} (LlamaOptions::n_ctx)",
                self.position,
                tokens.len(),
                self.n_ctx
            )));
        }
        Ok(())
    }

    /// Runs `tokens` in prefill chunks and decode steps, handing each run's logits rows (only
    /// the real tokens' rows) to `sink`.
    fn feed(&mut self, tokens: &[u32], mode: Logits, mut sink: impl FnMut(&[f32])) -> Result<()> {
        let chunk = self.options.prefill_chunk;
        let mut rest = tokens;
        while !rest.is_empty() {
            let fits = self.position + chunk <= self.n_ctx;
            let take = rest.len().min(chunk);
            let use_chunk = chunk > 1 && fits && (take == chunk || take * 4 >= chunk);
            let (kind, seq) = match (use_chunk, mode) {
                (true, Logits::All) => (Kind::PrefillAll, chunk),
                (true, Logits::Last) => (Kind::PrefillLast, chunk),
                (false, _) => (Kind::Decode, 1),
            };
            let take = take.min(seq);
            let logits = self.run(kind, &rest[..take], seq)?;
            let v = self.config.n_vocab;
            match kind {
                Kind::PrefillAll => sink(&logits[..take * v]),
                _ => sink(&logits[..v]),
            }
            self.position += take;
            rest = &rest[take..];
        }
        Ok(())
    }

    /// One run of session `kind` over `real` tokens padded to `seq`; returns its logits.
    fn run(&mut self, kind: Kind, real: &[u32], seq: usize) -> Result<Vec<f32>> {
        let mut ids: Vec<i32> = real.iter().map(|&t| t as i32).collect();
        ids.resize(seq, 0);
        let tokens = Tensor::from_i32([seq], &ids)?;
        let last_row = Tensor::from_i32([1], &[real.len() as i32 - 1])?;
        let opts = RunOptions { position: self.position, profile: self.options.profile, poison_outputs: false };
        self.session(kind)?;
        let meters = std::mem::take(&mut self.meters);
        let session = self.sessions[kind.index()].as_mut().expect("built by session()");
        session.attach_meters(meters);
        let mut inputs: Vec<(&str, &Tensor)> = vec![(TOKENS_INPUT, &tokens)];
        if kind == Kind::PrefillLast {
            inputs.push((LAST_ROW_INPUT, &last_row));
        }
        let outputs = session.run_with(&inputs, &opts);
        self.meters = session.detach_meters();
        let outputs = outputs?;
        self.last_run = Some(kind);
        outputs.get(LOGITS_OUTPUT)?.to_f32_vec()
    }

    /// The session of `kind`, built if needed, holding the KV cache.
    fn session(&mut self, kind: Kind) -> Result<&mut Session> {
        if self.sessions[kind.index()].is_none() {
            let (seq, logits) = match kind {
                Kind::PrefillAll => (self.options.prefill_chunk, Logits::All),
                Kind::PrefillLast => (self.options.prefill_chunk, Logits::Last),
                Kind::Decode => (1, Logits::Last),
            };
            let graph = build_graph(&self.config, &self.weights, seq, self.n_ctx, logits)?;
            let (backends, policy) = (self.backends.clone(), self.options.policy.clone());
            let session = match self.holder {
                None => Session::new(graph, backends, policy)?,
                Some(h) => {
                    let states = self.sessions[h.index()].as_mut().expect("holder exists").take_states();
                    self.holder = None;
                    match Session::with_states(graph, backends, policy, states) {
                        Ok(s) => s,
                        Err(e) => {
                            // The states are lost with the failed session: start the cache over.
                            self.sessions[h.index()] = None;
                            self.position = 0;
                            return Err(e);
                        }
                    }
                }
            };
            let mut session = session;
            for (backend, model) in &self.options.energy_models {
                session.set_energy_model(backend, *model)?;
            }
            self.sessions[kind.index()] = Some(session);
            self.holder = Some(kind);
        }
        if let Some(h) = self.holder
            && h != kind
        {
            let states = self.sessions[h.index()].as_mut().expect("holder exists").take_states();
            let target = self.sessions[kind.index()].as_mut().expect("built above");
            if let Err((e, states)) = target.put_states(states) {
                self.sessions[h.index()].as_mut().expect("holder exists").put_states(states).map_err(|(e, _)| e)?;
                return Err(Error::Model {
                    model: self.source.clone(),
                    item: "KV cache".into(),
                    why: format!("cannot move between sessions: {e}"),
                });
            }
        }
        self.holder = Some(kind);
        Ok(self.sessions[kind.index()].as_mut().expect("built above"))
    }
}
