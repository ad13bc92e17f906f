//! The hyper-parameters of a Llama-family model, read from a GGUF file's `{arch}.*` keys.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// Architectures whose GGUF weights this builder runs as llama.cpp's LLAMA arch does: adjacent-pair
/// ("normal") rope on Q and K as stored, RMS norm, SwiGLU feed-forward, no biases.
pub const SUPPORTED_ARCHS: [&str; 1] = ["llama"];

/// What a Llama-family graph is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// `general.architecture` (`llama`).
    pub arch: String,
    /// Transformer blocks (`llama.block_count`).
    pub n_layer: usize,
    /// Hidden size (`llama.embedding_length`).
    pub n_embd: usize,
    /// Feed-forward width (`llama.feed_forward_length`; one value for every layer).
    pub n_ff: usize,
    /// Query heads (`llama.attention.head_count`).
    pub n_head: usize,
    /// Key/value heads (`llama.attention.head_count_kv`, default `n_head`).
    pub n_head_kv: usize,
    /// Size of one head (`embedding_length / head_count`, or `llama.attention.key_length`).
    pub head_dim: usize,
    /// Rotated dimensions per head (`llama.rope.dimension_count`, default `head_dim`).
    pub rope_dim: usize,
    /// Rope frequency base (`llama.rope.freq_base`, default 10000).
    pub rope_theta: f32,
    /// RMS norm epsilon (`llama.attention.layer_norm_rms_epsilon`, default 1e-5).
    pub rms_eps: f32,
    /// Context length the model was trained for (`llama.context_length`).
    pub n_ctx_train: usize,
    /// Vocabulary size (rows of `token_embd.weight`).
    pub n_vocab: usize,
    /// Whether the output projection is the token embedding (no `output.weight`).
    pub tied_output: bool,
}

impl LlamaConfig {
    /// Reads the configuration, with a typed [`Error::Model`] naming the key for a missing,
    /// contradictory or unsupported value (per-layer arrays must hold one value: edgehal builds
    /// uniform layers).
    pub fn from_gguf(file: &GgufFile) -> Result<LlamaConfig> {
        let bad = |item: &str, why: String| Error::Model { model: file.path().to_string(), item: item.into(), why };
        let arch =
            file.get_str("general.architecture")?.ok_or_else(|| bad("general.architecture", "missing".into()))?;
        if !SUPPORTED_ARCHS.contains(&arch) {
            return Err(bad(
                "general.architecture",
                format!("`{arch}` is not supported; supported: {}", SUPPORTED_ARCHS.join(", ")),
            ));
        }
        let key = |k: &str| format!("{arch}.{k}");
        let count = |k: &str| -> Result<Option<usize>> { uniform(file, &key(k)) };
        let need = |k: &str| -> Result<usize> {
            count(k)?.filter(|&v| v > 0).ok_or_else(|| bad(&key(k), "missing or zero".into()))
        };
        let n_layer = need("block_count")?;
        let n_embd = need("embedding_length")?;
        let n_ff = need("feed_forward_length")?;
        let n_head = need("attention.head_count")?;
        let n_head_kv = count("attention.head_count_kv")?.unwrap_or(n_head);
        if n_head_kv == 0 || !n_head.is_multiple_of(n_head_kv) {
            return Err(bad(
                &key("attention.head_count_kv"),
                format!("{n_head_kv} does not divide head_count {n_head}"),
            ));
        }
        let head_dim = match count("attention.key_length")? {
            Some(d) => d,
            None if n_embd.is_multiple_of(n_head) => n_embd / n_head,
            None => return Err(bad(&key("embedding_length"), format!("{n_embd} is not a multiple of {n_head} heads"))),
        };
        if let Some(v) = count("attention.value_length")?
            && v != head_dim
        {
            return Err(bad(&key("attention.value_length"), format!("{v} differs from key_length {head_dim}")));
        }
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(bad(&key("attention.key_length"), format!("head size {head_dim} must be even and non-zero")));
        }
        let rope_dim = count("rope.dimension_count")?.unwrap_or(head_dim);
        if rope_dim != head_dim {
            return Err(bad(
                &key("rope.dimension_count"),
                format!("partial rope ({rope_dim} of {head_dim} dimensions) is not supported"),
            ));
        }
        let rope_theta = file.get_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0);
        if !(rope_theta.is_finite() && rope_theta > 1.0) {
            return Err(bad(&key("rope.freq_base"), format!("{rope_theta} must be finite and > 1")));
        }
        if let Some(scaling) = file.get_str(&key("rope.scaling.type"))?
            && !matches!(scaling, "none" | "")
        {
            return Err(bad(&key("rope.scaling.type"), format!("rope scaling `{scaling}` is not supported")));
        }
        let rms_eps = file.get_f32(&key("attention.layer_norm_rms_epsilon"))?.unwrap_or(1e-5);
        if !(rms_eps.is_finite() && rms_eps > 0.0) {
            return Err(bad(&key("attention.layer_norm_rms_epsilon"), format!("{rms_eps} must be positive")));
        }
        let n_ctx_train = count("context_length")?.unwrap_or(2048);
        let embd = file.tensor_info("token_embd.weight").ok_or_else(|| bad("token_embd.weight", "missing".into()))?;
        let embd_shape = embd.shape();
        if embd_shape.len() != 2 || embd_shape[1] != n_embd {
            return Err(bad("token_embd.weight", format!("shape {embd_shape:?} is not [n_vocab, {n_embd}]")));
        }
        Ok(LlamaConfig {
            arch: arch.to_string(),
            n_layer,
            n_embd,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            rope_dim,
            rope_theta,
            rms_eps,
            n_ctx_train,
            n_vocab: embd_shape[0],
            tied_output: file.tensor_info("output.weight").is_none(),
        })
    }

    /// Bytes of an f16 KV cache holding `n_ctx` positions (keys and values, every layer).
    pub fn kv_cache_bytes(&self, n_ctx: usize) -> u64 {
        (2 * self.n_layer * self.n_head_kv * n_ctx * self.head_dim * 2) as u64
    }
}

/// A count that may be stored as one integer or as a per-layer array whose entries must agree.
fn uniform(file: &GgufFile, key: &str) -> Result<Option<usize>> {
    let Some(value) = file.get(key) else { return Ok(None) };
    let bad = |why: String| Error::Model { model: file.path().to_string(), item: key.to_string(), why };
    let to_usize = |v: &crate::gguf::MetaValue| -> Result<usize> {
        v.as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .filter(|&u| u <= 1 << 24)
            .ok_or_else(|| bad(format!("{v:?} is not a count (a non-negative integer up to 2^24)")))
    };
    match value.as_array() {
        None => to_usize(value).map(Some),
        Some(items) => {
            let values = items.iter().map(to_usize).collect::<Result<Vec<_>>>()?;
            match values.split_first() {
                None => Err(bad("empty per-layer array".into())),
                Some((first, rest)) if rest.iter().all(|v| v == first) => Ok(Some(*first)),
                Some(_) => Err(bad(format!("per-layer values differ ({values:?}); only uniform layers are supported"))),
            }
        }
    }
}
