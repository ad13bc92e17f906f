//! Criterion benches of the CPU kernels against baselines run beside them.
//!
//! - `matmul_f32/*`: edgehal's f32 matmul against the `gemm` crate on 4096×512×4096;
//! - `gemv/*`: quantized GEMV (m = 1) over weight copies totalling ≥ 4× a 32 MiB LLC, so the
//!   throughput (reported in bytes) is DRAM bandwidth, not cache;
//! - `executor/1000_tiny_ops`: a graph of 1,000 element-wise ops on 16 floats, per-op overhead.
//!
//! `cargo bench --bench kernels -- <filter>`; figures go to BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgehal::kernels::cpu::matmul::{PackedWeights, matmul};
use edgehal::kernels::{DType, quant};
use edgehal::{CpuBackend, Graph, Policy, Session, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn random(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().build().expect("thread pool")
}

fn matmul_f32(c: &mut Criterion) {
    let (m, k, n) = (512, 4096, 4096);
    let mut rng = StdRng::seed_from_u64(1);
    let x = random(&mut rng, m * k);
    let w = random(&mut rng, n * k);
    let packed = PackedWeights::new(DType::F32, n, k, bytemuck::cast_slice(&w)).expect("pack");
    let mut y = vec![0f32; m * n];
    let pool = pool();
    let mut g = c.benchmark_group("matmul_f32");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements((2 * m * n * k) as u64));
    g.bench_function("edgehal_4096x512x4096", |b| {
        b.iter(|| pool.install(|| matmul(black_box(&x), m, &packed, &mut y).expect("matmul")))
    });
    let threads = rayon::current_num_threads();
    g.bench_function("gemm_crate_4096x512x4096", |b| {
        b.iter(|| unsafe {
            // y[m,n] = x[m,k] · w[n,k]ᵀ: w read as a column-major [k,n] matrix.
            gemm::gemm(
                m,
                n,
                k,
                y.as_mut_ptr(),
                1,
                n as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            )
        })
    });
    g.finish();
}

fn gemv(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let mut g = c.benchmark_group("gemv");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let pool = pool();
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K] {
        for (n, k) in [(14336, 4096), (4096, 14336)] {
            let bytes = dtype.bytes_for(n * k).expect("whole blocks");
            let copies = (128usize << 20).div_ceil(bytes).max(1);
            let src = random(&mut rng, n * k);
            let q = quant::quantize(dtype, &src).expect("quantize");
            let ws: Vec<PackedWeights> =
                (0..copies).map(|_| PackedWeights::new(dtype, n, k, &q).expect("pack")).collect();
            let x = random(&mut rng, k);
            let mut y = vec![0f32; n];
            let mut i = 0;
            g.throughput(Throughput::Bytes(bytes as u64));
            g.bench_function(format!("{dtype}_{n}x{k}"), |b| {
                b.iter(|| {
                    i = (i + 1) % copies;
                    pool.install(|| matmul(&x, 1, &ws[i], &mut y).expect("gemv"))
                })
            });
        }
    }
    g.finish();
}

fn executor_overhead(c: &mut Criterion) {
    let mut g = Graph::new();
    let mut v = g.input("x", DType::F32, &[16]).expect("input");
    for _ in 0..1000 {
        v = g.silu(v).expect("silu");
    }
    g.output(v).expect("output");
    let backend = Arc::new(CpuBackend::with_threads(1).expect("cpu"));
    let mut s = Session::new(g, vec![backend], Policy::default()).expect("session");
    let x = Tensor::from_f32([16], &[0.5; 16]).expect("tensor");
    let mut group = c.benchmark_group("executor");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000_tiny_ops", |b| b.iter(|| s.run(&[("x", &x)]).expect("run")));
    group.finish();
}

criterion_group!(benches, matmul_f32, gemv, executor_overhead);
criterion_main!(benches);
