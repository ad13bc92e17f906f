use edgehal::gguf::GgufFile;
use edgehal::models::llama::{LlamaModel, LlamaOptions};
use edgehal::models::sampling::argmax;
use std::sync::Arc;
fn main() -> edgehal::Result<()> {
    let path = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let file = GgufFile::open(&path)?;
    let cpu: Arc<dyn edgehal::Backend> = Arc::new(edgehal::CpuBackend::new()?);
    let mut m = LlamaModel::load(&file, vec![cpu], LlamaOptions { n_ctx: Some(512), ..Default::default() })?;
    let ids = [504u32, 3575, 282, 4649, 314];
    let l = m.forward(&ids)?;
    let v = m.config().n_vocab;
    let f = l.to_f32_vec()?;
    let am: Vec<u32> = (0..ids.len()).map(|i| argmax(&f[i * v..(i + 1) * v])).collect();
    println!("argmax {am:?} load+first {:?}", t.elapsed());
    let mut tok = am[4];
    let mut out = vec![tok];
    let t = std::time::Instant::now();
    for _ in 0..15 {
        let l = m.forward_last(&[tok])?;
        tok = argmax(&l);
        out.push(tok);
    }
    println!("greedy {out:?} {:.1} tok/s", 15.0 / t.elapsed().as_secs_f64());
    Ok(())
}
