//! Tiny random Llama models written with the GGUF writer in f32, f16, q8_0 and q4_0 (norms f32,
//! as llama.cpp's converter stores them), run on the CPU backend and compared at every position
//! with the float64 numpy forward pass of `scripts/llama_reference.py` on the same file.
//!
//! Tolerances, relative to the range of each reference row: 0.1 % with f32 activations (f32
//! rounding over two layers), 4 % with the default 8-bit activations (each activation rounded to
//! 1/254 of its block's largest value before every quantized matmul; f32/f16 weights do not
//! round activations, so they get the 0.1 % bound in both modes). Also: typed errors for a missing
//! tensor, a wrong shape, an unsupported architecture and a bad token id.

use edgehal::gguf::{GgufFile, GgufWriter, MetaValue};
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::{Backend, CpuBackend, DType, Error, Tensor};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const EMBD: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = EMBD / HEADS;
const FF: usize = 128;
const VOCAB: usize = 96;
const LAYERS: usize = 2;
const TOKENS: [u32; 11] = [1, 17, 42, 5, 88, 63, 2, 30, 95, 11, 0];

/// Writes a random model with matrices in `dtype`; `tied` leaves out `output.weight`.
fn write_model(path: &Path, dtype: DType, tied: bool, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut w = GgufWriter::new();
    let meta: [(&str, MetaValue); 10] = [
        ("general.architecture", "llama".into()),
        ("llama.block_count", (LAYERS as u32).into()),
        ("llama.embedding_length", (EMBD as u32).into()),
        // A per-layer array, as some converters write it.
        ("llama.feed_forward_length", vec![FF as u32; LAYERS].into()),
        ("llama.attention.head_count", (HEADS as u32).into()),
        ("llama.attention.head_count_kv", (KV_HEADS as u32).into()),
        ("llama.rope.freq_base", 10_000.0f32.into()),
        ("llama.rope.dimension_count", (HEAD_DIM as u32).into()),
        ("llama.attention.layer_norm_rms_epsilon", 1e-5f32.into()),
        ("llama.context_length", 64u32.into()),
    ];
    for (k, v) in meta {
        w.set(k, v).unwrap();
    }
    let mut matrix = |rows: usize, cols: usize, scale: f32| -> Tensor {
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(-scale..scale)).collect();
        Tensor::from_f32_as(dtype, [rows, cols], &values).unwrap()
    };
    let mut tensors: Vec<(String, Tensor)> = vec![("token_embd.weight".into(), matrix(VOCAB, EMBD, 1.0))];
    let s = 1.7 / (EMBD as f32).sqrt();
    for i in 0..LAYERS {
        let p = |n: &str| format!("blk.{i}.{n}.weight");
        tensors.push((p("attn_q"), matrix(EMBD, EMBD, s)));
        tensors.push((p("attn_k"), matrix(KV_HEADS * HEAD_DIM, EMBD, s)));
        tensors.push((p("attn_v"), matrix(KV_HEADS * HEAD_DIM, EMBD, s)));
        tensors.push((p("attn_output"), matrix(EMBD, EMBD, s)));
        tensors.push((p("ffn_gate"), matrix(FF, EMBD, s)));
        tensors.push((p("ffn_up"), matrix(FF, EMBD, s)));
        tensors.push((p("ffn_down"), matrix(EMBD, FF, 1.7 / (FF as f32).sqrt())));
    }
    if !tied {
        tensors.push(("output.weight".into(), matrix(VOCAB, EMBD, s)));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 1000);
    let mut norm = |name: String| {
        let v: Vec<f32> = (0..EMBD).map(|_| rng.random_range(0.6..1.4)).collect();
        (name, Tensor::from_f32([EMBD], &v).unwrap())
    };
    for i in 0..LAYERS {
        tensors.push(norm(format!("blk.{i}.attn_norm.weight")));
        tensors.push(norm(format!("blk.{i}.ffn_norm.weight")));
    }
    tensors.push(norm("output_norm.weight".into()));
    for (name, t) in &tensors {
        w.add_tensor(name.as_str(), t).unwrap();
    }
    w.write(path).unwrap();
}

/// The reference's logits for [`TOKENS`], or `None` (with a note) when Python's gguf/numpy are
/// missing and `EDGEHAL_REQUIRE_MODELS` is not set.
fn reference(path: &Path) -> Option<Vec<f32>> {
    let out = path.with_extension("ref.f32");
    let tokens: Vec<String> = TOKENS.iter().map(|t| t.to_string()).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/llama_reference.py");
    let result = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .args(["--tokens", &tokens.join(","), "--out-f32"])
        .arg(&out)
        .output();
    match result {
        Ok(o) if o.status.success() => {}
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var_os("EDGEHAL_REQUIRE_MODELS").is_none(),
                "the numpy reference failed (scripts/test-deps.sh installs gguf and numpy): {why}"
            );
            eprintln!("skipped: the numpy reference cannot run: {why}");
            return None;
        }
    }
    let bytes = std::fs::read(&out).unwrap();
    Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgehal-llama-tiny-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Worst max-abs error over rows, relative to each reference row's range.
fn worst_row_error(reference: &[f32], got: &[f32]) -> f32 {
    assert_eq!(reference.len(), got.len());
    assert!(got.iter().all(|x| x.is_finite()), "non-finite logits");
    reference
        .chunks(VOCAB)
        .zip(got.chunks(VOCAB))
        .map(|(r, g)| {
            let (lo, hi) = r.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            r.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max) / (hi - lo)
        })
        .fold(0.0, f32::max)
}

fn logits(file: &GgufFile, f32_acts: bool, chunk: usize) -> Vec<f32> {
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new().unwrap().with_f32_activations(f32_acts));
    let options = LlamaOptions { n_ctx: Some(32), prefill_chunk: chunk, ..Default::default() };
    let mut model = LlamaModel::load(file, vec![cpu], options).unwrap();
    // Two calls, so the second part starts at a non-zero position.
    let mut all = model.forward(&TOKENS[..6]).unwrap().to_f32_vec().unwrap();
    all.extend(model.forward(&TOKENS[6..]).unwrap().to_f32_vec().unwrap());
    all
}

#[test]
fn tiny_models_match_the_numpy_reference_in_every_format() {
    let dir = temp_dir("formats");
    for (i, (dtype, tied)) in
        [(DType::F32, false), (DType::F16, true), (DType::Q8_0, true), (DType::Q4_0, false)].into_iter().enumerate()
    {
        let path = dir.join(format!("tiny-{}.gguf", dtype.name()));
        write_model(&path, dtype, tied, i as u64);
        let Some(reference) = reference(&path) else { return };
        let file = GgufFile::open(&path).unwrap();
        // Chunk 4: prefill chunks, a padded chunk and decode steps (3 of 4 → chunk; 1 → decode).
        for (f32_acts, chunk) in [(true, 4), (false, 4), (false, 16)] {
            let got = logits(&file, f32_acts, chunk);
            let err = worst_row_error(&reference, &got);
            let tol = if f32_acts || dtype.is_float() { 1e-3 } else { 0.04 };
            eprintln!("{dtype} tied={tied} f32_acts={f32_acts} chunk={chunk}: max error {:.4} % of range", err * 100.0);
            assert!(err <= tol, "{dtype} (f32 activations {f32_acts}, chunk {chunk}): error {err} > {tol}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn model_errors_name_the_key_or_tensor() {
    let dir = temp_dir("errors");
    let path = dir.join("good.gguf");
    write_model(&path, DType::F32, true, 7);
    let good = std::fs::read(&path).unwrap();
    let cpu = || -> Vec<Arc<dyn Backend>> { vec![Arc::new(CpuBackend::new().unwrap())] };

    // A file without one tensor: rewrite through the reader, dropping blk.1.ffn_up.
    let rewrite = |skip: &str, reshape: Option<(&str, Vec<usize>)>, arch: &str| -> GgufFile {
        let src = GgufFile::from_bytes(good.clone()).unwrap();
        let mut w = GgufWriter::new();
        for (k, v) in src.metadata() {
            let v = if k == "general.architecture" { MetaValue::from(arch) } else { v.clone() };
            w.set(k.as_str(), v).unwrap();
        }
        for info in src.tensors() {
            if info.name == skip {
                continue;
            }
            let mut t = src.tensor(&info.name).unwrap();
            if let Some((name, shape)) = &reshape
                && *name == info.name
            {
                t = t.reshaped(shape.clone()).unwrap();
            }
            w.add_tensor(info.name.as_str(), &t).unwrap();
        }
        GgufFile::from_bytes(w.to_bytes()).unwrap()
    };
    let err = |file: GgufFile| LlamaModel::load(&file, cpu(), LlamaOptions::default()).err().expect("must fail");

    match err(rewrite("blk.1.ffn_up.weight", None, "llama")) {
        Error::Model { item, why, .. } => assert!(item == "blk.1.ffn_up.weight" && why.contains("missing"), "{why}"),
        e => panic!("wrong error: {e}"),
    }
    match err(rewrite("", Some(("blk.0.attn_k.weight", vec![EMBD, KV_HEADS * HEAD_DIM])), "llama")) {
        Error::Model { item, why, .. } => assert!(item == "blk.0.attn_k.weight" && why.contains("expected"), "{why}"),
        e => panic!("wrong error: {e}"),
    }
    match err(rewrite("", None, "mamba")) {
        Error::Model { item, why, .. } => assert!(item == "general.architecture" && why.contains("mamba"), "{why}"),
        e => panic!("wrong error: {e}"),
    }
    let file = GgufFile::from_bytes(good).unwrap();
    let mut model = LlamaModel::load(&file, cpu(), LlamaOptions { n_ctx: Some(8), ..Default::default() }).unwrap();
    let bad_id = model.forward(&[3, VOCAB as u32]).unwrap_err();
    assert!(bad_id.to_string().contains("outside the vocabulary"), "{bad_id}");
    let too_long = model.forward(&[1; 9]).unwrap_err();
    assert!(too_long.to_string().contains("exceed the context"), "{too_long}");
    // Nothing was cached by the refused calls.
    assert_eq!(model.position(), 0);
    std::fs::remove_dir_all(&dir).ok();
}
