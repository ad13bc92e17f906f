//! One Llama decoder layer, decoding token by token with a KV cache kept in session states.
//!
//! Weights are random here, quantized to Q4_K exactly as a GGUF file stores them; an engine passes
//! the GGUF tensor bytes to `Tensor::from_bytes` instead. Run:
//! `cargo run --release --example llama_layer -- [tokens]`.

use edgehal::{
    AttentionOp, CpuBackend, DType, Graph, Policy, Position, RopeMode, RunOptions, Session, Tensor, ValueId,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

const DIM: usize = 2048;
const HEADS: usize = 16;
const KV_HEADS: usize = 4;
const HEAD_DIM: usize = DIM / HEADS;
const HIDDEN: usize = 5632;
const CONTEXT: usize = 256;

fn weight(g: &mut Graph, rng: &mut StdRng, name: &str, n: usize, k: usize) -> edgehal::Result<ValueId> {
    let scale = 1.0 / (k as f32).sqrt();
    let values: Vec<f32> = (0..n * k).map(|_| rng.random_range(-scale..scale)).collect();
    Ok(g.weight(name, Tensor::from_f32_as(DType::Q4_K, [n, k], &values)?))
}

/// `[1, n_heads * HEAD_DIM]` → `[1, n_heads, 1, HEAD_DIM]`.
fn heads(g: &mut Graph, x: ValueId, n_heads: usize) -> edgehal::Result<ValueId> {
    let x = g.reshape(x, &[1, 1, n_heads, HEAD_DIM])?;
    g.permute(x, &[0, 2, 1, 3])
}

fn build(rng: &mut StdRng) -> edgehal::Result<Graph> {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, DIM])?;
    let k_cache = g.state("k_cache", DType::F16, &[1, KV_HEADS, CONTEXT, HEAD_DIM])?;
    let v_cache = g.state("v_cache", DType::F16, &[1, KV_HEADS, CONTEXT, HEAD_DIM])?;
    let ones = Tensor::from_f32([DIM], &vec![1.0; DIM])?;
    let attn_norm = g.weight("attn_norm", ones.clone());
    let ffn_norm = g.weight("ffn_norm", ones);
    let (wq, wk, wv, wo) = (
        weight(&mut g, rng, "wq", DIM, DIM)?,
        weight(&mut g, rng, "wk", KV_HEADS * HEAD_DIM, DIM)?,
        weight(&mut g, rng, "wv", KV_HEADS * HEAD_DIM, DIM)?,
        weight(&mut g, rng, "wo", DIM, DIM)?,
    );
    let (w_gate, w_up, w_down) = (
        weight(&mut g, rng, "w_gate", HIDDEN, DIM)?,
        weight(&mut g, rng, "w_up", HIDDEN, DIM)?,
        weight(&mut g, rng, "w_down", DIM, HIDDEN)?,
    );

    let h = g.rms_norm(x, None, 1e-5)?;
    let h = g.mul(h, attn_norm)?;
    let (q, k, v) = (g.matmul(h, wq)?, g.matmul(h, wk)?, g.matmul(h, wv)?);
    let q = heads(&mut g, q, HEADS)?;
    let k = heads(&mut g, k, KV_HEADS)?;
    let v = heads(&mut g, v, KV_HEADS)?;
    let q = g.rope(q, 10000.0, RopeMode::Normal, Position::Run)?;
    let k = g.rope(k, 10000.0, RopeMode::Normal, Position::Run)?;
    let k_all = g.kv_write(k_cache, k, Position::Run)?;
    let v_all = g.kv_write(v_cache, v, Position::Run)?;
    let attn =
        g.attention(q, k_all, v_all, None, AttentionOp { past: Some(Position::Run), ..AttentionOp::default() })?;
    let attn = g.permute(attn, &[0, 2, 1, 3])?;
    let attn = g.reshape(attn, &[1, DIM])?;
    let attn = g.matmul(attn, wo)?;
    let x = g.add(x, attn)?;

    let h = g.rms_norm(x, None, 1e-5)?;
    let h = g.mul(h, ffn_norm)?;
    let gate = g.matmul(h, w_gate)?;
    let up = g.matmul(h, w_up)?;
    let gate = g.silu(gate)?;
    let act = g.mul(gate, up)?;
    let down = g.matmul(act, w_down)?;
    let y = g.add(x, down)?;
    let y = g.name(y, "y")?;
    g.output(y)?;
    Ok(g)
}

fn main() -> edgehal::Result<()> {
    let tokens: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(16).min(CONTEXT);
    let mut rng = StdRng::seed_from_u64(0);
    let graph = build(&mut rng)?;
    let mut session = Session::new(graph, vec![Arc::new(CpuBackend::new()?)], Policy::default())?;
    println!("fused: {:?}", session.plan().fused);
    println!("peak memory: {:.1} MiB", session.plan().peak_bytes() as f64 / (1 << 20) as f64);
    let start = std::time::Instant::now();
    for pos in 0..tokens {
        let x: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0..1.0)).collect();
        let opts = RunOptions { position: pos, profile: pos + 1 == tokens, ..Default::default() };
        let out = session.run_with(&[("x", &Tensor::from_f32([1, DIM], &x)?)], &opts)?;
        let y = out.get("y")?.to_f32_vec()?;
        if y.iter().any(|v| !v.is_finite()) {
            eprintln!("non-finite output at position {pos}");
            std::process::exit(1);
        }
    }
    let per_token = start.elapsed().as_secs_f64() * 1e3 / tokens as f64;
    println!("{tokens} tokens, {per_token:.2} ms per token (one layer)");
    if let Some(profile) = session.last_profile() {
        print!("{}", profile.summary_table());
    }
    Ok(())
}
