//! Soak test: thousands of decode steps of a small random Llama model on one backend, checking
//! that every step's logits equal the first cycle's bit for bit and that resident memory stays
//! flat (issue 12). On lavapipe the device memory is host memory, so RSS covers it; on a
//! discrete GPU device memory would need the driver's own counters (not read here).
//!
//! `cargo run --release -p edgehal-vulkan --example soak -- BACKEND [STEPS]` with BACKEND one of
//! cpu, wgpu, vulkan (default 10000 steps). Prints one JSON line with the figures; exits non-zero
//! on a mismatch.

use edgehal::gguf::{GgufFile, GgufWriter, MetaValue};
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::{Backend, CpuBackend, DType, Tensor};
use std::sync::Arc;
use std::time::Instant;

const EMBD: usize = 128;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const FF: usize = 256;
const VOCAB: usize = 256;
const LAYERS: usize = 2;
/// Decode steps per cycle: a cycle resets the cache and decodes these tokens one at a time.
const CYCLE: [u32; 8] = [1, 17, 42, 5, 88, 63, 2, 30];

/// A small xorshift stream for weights (no rand dependency for an example).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn write_model(path: &std::path::Path) -> edgehal::Result<()> {
    let mut w = GgufWriter::new();
    let head_dim = EMBD / HEADS;
    let meta: [(&str, MetaValue); 10] = [
        ("general.architecture", "llama".into()),
        ("llama.block_count", (LAYERS as u32).into()),
        ("llama.embedding_length", (EMBD as u32).into()),
        ("llama.feed_forward_length", (FF as u32).into()),
        ("llama.attention.head_count", (HEADS as u32).into()),
        ("llama.attention.head_count_kv", (KV_HEADS as u32).into()),
        ("llama.rope.freq_base", 10_000.0f32.into()),
        ("llama.rope.dimension_count", (head_dim as u32).into()),
        ("llama.attention.layer_norm_rms_epsilon", 1e-5f32.into()),
        ("llama.context_length", 64u32.into()),
    ];
    for (k, v) in meta {
        w.set(k, v)?;
    }
    let mut rng = Stream(0x9E37_79B9_7F4A_7C15);
    let mut matrix = |rows: usize, cols: usize, scale: f32| {
        let v: Vec<f32> = (0..rows * cols).map(|_| scale * rng.next()).collect();
        Tensor::from_f32_as(DType::Q4_0, [rows, cols], &v)
    };
    let s = 1.7 / (EMBD as f32).sqrt();
    let mut tensors = vec![("token_embd.weight".to_string(), matrix(VOCAB, EMBD, 1.0)?)];
    for i in 0..LAYERS {
        let p = |n: &str| format!("blk.{i}.{n}.weight");
        tensors.push((p("attn_q"), matrix(EMBD, EMBD, s)?));
        tensors.push((p("attn_k"), matrix(KV_HEADS * head_dim, EMBD, s)?));
        tensors.push((p("attn_v"), matrix(KV_HEADS * head_dim, EMBD, s)?));
        tensors.push((p("attn_output"), matrix(EMBD, EMBD, s)?));
        tensors.push((p("ffn_gate"), matrix(FF, EMBD, s)?));
        tensors.push((p("ffn_up"), matrix(FF, EMBD, s)?));
        tensors.push((p("ffn_down"), matrix(EMBD, FF, 1.7 / (FF as f32).sqrt())?));
        for n in ["attn_norm", "ffn_norm"] {
            tensors.push((p(n), Tensor::from_f32([EMBD], &vec![1.0; EMBD])?));
        }
    }
    tensors.push(("output_norm.weight".into(), Tensor::from_f32([EMBD], &vec![1.0; EMBD])?));
    for (name, t) in &tensors {
        w.add_tensor(name.as_str(), t)?;
    }
    w.write(path)
}

/// Resident set size in KiB (Linux `/proc/self/status`).
fn rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Least-squares slope of `ys` over `xs`.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    cov / var
}

fn main() -> edgehal::Result<()> {
    let mut args = std::env::args().skip(1);
    let backend_name = args.next().unwrap_or_else(|| "cpu".into());
    let steps: usize = args.next().map(|s| s.parse().expect("STEPS is a number")).unwrap_or(10_000);
    let backend: Arc<dyn Backend> = match backend_name.as_str() {
        "cpu" => Arc::new(CpuBackend::new()?),
        "wgpu" => Arc::new(edgehal_wgpu::WgpuBackend::new()?),
        "vulkan" => Arc::new(edgehal_vulkan::VulkanBackend::new()?),
        other => panic!("unknown backend {other}: cpu, wgpu or vulkan"),
    };
    let dir = std::env::temp_dir().join(format!("edgehal-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| edgehal::Error::Io { path: dir.display().to_string(), source: e })?;
    let path = dir.join("soak.gguf");
    write_model(&path)?;
    let file = GgufFile::open(&path)?;
    let options = LlamaOptions { n_ctx: Some(16), ..Default::default() };
    let mut model = LlamaModel::load(&file, vec![backend], options)?;
    let mut first: Vec<Vec<f32>> = Vec::new();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let (rss_start, start) = (rss_kib(), Instant::now());
    let mut mismatches = 0usize;
    for step in 0..steps {
        let i = step % CYCLE.len();
        if i == 0 {
            model.reset();
        }
        let logits = model.forward_last(&[CYCLE[i]])?;
        if first.len() < CYCLE.len() {
            first.push(logits);
        } else if logits.iter().zip(&first[i]).any(|(a, b)| a.to_bits() != b.to_bits()) {
            mismatches += 1;
        }
        if step % 250 == 0 {
            xs.push(step as f64);
            ys.push(rss_kib());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let half = xs.len() / 2;
    let slope_kib_per_1000 = 1000.0 * slope(&xs[half..], &ys[half..]);
    println!(
        "{{\"backend\": \"{backend_name}\", \"steps\": {steps}, \"mismatched_steps\": {mismatches}, \"seconds\": {seconds:.2}, \
         \"rss_start_kib\": {rss_start}, \"rss_end_kib\": {}, \"rss_max_kib\": {}, \"rss_slope_kib_per_1000_steps_second_half\": {slope_kib_per_1000:.3}}}",
        rss_kib(),
        ys.iter().cloned().fold(f64::MIN, f64::max)
    );
    let _ = std::fs::remove_dir_all(&dir);
    if mismatches > 0 {
        std::process::exit(1);
    }
    Ok(())
}
