//! Whole graphs through the Session API on the fake (whose interpreter computes the model the FFI
//! built), compared with the CPU backend.

use crate::ffi::feature_level::FL6;
use crate::{NnapiBackend, NnapiOptions, fake};
use edgehal::{AttentionOp, CpuBackend, DType, Graph, Policy, Position, Session, Tensor};
use std::sync::Arc;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

/// Runs `graph` on the fake NNAPI backend (every node must be placed there) and on the CPU, and
/// checks the outputs agree to `tol`; returns the FFI calls the NNAPI run made.
fn compare(graph: Graph, inputs: &[(&str, Tensor)], tol: f32) -> Vec<String> {
    fake::reset(FL6);
    let nnapi = Arc::new(NnapiBackend::from_symbols(fake::symbols(), NnapiOptions::default()).unwrap());
    let named: Vec<(&str, &Tensor)> = inputs.iter().map(|(n, t)| (*n, t)).collect();
    let mut on_nnapi = Session::new(graph.clone(), vec![nnapi], Policy::strict()).unwrap();
    let got = on_nnapi.run(&named).unwrap();
    let calls = fake::take_calls();
    assert!(calls.iter().any(|c| c == "compute"), "the fake computed the output");
    let mut on_cpu =
        Session::new(graph, vec![Arc::new(CpuBackend::with_threads(1).unwrap())], Policy::strict()).unwrap();
    let want = on_cpu.run(&named).unwrap();
    let (got, want) = (got.at(0).unwrap().to_f32_vec().unwrap(), want.at(0).unwrap().to_f32_vec().unwrap());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: nnapi {g}, cpu {w}");
    }
    calls
}

#[test]
fn matmul_silu_add_matches_the_cpu() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 3, 32]).unwrap();
    let w = g.weight("w", Tensor::from_f32([16, 32], &values(512, 1)).unwrap());
    let w16 = g.weight(
        "w16",
        Tensor::from_f16([16, 16], &values(256, 2).iter().map(|&v| half::f16::from_f32(v)).collect::<Vec<_>>())
            .unwrap(),
    );
    let y = g.matmul(x, w).unwrap();
    let y = g.silu(y).unwrap();
    let z = g.matmul(y, w16).unwrap();
    let z = g.add(z, y).unwrap();
    g.output(z).unwrap();
    compare(g, &[("x", Tensor::from_f32([2, 3, 32], &values(192, 3)).unwrap())], 1e-5);
}

/// Quant weights are decoded exactly (dequantized or per-channel), so the model must match an f32
/// matmul on the decoded weights (the CPU's quant matmul rounds activations to 8 bits).
#[test]
fn quantized_weights_match_an_f32_matmul_on_the_decoded_weights() {
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::IQ4_NL] {
        let w = Tensor::from_f32_as(dtype, [8, 256], &values(2048, 4)).unwrap();
        let decoded = Tensor::from_f32([8, 256], &w.to_f32_vec().unwrap()).unwrap();
        let x = Tensor::from_f32([3, 256], &values(768, 5)).unwrap();
        fake::reset(FL6);
        let nnapi = Arc::new(NnapiBackend::from_symbols(fake::symbols(), NnapiOptions::default()).unwrap());
        let run = |w: Tensor, backend: Arc<dyn edgehal::Backend>| {
            let mut g = Graph::new();
            let xv = g.input("x", DType::F32, &[3, 256]).unwrap();
            let wv = g.weight("w", w);
            let y = g.matmul(xv, wv).unwrap();
            g.output(y).unwrap();
            let mut s = Session::new(g, vec![backend], Policy::strict()).unwrap();
            s.run(&[("x", &x)]).unwrap().at(0).unwrap().to_f32_vec().unwrap()
        };
        let got = run(w, nnapi);
        let want = run(decoded, Arc::new(CpuBackend::with_threads(1).unwrap()));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{dtype}: nnapi {g}, cpu {w}");
        }
    }
}

/// A Q8_0 weight whose rows share one scale goes through the per-channel DEQUANTIZE path.
#[test]
fn per_channel_q8_0_weights_match_the_cpu() {
    let mut bytes = Vec::new();
    for r in 0..4u8 {
        for block in 0..2u8 {
            bytes.extend(half::f16::from_f32(0.01 * f32::from(r + 1)).to_le_bytes());
            bytes.extend((0..32u8).map(|i| i.wrapping_mul(37).wrapping_add(block * 11 + r)));
        }
    }
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 64]).unwrap();
    let w = g.weight("w", Tensor::from_bytes(DType::Q8_0, [4, 64], &bytes).unwrap());
    let wf = g.dequantize(w, DType::F32).unwrap();
    let y = g.matmul(x, wf).unwrap();
    g.output(y).unwrap();
    let calls = compare(g, &[("x", Tensor::from_f32([2, 64], &values(128, 12)).unwrap())], 1e-5);
    assert!(calls.iter().any(|c| c.starts_with("setOperandSymmPerChannelQuantParams(0, dim=0, scales=[0.01")));
    assert!(calls.iter().any(|c| c == "addOperation(6, in=[0], out=[1])"), "{calls:?}");
}

#[test]
fn rms_norm_swiglu_softmax_permute_match_the_cpu() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 4, 8]).unwrap();
    let gain = g.weight("gain", Tensor::from_f32([8], &values(8, 6)).unwrap());
    let n = g.rms_norm(x, Some(gain), 1e-5).unwrap();
    let s = g.swiglu(n, x).unwrap();
    let p = g.permute(s, &[1, 0, 2]).unwrap();
    let r = g.reshape(p, &[4, 16]).unwrap();
    let y = g.softmax(r).unwrap();
    g.output(y).unwrap();
    compare(g, &[("x", Tensor::from_f32([2, 4, 8], &values(64, 7)).unwrap())], 1e-5);
}

#[test]
fn gqa_attention_with_causal_and_additive_masks_matches_the_cpu() {
    let (b, hq, hkv, s, cap, d) = (1, 4, 2, 3, 5, 8);
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[b, hq, s, d]).unwrap();
    let k = g.input("k", DType::F32, &[b, hkv, cap, d]).unwrap();
    let v = g.input("v", DType::F32, &[b, hkv, cap, d]).unwrap();
    let mask = g.input("mask", DType::F32, &[s, 4]).unwrap();
    let params = AttentionOp { past: Some(Position::Fixed(1)), softcap: Some(2.0), ..AttentionOp::default() };
    let y = g.attention(q, k, v, Some(mask), params).unwrap();
    g.output(y).unwrap();
    let mut m = values(s * 4, 8);
    m[1] = f32::NEG_INFINITY;
    let calls = compare(
        g,
        &[
            ("q", Tensor::from_f32([b, hq, s, d], &values(b * hq * s * d, 9)).unwrap()),
            ("k", Tensor::from_f32([b, hkv, cap, d], &values(b * hkv * cap * d, 10)).unwrap()),
            ("v", Tensor::from_f32([b, hkv, cap, d], &values(b * hkv * cap * d, 11)).unwrap()),
            ("mask", Tensor::from_f32([s, 4], &m).unwrap()),
        ],
        1e-5,
    );
    // SLICE (kv_len 4 of 5 rows), TILE (mask over 2 grouped heads), TANH (softcap), BATCH_MATMUL.
    for code in [86, 89, 28, 102] {
        assert!(calls.iter().any(|c| c.starts_with(&format!("addOperation({code},"))), "{code}: {calls:?}");
    }
}

/// An f16 KV cache held as graph states: bound as model inputs after the run inputs, and `CAST`
/// to f32 inside the model.
#[test]
fn attention_over_an_f16_state_cache_matches_the_cpu() {
    let (hq, hkv, s, cap, d) = (2, 1, 2, 4, 8);
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, hq, s, d]).unwrap();
    let k = g.state("k", DType::F16, &[1, hkv, cap, d]).unwrap();
    let v = g.state("v", DType::F16, &[1, hkv, cap, d]).unwrap();
    let to_f16 = |seed| values(hkv * cap * d, seed).iter().map(|&x| half::f16::from_f32(x)).collect::<Vec<_>>();
    g.set_state_init(k, Tensor::from_f16([1, hkv, cap, d], &to_f16(13)).unwrap()).unwrap();
    g.set_state_init(v, Tensor::from_f16([1, hkv, cap, d], &to_f16(14)).unwrap()).unwrap();
    let y = g.attention(q, k, v, None, AttentionOp::default()).unwrap();
    g.output(y).unwrap();
    let calls = compare(g, &[("q", Tensor::from_f32([1, hq, s, d], &values(hq * s * d, 15)).unwrap())], 1e-5);
    assert!(calls.iter().any(|c| c.starts_with("addOperation(45,")), "CAST of the f16 cache: {calls:?}");
    assert!(calls.iter().any(|c| c == "setInput(2, 64 bytes)"), "v bound third: {calls:?}");
}
