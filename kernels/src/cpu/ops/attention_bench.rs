//! Ad-hoc timings (`cargo test -p edgehal-kernels --release attention_bench -- --ignored
//! --nocapture --test-threads=1`): attention decode and prefill against this machine's DRAM read
//! bandwidth and f32 FMA peak, measured here too. Times are process CPU time per pool thread
//! (set `BENCH_WALL=1` for wall time), as the development machine is shared.

use super::attention::{KvCache, attention};
use super::simd::{Vf32, dispatch};
use super::test_util::{rng, uniform};
use crate::{AttentionParams, AttentionShape};
use half::f16;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time of the whole process, in seconds (the machine is shared: wall time is noisy).
fn process_cpu_seconds() -> f64 {
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: ts is a valid timespec (64-bit Linux layout).
    unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

/// Best of `reps` runs, in seconds: wall time, and process CPU time divided by the pool's threads
/// (what the wall time would be on otherwise idle cores, when every thread is busy).
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    let threads = rayon::current_num_threads() as f64;
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let (t, c) = (Instant::now(), process_cpu_seconds());
        f();
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min((process_cpu_seconds() - c) / threads);
    }
    if std::env::var_os("BENCH_WALL").is_some() { wall } else { cpu }
}

/// GB/s of a parallel read of 512 MiB.
fn dram_read_gbps() -> f64 {
    let buf: Vec<u64> = (0..64u64 << 20).collect();
    let t = best_of(5, || {
        let s = buf.par_chunks(1 << 15).map(|c| c.iter().fold(0, |a, &x| a ^ x)).reduce(|| 0, |a, b| a ^ b);
        black_box(s);
    });
    (buf.len() * 8) as f64 / t / 1e9
}

#[inline(always)]
fn fma_loop<V: Vf32>(iters: usize) -> f32 {
    let mut acc = [V::splat(0.5); 12];
    let (a, b) = (V::splat(0.999_999), V::splat(1e-7));
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = x.mul_add(a, b);
        }
    }
    acc.iter().map(|v| v.reduce_sum()).sum::<f32>()
}
dispatch!(fn fma_loop_best(iters: usize) -> f32 => fma_loop);

#[inline(always)]
fn lanes<V: Vf32>() -> usize {
    V::LANES
}
dispatch!(fn lanes_best() -> usize => lanes);

/// GFLOP/s of independent FMA chains on every thread.
fn fma_peak_gflops() -> f64 {
    let iters = 20_000_000;
    let lanes = lanes_best();
    let threads = rayon::current_num_threads();
    let t = best_of(3, || {
        (0..threads).into_par_iter().for_each(|_| {
            black_box(fma_loop_best(black_box(iters)));
        })
    });
    (threads * iters * 12 * lanes * 2) as f64 / t / 1e9
}

#[test]
#[ignore]
fn attention_bench() {
    let bw = dram_read_gbps();
    let peak = fma_peak_gflops();
    println!("threads {}, DRAM read {bw:.1} GB/s, f32 FMA peak {peak:.1} GFLOP/s", rayon::current_num_threads());

    let d = 128;
    let params = AttentionParams { scale: 1.0 / (d as f32).sqrt(), causal: true, softcap: None };
    let mut r = rng(1);

    // Decode: 1 query, 4096 cached positions, 32/8 heads, f16 cache.
    let sh =
        AttentionShape { batch: 1, n_head: 32, n_kv_head: 8, seq_q: 1, kv_len: 4096, kv_capacity: 4096, head_dim: d };
    let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
    let copies = 10; // 168 MB of caches, past the 32 MiB L3
    let kv: Vec<Vec<f16>> = (0..2 * copies)
        .map(|_| uniform(&mut r, sh.kv_elems(), -1.0, 1.0).iter().map(|&x| f16::from_f32(x)).collect())
        .collect();
    let mut out = vec![0.0f32; sh.q_elems()];
    let bytes = (2 * sh.kv_elems() * 2) as f64;
    let mut run = |c: usize| {
        attention(&q, KvCache::F16(&kv[2 * c]), KvCache::F16(&kv[2 * c + 1]), None, &sh, &params, &mut out).unwrap()
    };
    let hot = best_of(50, || run(0));
    let cold = best_of(5, || (0..copies).for_each(&mut run)) / copies as f64;
    println!(
        "decode f16: hot {:.1} us ({:.1} GB/s), cold {:.1} us ({:.1} GB/s = {:.0}% of DRAM read)",
        hot * 1e6,
        bytes / hot / 1e9,
        cold * 1e6,
        bytes / cold / 1e9,
        100.0 * bytes / cold / 1e9 / bw
    );

    // Prefill: 512 tokens, causal.
    let sh = AttentionShape { seq_q: 512, kv_len: 512, kv_capacity: 512, ..sh };
    let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
    let k = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
    let v = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
    let k16: Vec<f16> = k.iter().map(|&x| f16::from_f32(x)).collect();
    let v16: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
    let mut out = vec![0.0f32; sh.q_elems()];
    let flops = (4 * d * sh.n_head * sh.seq_q * (sh.seq_q + 1) / 2) as f64;
    let t32 = best_of(5, || attention(&q, KvCache::F32(&k), KvCache::F32(&v), None, &sh, &params, &mut out).unwrap());
    let t16 =
        best_of(5, || attention(&q, KvCache::F16(&k16), KvCache::F16(&v16), None, &sh, &params, &mut out).unwrap());
    for (name, t) in [("f32", t32), ("f16", t16)] {
        println!(
            "prefill 512 causal {name}: {:.2} ms, {:.1} GFLOP/s = {:.0}% of FMA peak",
            t * 1e3,
            flops / t / 1e9,
            100.0 * flops / t / 1e9 / peak
        );
    }
}

/// Decode in a loop for profiling (`perf record … attention_bench::decode_loop --ignored`).
#[test]
#[ignore]
fn decode_loop() {
    let d = 128;
    let params = AttentionParams { scale: 1.0 / (d as f32).sqrt(), causal: true, softcap: None };
    let sh =
        AttentionShape { batch: 1, n_head: 32, n_kv_head: 8, seq_q: 1, kv_len: 4096, kv_capacity: 4096, head_dim: d };
    let mut r = rng(2);
    let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
    let k: Vec<f16> = uniform(&mut r, sh.kv_elems(), -1.0, 1.0).iter().map(|&x| f16::from_f32(x)).collect();
    let v: Vec<f16> = uniform(&mut r, sh.kv_elems(), -1.0, 1.0).iter().map(|&x| f16::from_f32(x)).collect();
    let mut out = vec![0.0f32; sh.q_elems()];
    let reps = 2000;
    let t = best_of(1, || {
        for _ in 0..reps {
            attention(&q, KvCache::F16(&k), KvCache::F16(&v), None, &sh, &params, &mut out).unwrap();
        }
    });
    println!("decode f16 hot: {:.1} us", t / reps as f64 * 1e6);
}

/// Decode of a small model (SmolLM2-135M: 9/3 heads, d = 64) at several cache lengths, hot and
/// with the 30 layers' caches cycled, wall time per call.
#[test]
#[ignore]
fn decode_small_model() {
    let d = 64;
    let params = AttentionParams { scale: 1.0 / (d as f32).sqrt(), causal: true, softcap: None };
    let mut r = rng(3);
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    for kv_len in [16, 64, 256, 1024] {
        let sh = AttentionShape { batch: 1, n_head: 9, n_kv_head: 3, seq_q: 1, kv_len, kv_capacity: 4096, head_dim: d };
        let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
        let layers = 30;
        let kv: Vec<Vec<f16>> = (0..2 * layers)
            .map(|_| uniform(&mut r, sh.kv_elems(), -1.0, 1.0).iter().map(|&x| f16::from_f32(x)).collect())
            .collect();
        let mut out = vec![0.0f32; sh.q_elems()];
        let mut run = |c: usize| {
            attention(&q, KvCache::F16(&kv[2 * c]), KvCache::F16(&kv[2 * c + 1]), None, &sh, &params, &mut out).unwrap()
        };
        let reps = 200;
        let per_call = pool.install(|| {
            let t = Instant::now();
            for _ in 0..reps {
                (0..layers).for_each(&mut run);
            }
            t.elapsed().as_secs_f64() / (reps * layers) as f64
        });
        println!("small-model decode kv {kv_len}: {:.1} us per layer", per_call * 1e6);
    }
}
