//! Golden model descriptions: the exact operands and operations each lowering produces.

use super::whole_graph;
use crate::ffi::feature_level::{FL2, FL3, FL5, FL6};
use crate::lower::lower;
use crate::{OperandCode, WeightForm};
use edgehal::{AttentionOp, DType, Error, Graph, Tensor};
use half::f16;

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn value(l: &crate::Lowered, operand: usize) -> &[u8] {
    l.model.operands[operand].value.as_ref().expect("a constant").as_slice()
}

#[test]
fn matmul_with_f32_weights_is_one_fully_connected() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 4]).unwrap();
    let w_values: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
    let w = g.weight("w", Tensor::from_f32([3, 4], &w_values).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(
        l.model.describe(),
        [
            "%0 = TENSOR_FLOAT32 [2, 4]",
            "%1 = TENSOR_FLOAT32 [3, 4] const",
            "%2 = TENSOR_FLOAT32 [3] const",
            "%3 = INT32 [] const",
            "%4 = TENSOR_FLOAT32 [2, 3]",
            "FULLY_CONNECTED (%0, %1, %2, %3) -> (%4)",
            "inputs (%0)",
            "outputs (%4)",
        ]
    );
    assert_eq!(f32s(value(&l, 1)), w_values);
    assert_eq!(f32s(value(&l, 2)), [0.0; 3]);
    assert_eq!(value(&l, 3), 0i32.to_le_bytes());
    assert_eq!(l.weights[0].form, WeightForm::F32);
    assert_eq!(l.model.feature_level(), 27);
}

#[test]
fn batched_matmul_reshapes_around_fully_connected() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 3, 4]).unwrap();
    let w = g.weight("w", Tensor::from_f32([5, 4], &[0.0; 20]).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    let ops: Vec<String> = l.model.describe().into_iter().filter(|s| !s.starts_with('%')).collect();
    assert_eq!(
        ops,
        [
            "RESHAPE (%0, %2) -> (%3)",
            "FULLY_CONNECTED (%3, %1, %4, %5) -> (%6)",
            "RESHAPE (%6, %7) -> (%8)",
            "inputs (%0)",
            "outputs (%8)"
        ]
    );
    assert_eq!(l.model.operands[1].dims, [5, 4]);
    assert_eq!(l.model.operands[3].dims, [6, 4]);
    assert_eq!(l.model.operands[8].dims, [2, 3, 5]);
    assert_eq!(i32s(value(&l, 7)), [2, 3, 5]);
}

#[test]
fn softmax_is_softmax_with_beta_one() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 5]).unwrap();
    let y = g.softmax(x).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(
        l.model.describe(),
        [
            "%0 = TENSOR_FLOAT32 [2, 5]",
            "%1 = FLOAT32 [] const",
            "%2 = TENSOR_FLOAT32 [2, 5]",
            "SOFTMAX (%0, %1) -> (%2)",
            "inputs (%0)",
            "outputs (%2)",
        ]
    );
    assert_eq!(f32s(value(&l, 1)), [1.0]);
}

#[test]
fn permute_is_transpose_with_the_permutation_as_constant() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 3, 4]).unwrap();
    let y = g.permute(x, &[2, 0, 1]).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(
        l.model.describe(),
        [
            "%0 = TENSOR_FLOAT32 [2, 3, 4]",
            "%1 = TENSOR_INT32 [3] const",
            "%2 = TENSOR_FLOAT32 [4, 2, 3]",
            "TRANSPOSE (%0, %1) -> (%2)",
            "inputs (%0)",
            "outputs (%2)",
        ]
    );
    assert_eq!(i32s(value(&l, 1)), [2, 0, 1]);
    assert_eq!(l.model.feature_level(), FL2);
}

#[test]
fn causal_gqa_attention_is_batch_matmuls_around_a_masked_softmax() {
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, 4, 2, 8]).unwrap();
    let k = g.input("k", DType::F32, &[1, 2, 3, 8]).unwrap();
    let v = g.input("v", DType::F32, &[1, 2, 3, 8]).unwrap();
    let y = g.attention(q, k, v, None, AttentionOp::default()).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(
        l.model.describe(),
        [
            "%0 = TENSOR_FLOAT32 [1, 4, 2, 8]",
            "%1 = TENSOR_FLOAT32 [1, 2, 3, 8]",
            "%2 = TENSOR_FLOAT32 [1, 2, 3, 8]",
            "%3 = TENSOR_INT32 [4] const",
            "%4 = TENSOR_FLOAT32 [1, 2, 4, 8]",
            "%5 = BOOL [] const",
            "%6 = BOOL [] const",
            "%7 = TENSOR_FLOAT32 [1, 2, 4, 3]",
            "%8 = TENSOR_FLOAT32 [1] const",
            "%9 = INT32 [] const",
            "%10 = TENSOR_FLOAT32 [1, 2, 4, 3]",
            "%11 = TENSOR_FLOAT32 [4, 3] const",
            "%12 = INT32 [] const",
            "%13 = TENSOR_FLOAT32 [1, 2, 4, 3]",
            "%14 = FLOAT32 [] const",
            "%15 = TENSOR_FLOAT32 [1, 2, 4, 3]",
            "%16 = BOOL [] const",
            "%17 = BOOL [] const",
            "%18 = TENSOR_FLOAT32 [1, 2, 4, 8]",
            "%19 = TENSOR_INT32 [4] const",
            "%20 = TENSOR_FLOAT32 [1, 4, 2, 8]",
            "RESHAPE (%0, %3) -> (%4)",
            "BATCH_MATMUL (%4, %1, %5, %6) -> (%7)",
            "MUL (%7, %8, %9) -> (%10)",
            "ADD (%10, %11, %12) -> (%13)",
            "SOFTMAX (%13, %14) -> (%15)",
            "BATCH_MATMUL (%15, %2, %16, %17) -> (%18)",
            "RESHAPE (%18, %19) -> (%20)",
            "inputs (%0, %1, %2)",
            "outputs (%20)",
        ]
    );
    // adj_x = false, adj_y = true for q·kᵀ; neither for p·v.
    assert_eq!([value(&l, 5), value(&l, 6), value(&l, 16), value(&l, 17)], [[0], [1], [0], [0]]);
    assert_eq!(f32s(value(&l, 8)), [1.0 / 8f32.sqrt()]);
    let inf = f32::NEG_INFINITY;
    // Rows: head 0 of the group (query positions 1, 2), then head 1 (the same positions).
    assert_eq!(f32s(value(&l, 11)), [0.0, 0.0, inf, 0.0, 0.0, 0.0, 0.0, 0.0, inf, 0.0, 0.0, 0.0]);
    assert_eq!(l.model.feature_level(), FL6);
}

#[test]
fn attention_below_feature_level_6_is_unsupported() {
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, 1, 1, 4]).unwrap();
    let k = g.input("k", DType::F32, &[1, 1, 2, 4]).unwrap();
    let y = g.attention(q, k, k, None, AttentionOp::default()).unwrap();
    g.output(y).unwrap();
    let err = lower(&g, &whole_graph(&g), FL5).unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { backend, why, .. } if backend == "nnapi" && why.contains("BATCH_MATMUL")),
        "{err}"
    );
}

#[test]
fn rms_norm_needs_rsqrt_from_feature_level_3() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 8]).unwrap();
    let y = g.rms_norm(x, None, 1e-5).unwrap();
    g.output(y).unwrap();
    let ops: Vec<String> =
        lower(&g, &whole_graph(&g), FL3).unwrap().model.operations.iter().map(|o| o.code.name().into()).collect();
    assert_eq!(ops, ["MUL", "MEAN", "ADD", "RSQRT", "MUL"]);
    let err = lower(&g, &whole_graph(&g), FL2).unwrap_err().to_string();
    assert!(err.contains("RSQRT") && err.contains("29"), "{err}");
}

/// One Q4_0 block: f16 scale `d`, then 16 bytes; element `j` is the low nibble of byte `j`,
/// element `j + 16` the high nibble, each minus 8.
fn q4_0_block(d: f32, nibbles: impl Fn(usize) -> u8) -> (Vec<u8>, Vec<f32>) {
    let d = f16::from_f32(d);
    let mut bytes = d.to_le_bytes().to_vec();
    let mut values = vec![0.0; 32];
    for j in 0..16 {
        let (lo, hi) = (nibbles(j), nibbles(j + 16));
        bytes.push(lo | (hi << 4));
        values[j] = d.to_f32() * (f32::from(lo) - 8.0);
        values[j + 16] = d.to_f32() * (f32::from(hi) - 8.0);
    }
    (bytes, values)
}

#[test]
fn q4_0_weights_with_per_block_scales_become_dequantized_f32_constants() {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for (block, d) in [0.5f32, 0.25, 2.0, 0.125].into_iter().enumerate() {
        let (b, v) = q4_0_block(d, |j| ((j * 7 + block * 3) % 16) as u8);
        bytes.extend(b);
        expected.extend(v);
    }
    let w = Tensor::from_bytes(DType::Q4_0, [2, 64], &bytes).unwrap();
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, 64]).unwrap();
    let wv = g.weight("w", w);
    let y = g.matmul(x, wv).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(l.weights[0].form, WeightForm::DequantizedF32);
    assert_eq!(l.model.operands[1].code, OperandCode::TensorFloat32);
    assert_eq!(l.model.operands[1].dims, [2, 64]);
    assert_eq!(f32s(value(&l, 1)), expected);
}

#[test]
fn q8_0_weights_sharing_a_scale_per_row_map_to_per_channel_int8() {
    // Row r: both blocks have scale (r + 1) / 4 and quants q = (i % 255) - 127.
    let mut bytes = Vec::new();
    for r in 0..2 {
        for block in 0..2 {
            bytes.extend(f16::from_f32((r + 1) as f32 / 4.0).to_le_bytes());
            bytes.extend((0..32).map(|i| ((i + block * 32 + r * 5) % 255) as u8 ^ 0x80));
        }
    }
    let w = Tensor::from_bytes(DType::Q8_0, [2, 64], &bytes).unwrap();
    let want = w.to_f32_vec().unwrap();
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, 64]).unwrap();
    let wv = g.weight("w", w);
    let y = g.matmul(x, wv).unwrap();
    g.output(y).unwrap();
    let l = lower(&g, &whole_graph(&g), FL6).unwrap();
    assert_eq!(l.weights[0].form, WeightForm::PerChannelInt8);
    assert_eq!(
        l.model.describe()[1..3],
        ["%1 = TENSOR_QUANT8_SYMM_PER_CHANNEL [2, 64] const per-channel", "%2 = TENSOR_FLOAT32 [2, 64]"]
    );
    let ops: Vec<String> = l.model.describe().into_iter().filter(|s| !s.starts_with('%')).collect();
    assert_eq!(ops[..2], ["DEQUANTIZE (%1) -> (%2)", "FULLY_CONNECTED (%0, %2, %3, %4) -> (%5)"]);
    let q = l.model.operands[1].channel_quant.as_ref().unwrap();
    assert_eq!((q.channel_dim, q.scales.clone()), (0, vec![0.25, 0.5]));
    let got: Vec<f32> = value(&l, 1).iter().enumerate().map(|(i, &b)| b as i8 as f32 * q.scales[i / 64]).collect();
    assert_eq!(got, want);
    // Below feature level 3 the same weight is dequantized instead.
    assert_eq!(lower(&g, &whole_graph(&g), FL2).unwrap().weights[0].form, WeightForm::DequantizedF32);
}

#[test]
fn cache_tokens_follow_the_weights() {
    let token = |v: f32| {
        let mut g = Graph::new();
        let x = g.input("x", DType::F32, &[1, 4]).unwrap();
        let w = g.weight("w", Tensor::from_f32([2, 4], &[v; 8]).unwrap());
        let y = g.matmul(x, w).unwrap();
        g.output(y).unwrap();
        lower(&g, &whole_graph(&g), FL6).unwrap().model.cache_token("dev")
    };
    assert_eq!(token(1.0), token(1.0));
    assert_ne!(token(1.0), token(2.0));
}
