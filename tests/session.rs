//! The executor end to end on the CPU backend: build-time validation, fusion, memory reuse,
//! KV-cache state across runs, run-input errors and profiles.

use edgehal::kernels::reference;
use edgehal::{
    AttentionOp, AttentionParams, AttentionShape, CpuBackend, DType, Error, Graph, Policy, Position, RunOptions,
    Session, Tensor,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

fn random(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn cpu() -> Vec<Arc<dyn edgehal::Backend>> {
    vec![Arc::new(CpuBackend::with_threads(2).unwrap())]
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (*g as f64 - w).abs();
        assert!(err <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w} (err {err})");
    }
}

fn relative_rms(got: &[f32], want: &[f64]) -> f64 {
    assert!(got.iter().all(|v| v.is_finite()), "non-finite output");
    let err: f64 = got.iter().zip(want).map(|(g, w)| (*g as f64 - w).powi(2)).sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    (err / norm).sqrt()
}

#[test]
fn shape_errors_name_the_op_and_both_shapes() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 64]).unwrap();
    let w = g.weight("w", Tensor::from_f32([8, 32], &[0.5; 256]).unwrap());
    let err = g.matmul(x, w).unwrap_err().to_string();
    assert!(err.contains("matmul") && err.contains("[2, 64]") && err.contains("[8, 32]"), "{err}");

    let wq = Tensor::from_bytes(DType::Q4_K, [4, 256], &vec![0; 4 * 144]).unwrap();
    let wq = g.weight("wq", wq);
    let x2 = g.input("x2", DType::F32, &[1, 128]).unwrap();
    assert!(matches!(g.matmul(x2, wq), Err(Error::Shape { .. })));
    assert!(Tensor::from_bytes(DType::Q4_0, [2, 32], &[0; 35]).is_err(), "wrong byte count must be refused");
    assert!(matches!(Tensor::from_bytes(DType::Q4_0, [2, 33], &[0; 36]), Err(Error::Shape { .. })));
}

#[test]
fn state_misuse_is_refused_at_build_time() {
    let mut g = Graph::new();
    let cache = g.state("k_cache", DType::F32, &[1, 2, 8, 4]).unwrap();
    let new = g.input("k", DType::F32, &[1, 2, 1, 4]).unwrap();
    let not_state = g.input("c2", DType::F32, &[1, 2, 8, 4]).unwrap();
    assert!(matches!(g.kv_write(not_state, new, Position::Fixed(0)), Err(Error::Graph(_))));
    assert!(matches!(g.kv_write(cache, new, Position::Fixed(8)), Err(Error::Shape { .. })));
    g.kv_write(cache, new, Position::Run).unwrap();
    assert!(matches!(g.copy(cache), Err(Error::Graph(_))), "the old state value must not be readable after kv_write");
}

/// x → rms_norm → ·norm_w → matmul(q8_0 gate), matmul(q8_0 up) → silu(gate)·up → matmul(f16 down).
fn mlp_graph(rng: &mut StdRng, d: usize, hidden: usize) -> (Graph, Vec<f32>, [Vec<f32>; 4]) {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[3, d]).unwrap();
    let norm_w = random(rng, d);
    let gate_w = random(rng, hidden * d);
    let up_w = random(rng, hidden * d);
    let down_w = random(rng, d * hidden);
    let nw = g.weight("norm_w", Tensor::from_f32([d], &norm_w).unwrap());
    let gw = g.weight("gate_w", Tensor::from_f32_as(DType::Q8_0, [hidden, d], &gate_w).unwrap());
    let uw = g.weight("up_w", Tensor::from_f32_as(DType::Q8_0, [hidden, d], &up_w).unwrap());
    let dw = g.weight("down_w", Tensor::from_f32_as(DType::F16, [d, hidden], &down_w).unwrap());
    let h = g.rms_norm(x, None, 1e-5).unwrap();
    let h = g.mul(h, nw).unwrap();
    let gate = g.matmul(h, gw).unwrap();
    let up = g.matmul(h, uw).unwrap();
    let gate = g.silu(gate).unwrap();
    let act = g.mul(gate, up).unwrap();
    let y = g.matmul(act, dw).unwrap();
    let y = g.name(y, "y").unwrap();
    g.output(y).unwrap();
    let weights = [
        norm_w,
        Tensor::from_f32_as(DType::Q8_0, [hidden, d], &gate_w).unwrap().to_f32_vec().unwrap(),
        Tensor::from_f32_as(DType::Q8_0, [hidden, d], &up_w).unwrap().to_f32_vec().unwrap(),
        Tensor::from_f32_as(DType::F16, [d, hidden], &down_w).unwrap().to_f32_vec().unwrap(),
    ];
    (g, random(rng, 3 * d), weights)
}

#[test]
fn fused_mlp_matches_the_reference_and_the_unfused_graph() {
    let mut rng = StdRng::seed_from_u64(7);
    let (d, hidden) = (64, 96);
    let (g, x, [nw, gw, uw, dw]) = mlp_graph(&mut rng, d, hidden);
    let xt = Tensor::from_f32([3, d], &x).unwrap();

    let mut fused = Session::new(g.clone(), cpu(), Policy::default()).unwrap();
    assert_eq!(fused.plan().fused.len(), 2, "rms_norm·w and silu·up: {:?}", fused.plan().fused);
    let y_fused = fused.run(&[("x", &xt)]).unwrap().get("y").unwrap().to_f32_vec().unwrap();

    let mut plain = Session::new(g, cpu(), Policy { fuse: false, ..Policy::default() }).unwrap();
    assert!(plain.plan().fused.is_empty());
    let y_plain = plain.run(&[("x", &xt)]).unwrap().get("y").unwrap().to_f32_vec().unwrap();

    let h = reference::rms_norm(&x, d, 1e-5, Some(&nw));
    let h: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    let gate = reference::matmul(&h, &gw, 3, d, hidden);
    let up = reference::matmul(&h, &uw, 3, d, hidden);
    let gate: Vec<f32> = gate.iter().map(|&v| v as f32).collect();
    let up: Vec<f32> = up.iter().map(|&v| v as f32).collect();
    let act: Vec<f32> = reference::swiglu(&gate, &up).iter().map(|&v| v as f32).collect();
    let want = reference::matmul(&act, &dw, 3, hidden, d);
    // Activations may be quantized to 8 bits inside the q8_0 matmuls (each element off by up to
    // amax/254), and the errors cascade through two matmuls: compare relative RMS error.
    assert!(relative_rms(&y_fused, &want) < 0.02, "fused: {}", relative_rms(&y_fused, &want));
    assert!(relative_rms(&y_plain, &want) < 0.02, "unfused: {}", relative_rms(&y_plain, &want));
    let plain64: Vec<f64> = y_plain.iter().map(|&v| v as f64).collect();
    assert!(relative_rms(&y_fused, &plain64) < 0.01, "fusion changed the result");
}

#[test]
fn buffers_are_reused_along_a_chain() {
    let mut g = Graph::new();
    let mut v = g.input("x", DType::F32, &[64, 64]).unwrap();
    for _ in 0..10 {
        v = g.silu(v).unwrap();
    }
    g.output(v).unwrap();
    let s = Session::new(g, cpu(), Policy::default()).unwrap();
    let per_value = 64 * 64 * 4;
    assert_eq!(s.plan().partitions.len(), 1);
    assert!(s.plan().partitions[0].scratch_bytes <= 2 * per_value, "{:?}", s.plan());
}

/// Decode three tokens with a KV cache kept in session states; the last step must match attention
/// over all three tokens' keys and values computed at once.
#[test]
fn kv_cache_persists_across_runs() {
    let mut rng = StdRng::seed_from_u64(11);
    let (heads, kv_heads, cap, d) = (4, 2, 8, 16);
    let mut g = Graph::new();
    let kc = g.state("k_cache", DType::F16, &[1, kv_heads, cap, d]).unwrap();
    let vc = g.state("v_cache", DType::F16, &[1, kv_heads, cap, d]).unwrap();
    let q = g.input("q", DType::F32, &[1, heads, 1, d]).unwrap();
    let k = g.input("k", DType::F32, &[1, kv_heads, 1, d]).unwrap();
    let v = g.input("v", DType::F32, &[1, kv_heads, 1, d]).unwrap();
    let kc = g.kv_write(kc, k, Position::Run).unwrap();
    let vc = g.kv_write(vc, v, Position::Run).unwrap();
    let attn = AttentionOp { past: Some(Position::Run), ..AttentionOp::default() };
    let o = g.attention(q, kc, vc, None, attn).unwrap();
    let o = g.name(o, "o").unwrap();
    g.output(o).unwrap();
    let mut s = Session::new(g, cpu(), Policy::default()).unwrap();

    let mut ks = vec![vec![]; kv_heads];
    let mut vs = vec![vec![]; kv_heads];
    let mut last = (vec![], vec![]);
    for pos in 0..3 {
        let (qv, kv, vv) =
            (random(&mut rng, heads * d), random(&mut rng, kv_heads * d), random(&mut rng, kv_heads * d));
        for h in 0..kv_heads {
            let round = |x: &[f32]| x.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect::<Vec<_>>();
            ks[h].extend(round(&kv[h * d..(h + 1) * d]));
            vs[h].extend(round(&vv[h * d..(h + 1) * d]));
        }
        let opts = RunOptions { position: pos, poison_outputs: true, ..Default::default() };
        let t = |n: usize, v: &[f32]| Tensor::from_f32([1, n, 1, d], v).unwrap();
        let out =
            s.run_with(&[("q", &t(heads, &qv)), ("k", &t(kv_heads, &kv)), ("v", &t(kv_heads, &vv))], &opts).unwrap();
        last = (qv, out.get("o").unwrap().to_f32_vec().unwrap());
    }
    let shape = AttentionShape {
        batch: 1,
        n_head: heads,
        n_kv_head: kv_heads,
        seq_q: 1,
        kv_len: 3,
        kv_capacity: 3,
        head_dim: d,
    };
    let params = AttentionParams { scale: 1.0 / (d as f32).sqrt(), causal: true, softcap: None };
    let want = reference::attention(&last.0, &ks.concat(), &vs.concat(), None, &shape, &params);
    assert_close(&last.1, &want, 1e-5);

    let cache = s.state("k_cache").unwrap().to_f32_vec().unwrap();
    assert_eq!(&cache[..3 * d], &ks[0][..], "rows 0..3 of head 0 hold the three keys");
    assert!(cache[3 * d..cap * d].iter().all(|&v| v == 0.0), "rows past the position stay untouched");
}

#[test]
fn bad_run_inputs_are_typed_errors() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 4]).unwrap();
    let y = g.softmax(x).unwrap();
    g.output(y).unwrap();
    let mut s = Session::new(g, cpu(), Policy::default()).unwrap();
    let wrong = Tensor::from_f32([4, 2], &[1.0; 8]).unwrap();
    let err = s.run(&[("x", &wrong)]).unwrap_err().to_string();
    assert!(err.contains("[2, 4]") && err.contains("[4, 2]"), "{err}");
    assert!(matches!(s.run(&[]), Err(Error::Input(_))));
    assert!(matches!(s.run(&[("nope", &wrong)]), Err(Error::Unknown { .. })));
}

#[test]
fn out_of_range_ids_and_positions_are_errors_not_panics() {
    let mut g = Graph::new();
    let table = g.weight("emb", Tensor::from_f32_as(DType::Q4_0, [4, 32], &[0.25; 128]).unwrap());
    let ids = g.input("ids", DType::I32, &[2]).unwrap();
    let rows = g.get_rows(table, ids).unwrap();
    g.output(rows).unwrap();
    let mut s = Session::new(g, cpu(), Policy::default()).unwrap();
    let bad = Tensor::from_i32([2], &[1, 4]).unwrap();
    assert!(matches!(s.run(&[("ids", &bad)]), Err(Error::Input(_))));

    let mut g = Graph::new();
    let cache = g.state("c", DType::F32, &[1, 1, 2, 4]).unwrap();
    let new = g.input("n", DType::F32, &[1, 1, 1, 4]).unwrap();
    let c = g.kv_write(cache, new, Position::Run).unwrap();
    g.output(c).unwrap();
    let mut s = Session::new(g, cpu(), Policy::default()).unwrap();
    let n = Tensor::from_f32([1, 1, 1, 4], &[1.0; 4]).unwrap();
    let opts = RunOptions { position: 2, ..Default::default() };
    assert!(matches!(s.run_with(&[("n", &n)], &opts), Err(Error::Input(_))));
    let opts = RunOptions { position: 1, ..Default::default() };
    let out = s.run_with(&[("n", &n)], &opts).unwrap();
    assert_eq!(out.at(0).unwrap().to_f32_vec().unwrap(), vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn profiles_export_a_chrome_trace() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 64]).unwrap();
    let w = g.weight("w", Tensor::from_f32([32, 64], &[0.1; 32 * 64]).unwrap());
    let y = g.matmul(x, w).unwrap();
    let y = g.softmax(y).unwrap();
    g.output(y).unwrap();
    let mut s = Session::new(g, cpu(), Policy::default()).unwrap();
    let x = Tensor::from_f32([4, 64], &[0.5; 256]).unwrap();
    s.run_with(&[("x", &x)], &RunOptions { profile: true, ..Default::default() }).unwrap();
    let p = s.last_profile().unwrap();
    assert_eq!(p.records.len(), 2);
    let trace = p.to_chrome_trace();
    let events = trace["traceEvents"].as_array().unwrap();
    assert_eq!(events[0]["ph"], "X");
    assert_eq!(events[0]["args"]["flops"], 2 * 4 * 64 * 32);
    assert!(p.summary_table().contains("matmul@cpu"));
}
