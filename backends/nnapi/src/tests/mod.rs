//! Tests: golden lowerings, the FFI call sequence against the recording fake, and whole graphs
//! run through the fake and compared with the CPU backend; faults (a dead service, out of memory)
//! and threads through the fake.

mod concurrency;
mod faults;
mod ffi_calls;
mod golden;
mod through_fake;

use edgehal::{Graph, NodeId, Partition, ValueSource};

/// The partition of every node of `graph`: run inputs in, graph outputs out.
pub(crate) fn whole_graph(graph: &Graph) -> Partition {
    Partition {
        nodes: (0..graph.nodes().len()).map(NodeId).collect(),
        inputs: graph.inputs(),
        outputs: graph.outputs().to_vec(),
        states: graph
            .states()
            .into_iter()
            .filter(|&s| graph.nodes().iter().any(|n| n.inputs.contains(&s)))
            .filter(|&s| matches!(graph.value(s).source, ValueSource::State(_)))
            .collect(),
    }
}
