//! The op graph of a Llama-family forward pass over a fixed number of tokens.
//!
//! One graph serves prefill (`seq` > 1) and decode (`seq` = 1): both read the run position
//! (`RunOptions::position`, the tokens already cached) for rope, the KV-cache write and the
//! attention's past length, so the sessions built from them can hand one KV cache between them.

use super::{LlamaConfig, LlamaWeights};
use crate::error::Result;
use crate::graph::{Graph, ValueId};
use crate::ops::{AttentionOp, Position};
use edgehal_kernels::{DType, RopeMode};

/// Input holding the token ids, i32 `[seq]`.
pub const TOKENS_INPUT: &str = "tokens";
/// Input holding the index of the one row whose logits are wanted, i32 `[1]` ([`Logits::Last`]).
pub const LAST_ROW_INPUT: &str = "last_row";
/// Output holding the logits, f32 `[rows, n_vocab]`.
pub const LOGITS_OUTPUT: &str = "logits";

/// Which rows of logits a graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logits {
    /// One row per token (perplexity, speculative decoding, per-position checks).
    All,
    /// The row picked by the `last_row` input (generation; skips `seq - 1` output projections).
    Last,
}

/// The name of layer `layer`'s key (`k`) or value (`v`) cache state.
pub fn cache_name(layer: usize, kv: char) -> String {
    format!("blk.{layer}.{kv}_cache")
}

/// Builds the forward pass over `seq` tokens with an f16 KV cache of `n_ctx` positions per layer.
pub fn build_graph(
    config: &LlamaConfig,
    weights: &LlamaWeights,
    seq: usize,
    n_ctx: usize,
    logits: Logits,
) -> Result<Graph> {
    let mut g = Graph::new();
    let tokens = g.input(TOKENS_INPUT, DType::I32, &[seq])?;
    let embd = g.weight("token_embd.weight", weights.token_embd.clone());
    let mut x = g.get_rows(embd, tokens)?;
    for (i, layer) in weights.layers.iter().enumerate() {
        let w = |g: &mut Graph, part: &str, t: &crate::tensor::Tensor| {
            g.weight(&format!("blk.{i}.{part}.weight"), t.clone())
        };
        let attn_norm = w(&mut g, "attn_norm", &layer.attn_norm);
        let h = g.rms_norm(x, Some(attn_norm), config.rms_eps)?;
        let attn = attention_block(&mut g, config, i, h, seq, n_ctx, layer)?;
        x = g.add(x, attn)?;
        let ffn_norm = w(&mut g, "ffn_norm", &layer.ffn_norm);
        let h = g.rms_norm(x, Some(ffn_norm), config.rms_eps)?;
        let (gate_w, up_w, down_w) = (
            w(&mut g, "ffn_gate", &layer.w_gate),
            w(&mut g, "ffn_up", &layer.w_up),
            w(&mut g, "ffn_down", &layer.w_down),
        );
        let gate = g.matmul(h, gate_w)?;
        let up = g.matmul(h, up_w)?;
        let act = g.swiglu(gate, up)?;
        let down = g.matmul(act, down_w)?;
        x = g.add(x, down)?;
    }
    let norm_w = g.weight("output_norm.weight", weights.output_norm.clone());
    let mut h = g.rms_norm(x, Some(norm_w), config.rms_eps)?;
    if logits == Logits::Last && seq > 1 {
        let row = g.input(LAST_ROW_INPUT, DType::I32, &[1])?;
        h = g.get_rows(h, row)?;
    }
    let out_name = if config.tied_output { "token_embd.weight (output)" } else { "output.weight" };
    let out_w = g.weight(out_name, weights.output.clone());
    let y = g.matmul(h, out_w)?;
    let y = g.name(y, LOGITS_OUTPUT)?;
    g.output(y)?;
    Ok(g)
}

/// Self-attention of layer `i` on the normed hidden state `h [seq, n_embd]`; returns `[seq, n_embd]`.
fn attention_block(
    g: &mut Graph,
    c: &LlamaConfig,
    i: usize,
    h: ValueId,
    seq: usize,
    n_ctx: usize,
    layer: &super::LayerWeights,
) -> Result<ValueId> {
    let heads = |g: &mut Graph, x: ValueId, n: usize| -> Result<ValueId> {
        // [seq, n·d] → [1, n, seq, d]; with one token the two layouts are the same bytes.
        if seq == 1 {
            g.reshape(x, &[1, n, 1, c.head_dim])
        } else {
            let x = g.reshape(x, &[1, seq, n, c.head_dim])?;
            g.permute(x, &[0, 2, 1, 3])
        }
    };
    let wq = g.weight(&format!("blk.{i}.attn_q.weight"), layer.wq.clone());
    let wk = g.weight(&format!("blk.{i}.attn_k.weight"), layer.wk.clone());
    let wv = g.weight(&format!("blk.{i}.attn_v.weight"), layer.wv.clone());
    let wo = g.weight(&format!("blk.{i}.attn_output.weight"), layer.wo.clone());
    let q = g.matmul(h, wq)?;
    let k = g.matmul(h, wk)?;
    let v = g.matmul(h, wv)?;
    let q = heads(g, q, c.n_head)?;
    let k = heads(g, k, c.n_head_kv)?;
    let v = heads(g, v, c.n_head_kv)?;
    let q = g.rope(q, c.rope_theta, RopeMode::Normal, Position::Run)?;
    let k = g.rope(k, c.rope_theta, RopeMode::Normal, Position::Run)?;
    let cache_shape = [1, c.n_head_kv, n_ctx, c.head_dim];
    let k_cache = g.state(&cache_name(i, 'k'), DType::F16, &cache_shape)?;
    let v_cache = g.state(&cache_name(i, 'v'), DType::F16, &cache_shape)?;
    let k_all = g.kv_write(k_cache, k, Position::Run)?;
    let v_all = g.kv_write(v_cache, v, Position::Run)?;
    let params = AttentionOp { scale: None, causal: true, softcap: None, past: Some(Position::Run) };
    let o = g.attention(q, k_all, v_all, None, params)?;
    let width = c.n_head * c.head_dim;
    let o = if seq == 1 {
        g.reshape(o, &[1, width])?
    } else {
        let o = g.permute(o, &[0, 2, 1, 3])?;
        g.reshape(o, &[seq, width])?
    };
    g.matmul(o, wo)
}
