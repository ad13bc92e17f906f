//! The tensors of a Llama-family model, borrowed from the GGUF file and checked against the config.

use super::LlamaConfig;
use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::tensor::Tensor;

/// One transformer block's tensors (GGUF names `blk.{i}.*`).
#[derive(Clone, Debug)]
pub struct LayerWeights {
    /// `attn_norm.weight [n_embd]`.
    pub attn_norm: Tensor,
    /// `attn_q.weight [n_head·head_dim, n_embd]`.
    pub wq: Tensor,
    /// `attn_k.weight [n_head_kv·head_dim, n_embd]`.
    pub wk: Tensor,
    /// `attn_v.weight [n_head_kv·head_dim, n_embd]`.
    pub wv: Tensor,
    /// `attn_output.weight [n_embd, n_head·head_dim]`.
    pub wo: Tensor,
    /// `ffn_norm.weight [n_embd]`.
    pub ffn_norm: Tensor,
    /// `ffn_gate.weight [n_ff, n_embd]`.
    pub w_gate: Tensor,
    /// `ffn_up.weight [n_ff, n_embd]`.
    pub w_up: Tensor,
    /// `ffn_down.weight [n_embd, n_ff]`.
    pub w_down: Tensor,
}

impl LayerWeights {
    /// The block's tensors in graph order.
    pub fn tensors(&self) -> [&Tensor; 9] {
        [
            &self.attn_norm,
            &self.wq,
            &self.wk,
            &self.wv,
            &self.wo,
            &self.ffn_norm,
            &self.w_gate,
            &self.w_up,
            &self.w_down,
        ]
    }
}

/// Every tensor the graph reads. Cloning is cheap: the bytes stay in the file mapping.
#[derive(Clone, Debug)]
pub struct LlamaWeights {
    /// `token_embd.weight [n_vocab, n_embd]`.
    pub token_embd: Tensor,
    /// The blocks in order.
    pub layers: Vec<LayerWeights>,
    /// `output_norm.weight [n_embd]`.
    pub output_norm: Tensor,
    /// `output.weight [n_vocab, n_embd]`, or `token_embd` when the file ties them.
    pub output: Tensor,
}

impl LlamaWeights {
    /// Takes every tensor from `file`, with a typed [`Error::Model`] naming a tensor that is
    /// missing or has the wrong shape, and the reader's error for a type edgehal cannot compute.
    pub fn from_gguf(file: &GgufFile, config: &LlamaConfig) -> Result<LlamaWeights> {
        let (e, q, kv) = (config.n_embd, config.n_head * config.head_dim, config.n_head_kv * config.head_dim);
        let get = |name: &str, shape: &[usize]| -> Result<Tensor> {
            if file.tensor_info(name).is_none() {
                return Err(Error::Model { model: file.path().into(), item: name.into(), why: "missing".into() });
            }
            let t = file.tensor(name)?;
            if t.shape() != shape {
                return Err(Error::Model {
                    model: file.path().into(),
                    item: name.into(),
                    why: format!("shape {:?} (edgehal order), expected {shape:?}", t.shape()),
                });
            }
            Ok(t)
        };
        let layers = (0..config.n_layer)
            .map(|i| {
                let w = |part: &str, shape: &[usize]| get(&format!("blk.{i}.{part}.weight"), shape);
                Ok(LayerWeights {
                    attn_norm: w("attn_norm", &[e])?,
                    wq: w("attn_q", &[q, e])?,
                    wk: w("attn_k", &[kv, e])?,
                    wv: w("attn_v", &[kv, e])?,
                    wo: w("attn_output", &[e, q])?,
                    ffn_norm: w("ffn_norm", &[e])?,
                    w_gate: w("ffn_gate", &[config.n_ff, e])?,
                    w_up: w("ffn_up", &[config.n_ff, e])?,
                    w_down: w("ffn_down", &[e, config.n_ff])?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let token_embd = get("token_embd.weight", &[config.n_vocab, e])?;
        let output = if config.tied_output { token_embd.clone() } else { get("output.weight", &[config.n_vocab, e])? };
        Ok(LlamaWeights { token_embd, layers, output_norm: get("output_norm.weight", &[e])?, output })
    }

    /// Bytes of every distinct tensor (the tied output counted once).
    pub fn total_bytes(&self) -> u64 {
        let layers: u64 = self.layers.iter().flat_map(LayerWeights::tensors).map(|t| t.bytes().len() as u64).sum();
        let tied = std::ptr::eq(self.output.bytes().as_ptr(), self.token_embd.bytes().as_ptr());
        let output = if tied { 0 } else { self.output.bytes().len() as u64 };
        layers + self.token_embd.bytes().len() as u64 + self.output_norm.bytes().len() as u64 + output
    }

    /// Bytes of weights one decode step reads: every block, the final norm, one embedding row
    /// and the whole output projection.
    pub fn bytes_per_token(&self) -> u64 {
        let embd_row = self.token_embd.bytes().len() as u64 / self.token_embd.shape()[0].max(1) as u64;
        let layers: u64 = self.layers.iter().flat_map(LayerWeights::tensors).map(|t| t.bytes().len() as u64).sum();
        layers + embd_row + self.output_norm.bytes().len() as u64 + self.output.bytes().len() as u64
    }
}
