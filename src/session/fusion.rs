//! Fusion: graph rewrites that replace a pair of nodes by one node that a kernel does in one pass.
//!
//! - `matmul(x, dequantize(w → f32))` → `matmul(x, w)`: the matmul kernels decode blocks on the fly;
//! - `mul(rms_norm(x), weight[d])` → `rms_norm(x, weight)`;
//! - `mul(silu(gate), up)` → `swiglu(gate, up)`.
//!
//! A producer is folded only when its output has no other reader and is not a graph output.
//! The folded producer is marked dead; its output value stays in the graph but is never computed.

use crate::graph::{Graph, NodeId, ValueId, ValueSource};
use crate::ops::Op;
use edgehal_kernels::DType;

/// Applies every fusion; returns which nodes are still live and a line per fusion done.
pub(crate) fn fuse(graph: &mut Graph) -> (Vec<bool>, Vec<String>) {
    let mut live = vec![true; graph.nodes().len()];
    let mut done = Vec::new();
    for n in 0..graph.nodes().len() {
        let node = graph.node(NodeId(n)).clone();
        let rewrite = match node.op {
            Op::MatMul => fold_dequantize(graph, &node.inputs, &live),
            Op::Mul => fold_into_mul(graph, &node.inputs, &node.output, &live),
            _ => None,
        };
        if let Some((producer, op, inputs)) = rewrite {
            live[producer.0] = false;
            done.push(format!("{} + {} -> {}", graph.node(producer).name, node.name, op.name()));
            let target = graph.node_mut(NodeId(n));
            target.op = op;
            target.inputs = inputs;
        }
    }
    (live, done)
}

/// The node producing `v` if it is live and `v` has exactly one reader and is not an output.
fn single_use_producer(graph: &Graph, v: ValueId, live: &[bool]) -> Option<NodeId> {
    let ValueSource::Node(p) = graph.value(v).source else { return None };
    let readers = graph.nodes().iter().enumerate().filter(|(i, n)| live[*i] && n.inputs.contains(&v)).count();
    (live[p.0] && readers == 1 && !graph.outputs().contains(&v)).then_some(p)
}

fn fold_dequantize(graph: &Graph, inputs: &[ValueId], live: &[bool]) -> Option<(NodeId, Op, Vec<ValueId>)> {
    let p = single_use_producer(graph, inputs[1], live)?;
    let prod = graph.node(p);
    match prod.op {
        Op::Dequantize { to: DType::F32 } => Some((p, Op::MatMul, vec![inputs[0], prod.inputs[0]])),
        _ => None,
    }
}

fn fold_into_mul(
    graph: &Graph,
    inputs: &[ValueId],
    output: &ValueId,
    live: &[bool],
) -> Option<(NodeId, Op, Vec<ValueId>)> {
    let out_shape = &graph.value(*output).desc.shape;
    for (a, b) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
        let Some(p) = single_use_producer(graph, a, live) else { continue };
        let prod = graph.node(p);
        let (a_desc, b_desc) = (&graph.value(a).desc, &graph.value(b).desc);
        match prod.op {
            Op::RmsNorm { eps }
                if prod.inputs.len() == 1 && b_desc.shape == [a_desc.last_dim()] && a_desc.shape == *out_shape =>
            {
                return Some((p, Op::RmsNorm { eps }, vec![prod.inputs[0], b]));
            }
            Op::Silu if b_desc.shape == a_desc.shape => return Some((p, Op::SwiGlu, vec![prod.inputs[0], b])),
            _ => {}
        }
    }
    None
}
