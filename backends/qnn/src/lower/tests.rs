//! Golden descriptions: the QNN graphs the lowering must produce for small partitions.

use super::*;
use edgehal::{AttentionOp, Tensor};

/// Everything in the graph in one partition, inputs and outputs by the graph's own lists.
fn whole(g: &Graph) -> Partition {
    Partition {
        nodes: (0..g.nodes().len()).map(NodeId).collect(),
        inputs: g.inputs(),
        outputs: g.outputs().to_vec(),
        states: g.states(),
    }
}

/// `type(inputs) -> outputs` of every op, with tensors by name.
fn ops(l: &Lowered) -> Vec<String> {
    let name = |i: &TensorIndex| l.desc.tensors[*i].name.clone();
    l.desc
        .ops
        .iter()
        .map(|o| {
            let ins: Vec<String> = o.inputs.iter().map(name).collect();
            let outs: Vec<String> = o.outputs.iter().map(name).collect();
            format!("{}({}) -> {}", o.type_name, ins.join(", "), outs.join(", "))
        })
        .collect()
}

#[test]
fn matmul_with_a_q4_0_weight_is_a_fully_connected_on_dequantized_f32() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 3, 64]).unwrap();
    let values: Vec<f32> = (0..8 * 64).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
    let wt = Tensor::from_f32_as(DType::Q4_0, [8, 64], &values).unwrap();
    let decoded = wt.to_f32_vec().unwrap();
    let w = g.weight("w", wt);
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    // HTP: the op as it is.
    let htp = lower_partition(&g, &whole(&g), QnnBackendKind::Htp, "mm").unwrap();
    assert_eq!(ops(&htp), ["Reshape(v0) -> n0_t1", "FullyConnected(n0_t1, w1_F32) -> n0_t3", "Reshape(n0_t3) -> v2"]);
    // CPU: its saturated results (±f32::MAX) turned back into NaN.
    let l = lower_partition(&g, &whole(&g), QnnBackendKind::Cpu, "mm").unwrap();
    assert_eq!(
        ops(&l),
        [
            "Reshape(v0) -> n0_t1",
            "FullyConnected(n0_t1, w1_F32) -> n0_t4",
            "ElementWiseAbs(n0_t4) -> n0_t8",
            "ElementWiseGreaterEqual(n0_t8, n0_c6) -> n0_t10",
            "ElementWiseSelect(n0_t10, n0_c7, n0_t4) -> n0_t3",
            "Reshape(n0_t3) -> v2",
        ]
    );
    let constant = |name: &str| {
        let t = l.desc.tensors.iter().find(|t| t.name == name).unwrap();
        f32::from_le_bytes(t.data.as_deref().unwrap()[..4].try_into().unwrap())
    };
    assert_eq!(constant("n0_c6"), f32::MAX);
    assert!(constant("n0_c7").is_nan());
    let w = l.desc.tensors.iter().find(|t| t.name == "w1_F32").unwrap();
    assert_eq!((w.role, w.dtype, w.dims.clone()), (TensorRole::Static, QnnDType::F32, vec![8, 64]));
    let got: Vec<f32> =
        w.data.as_ref().unwrap().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(got, decoded);
    assert_eq!(l.desc.tensors[l.desc.inputs[0]].dims, [2, 3, 64]);
    assert_eq!(l.desc.tensors[l.desc.outputs[0]].dims, [2, 3, 8]);
    assert_eq!(l.inputs, [InputSource::Input(0)]);
    assert_eq!(l.desc.ops[1].params, [("keep_dims".to_string(), ParamValue::Scalar(Scalar::Bool(false)))]);
}

#[test]
fn norm_softmax_and_silu_lower_to_their_qnn_ops_with_softmax_written_out() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 16]).unwrap();
    let n = g.rms_norm(x, None, 1e-5).unwrap();
    let s = g.softmax(n).unwrap();
    let y = g.silu(s).unwrap();
    g.output(y).unwrap();
    let l = lower_partition(&g, &whole(&g), QnnBackendKind::Cpu, "g").unwrap();
    assert_eq!(
        ops(&l),
        [
            "RmsNorm(v0, n0_c1, n0_c2) -> v1",
            "ReduceMax(v1) -> n1_t2",
            "ElementWiseMaximum(n1_t2, n1_c4) -> n1_t5", // an all -inf row: max -f32::MAX, e = 0
            "ElementWiseSubtract(v1, n1_t5) -> n1_t7",
            "ElementWiseExp(n1_t7) -> n1_t9",
            "ReduceSum(n1_t9) -> n1_t12",
            "ElementWiseAdd(n1_t12, n1_c14) -> n1_t15", // + tiny: 0 / tiny, not 0 / 0
            "ElementWiseDivide(n1_t9, n1_t15) -> v2",
            "Sigmoid(v2) -> n2_t1",
            "ElementWiseMultiply(v2, n2_t1) -> v3",
        ]
    );
    let rms = &l.desc.ops[0];
    assert_eq!(rms.params[0], ("epsilon".to_string(), ParamValue::Scalar(Scalar::F32(1e-5))));
    let ParamValue::Tensor(axes) = rms.params[1].1 else { panic!("axes is a tensor") };
    assert_eq!(l.desc.tensors[axes].data.as_deref().map(|d| d.as_slice()), Some(&1u32.to_le_bytes()[..]));
    let ParamValue::Tensor(axes) = l.desc.ops[1].params[0].1 else { panic!("ReduceMax axes is a tensor") };
    assert_eq!(l.desc.tensors[axes].data.as_deref().map(|d| d.as_slice()), Some(&1u32.to_le_bytes()[..]));
}

#[test]
fn permute_carries_its_perm_as_a_static_u32_tensor() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 3, 4]).unwrap();
    let y = g.permute(x, &[2, 0, 1]).unwrap();
    g.output(y).unwrap();
    let l = lower_partition(&g, &whole(&g), QnnBackendKind::Cpu, "p").unwrap();
    assert_eq!(ops(&l), ["Transpose(v0) -> v1"]);
    let ParamValue::Tensor(p) = l.desc.ops[0].params[0].1 else { panic!("perm is a tensor") };
    let perm: Vec<u8> = [2u32, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(l.desc.tensors[p].data.as_deref(), Some(&perm));
}

#[test]
fn gqa_decode_attention_reads_the_cache_without_copies_and_takes_a_position_mask() {
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, 8, 1, 16]).unwrap();
    let k = g.state("k", DType::F16, &[1, 2, 32, 16]).unwrap();
    let v = g.state("v", DType::F16, &[1, 2, 32, 16]).unwrap();
    let op = AttentionOp { past: Some(Position::Run), ..AttentionOp::default() };
    let o = g.attention(q, k, v, None, op).unwrap();
    g.output(o).unwrap();
    let l = lower_partition(&g, &whole(&g), QnnBackendKind::Cpu, "attn").unwrap();
    let names = ops(&l);
    let kinds: Vec<&str> = names.iter().map(|s| s.split('(').next().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ElementWiseMultiply", // q · scale
            "Reshape",             // q → [2, 4, 16]
            "Cast",                // k f16 → f32
            "Reshape",
            "Cast",
            "Reshape",
            "MatMul", // scores, then their saturation (CPU) undone
            "ElementWiseAbs",
            "ElementWiseGreaterEqual",
            "ElementWiseSelect",
            "Reshape",           // scores → [2, 4, 1, 32]
            "ElementWiseSelect", // masked scores replaced by -inf
            "ElementWiseSelect", // V rows past the cache length zeroed
            "ReduceMax",         // e = exp(scores - max), sum
            "ElementWiseMaximum",
            "ElementWiseSubtract",
            "ElementWiseExp",
            "ReduceSum",
            "ElementWiseAdd",
            "Reshape",
            "Reshape",
            "ElementWiseAbs", // V split into finite values and non-finite marks
            "ElementWiseLessEqual",
            "ElementWiseSelect",
            "ElementWiseSelect",
            "MatMul", // e · V
            "MatMul", // e · marks
            "ElementWiseDivide",
            "ElementWiseGreater", // rows that saw a non-finite value are NaN
            "ElementWiseSelect",
            "Reshape",
        ]
    );
    let dims_of = |name: &str| l.desc.tensors.iter().find(|t| t.name == name).unwrap().dims.clone();
    let mm = &l.desc.ops[6];
    assert_eq!(dims_of(&l.desc.tensors[mm.outputs[0]].name), [2, 4, 32]);
    assert_eq!(mm.params[1], ("transpose_in1".to_string(), ParamValue::Scalar(Scalar::Bool(true))));
    // Inputs: q, then the two cache states, then the masks the executable computes per run.
    assert_eq!(l.inputs[..3], [InputSource::Input(0), InputSource::State(0), InputSource::State(1)]);
    assert!(matches!(l.inputs[3], InputSource::PositionMask { rows: 1, capacity: 32, causal: true, .. }));
    assert!(matches!(l.inputs[4], InputSource::ValidRows { rows: 1, capacity: 32, .. }));
    assert_eq!(l.desc.tensors[l.desc.inputs[3]].dims, [1, 1, 1, 32]);
    assert_eq!(l.desc.tensors[l.desc.inputs[3]].dtype, QnnDType::Bool8);
    assert_eq!(l.desc.tensors[l.desc.inputs[4]].dims, [1, 32, 1]);
    // HTP cannot hide keys (no ElementWiseSelect on its f32 path): declined, with the reason.
    let err = lower_partition(&g, &whole(&g), QnnBackendKind::Htp, "attn").unwrap_err();
    assert!(err.to_string().contains("ElementWiseSelect"), "{err}");
}

#[test]
fn kv_write_and_rope_are_declined_with_a_reason() {
    let mut g = Graph::new();
    let c = g.state("c", DType::F32, &[1, 1, 8, 4]).unwrap();
    let x = g.input("x", DType::F32, &[1, 1, 1, 4]).unwrap();
    let y = g.kv_write(c, x, Position::Run).unwrap();
    let err =
        lower_node_alone(&g, g.nodes().len().checked_sub(1).map(NodeId).unwrap(), QnnBackendKind::Cpu).unwrap_err();
    assert!(err.to_string().contains("in place"), "{err}");
    let _ = y;
}

#[test]
fn validation_graphs_carry_no_weight_bytes() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, 64]).unwrap();
    let w = g.weight("w", Tensor::from_f32_as(DType::Q8_0, [4, 64], &[0.5; 256]).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    let l = lower_node_alone(&g, NodeId(0), QnnBackendKind::Cpu).unwrap();
    let w = l.desc.tensors.iter().find(|t| t.role == TensorRole::Static).unwrap();
    assert!(w.data.is_none());
    assert_eq!(ops(&l)[0], "FullyConnected(v0, w1_F32) -> n0_t1");
}
