//! Greedy generation with a GGUF Llama model: the README's engine-author example.
//!
//! `cargo run --release --example generate -- MODEL.gguf "The capital of France is"`

use edgehal::gguf::GgufFile;
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::models::sampling::argmax;
use edgehal::tokenizer::Tokenizer;
use edgehal::{Backend, CpuBackend};
use std::sync::Arc;

fn main() -> edgehal::Result<()> {
    let mut args = std::env::args().skip(1);
    let (path, prompt) = (args.next().expect("MODEL.gguf"), args.next().unwrap_or("Once upon a time".into()));
    let file = GgufFile::open(&path)?; // mmap: weights stay in the file's pages
    let tokenizer = Tokenizer::from_gguf(&file)?;
    let backends: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend::new()?)]; // or wgpu, vulkan, qnn
    let mut model = LlamaModel::load(&file, backends, LlamaOptions::default())?;
    let ids = tokenizer.encode(&prompt, tokenizer.add_bos_default())?;
    let mut logits = model.forward_last(&ids)?; // prefill; KV cache kept in the model
    let mut text = tokenizer.stream();
    print!("{prompt}");
    for _ in 0..32 {
        let next = argmax(&logits);
        if tokenizer.is_end(next) {
            break;
        }
        print!("{}", text.push(next)?);
        logits = model.forward_last(&[next])?; // one decode step
    }
    println!("{}", text.finish());
    Ok(())
}
