//! Runs causal attention (32/8 heads, d = 128; default a 512-token prefill) in a loop, for
//! profilers (`valgrind --tool=callgrind`, `perf record`): `cargo run --release -p
//! edgehal-kernels --example attention_loop -- [reps] [f16|f32] [queries] [keys]`.

use edgehal_kernels::cpu::ops::{KvCache, attention};
use edgehal_kernels::{AttentionParams, AttentionShape};
use half::f16;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let f16_cache = args.get(2).is_none_or(|a| a == "f16");
    let seq: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(512);
    let keys: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(seq).max(seq);
    let d = 128;
    let sh =
        AttentionShape { batch: 1, n_head: 32, n_kv_head: 8, seq_q: seq, kv_len: keys, kv_capacity: keys, head_dim: d };
    let params = AttentionParams { scale: 1.0 / (d as f32).sqrt(), causal: true, softcap: None };
    // A cheap deterministic fill in [-1, 1): the values do not change the work done.
    let fill = |n: usize, seed: u32| -> Vec<f32> {
        (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0).collect()
    };
    let q = fill(sh.q_elems(), 1);
    let (k, v) = (fill(sh.kv_elems(), 2), fill(sh.kv_elems(), 3));
    let (k16, v16): (Vec<f16>, Vec<f16>) =
        (k.iter().map(|&x| f16::from_f32(x)).collect(), v.iter().map(|&x| f16::from_f32(x)).collect());
    let (kc, vc) =
        if f16_cache { (KvCache::F16(&k16), KvCache::F16(&v16)) } else { (KvCache::F32(&k), KvCache::F32(&v)) };
    let mut out = vec![0.0f32; sh.q_elems()];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        attention(&q, kc, vc, None, &sh, &params, &mut out).expect("valid shapes");
        best = best.min(t.elapsed().as_secs_f64());
    }
    // Causal: query i sees keys ..= keys - seq + i.
    let seen: usize = (0..seq).map(|i| keys - seq + i + 1).sum();
    let flops = (4 * d * sh.n_head * seen) as f64;
    println!("best of {reps}: {:.2} ms, {:.1} GFLOP/s (out[0] = {})", best * 1e3, flops / best / 1e9, out[0]);
}
