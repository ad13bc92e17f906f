//! A compiled partition: a finalized QNN graph, where each of its inputs comes from, and how its
//! profile events map back to edgehal nodes.

use crate::buffer::{qnn_buffer, qnn_buffer_mut};
use crate::lower::{InputSource, Lowered, position_mask, valid_rows};
use crate::runtime::{ExecProfile, ProfileUnit, QnnGraph};
use edgehal::{Bindings, Error, Executable, NodeId, NodeTiming, Partition, Result};
use std::collections::BTreeMap;
use std::time::Instant;

/// A partition compiled to one QNN graph.
pub(crate) struct QnnExecutable {
    pub backend: String,
    pub graph: QnnGraph,
    pub inputs: Vec<InputSource>,
    /// Per QNN graph output, its index in `Partition::outputs`.
    pub outputs: Vec<usize>,
    /// The partition's nodes, in order.
    pub nodes: Vec<NodeId>,
    pub constant_bytes: u64,
    pub scratch_bytes: u64,
    last_cycles: Vec<(NodeId, u64)>,
}

impl QnnExecutable {
    pub fn new(backend: &str, graph: QnnGraph, lowered: &Lowered, partition: &Partition) -> Result<Self> {
        let mut outputs = Vec::new();
        for &t in &lowered.desc.outputs {
            let name = &lowered.desc.tensors[t].name;
            let pos = partition.outputs.iter().position(|v| format!("v{}", v.0) == *name).ok_or_else(|| {
                Error::Backend { backend: backend.into(), why: format!("graph output `{name}` is no partition output") }
            })?;
            outputs.push(pos);
        }
        let bytes =
            |role| lowered.desc.tensors.iter().filter(|t| t.role == role).map(|t| t.bytes() as u64).sum::<u64>();
        Ok(QnnExecutable {
            backend: backend.into(),
            graph,
            inputs: lowered.inputs.clone(),
            outputs,
            nodes: partition.nodes.clone(),
            constant_bytes: bytes(crate::desc::TensorRole::Static),
            scratch_bytes: bytes(crate::desc::TensorRole::Native),
            last_cycles: Vec::new(),
        })
    }

    /// The bytes of this run's computed inputs (position and valid-row masks), in input order.
    fn run_masks(&self, position: usize) -> Result<Vec<Vec<u8>>> {
        let mut masks = Vec::new();
        for src in &self.inputs {
            let (past, rows, capacity) = match src {
                InputSource::PositionMask { past, rows, capacity, .. } => (past, rows, capacity),
                InputSource::ValidRows { past, rows, capacity } => (past, rows, capacity),
                _ => continue,
            };
            let kv_len = past.resolve(position) + rows;
            if kv_len > *capacity {
                return Err(Error::Input(format!(
                    "attention: position {} + {rows} new rows exceeds the KV cache capacity {capacity}",
                    past.resolve(position)
                )));
            }
            masks.push(match src {
                InputSource::PositionMask { causal, .. } => position_mask(*rows, *capacity, kv_len, *causal),
                _ => valid_rows(*capacity, kv_len),
            });
        }
        Ok(masks)
    }
}

/// The edgehal node index in a QNN node name `n<index>_op<k>`.
fn node_of(identifier: &str) -> Option<usize> {
    let rest = identifier.strip_prefix('n')?;
    let (idx, tail) = rest.split_once('_')?;
    tail.starts_with("op").then(|| idx.parse().ok()).flatten()
}

/// Per edgehal node: (cycles, microseconds) summed over its QNN nodes' events.
fn per_node(profile: &ExecProfile) -> BTreeMap<usize, (u64, u64)> {
    let mut out: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for e in profile.all_events() {
        let Some(n) = node_of(&e.identifier) else { continue };
        let slot = out.entry(n).or_default();
        match e.unit {
            ProfileUnit::Cycles => slot.0 += e.value,
            ProfileUnit::Microseconds => slot.1 += e.value,
            _ => {}
        }
    }
    out
}

impl Executable for QnnExecutable {
    fn run(&mut self, mut bindings: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        let masks = self.run_masks(position)?;
        let mut masks = masks.iter();
        let mut inputs: Vec<&[u8]> = Vec::with_capacity(self.inputs.len());
        for src in &self.inputs {
            let bytes: &[u8] = match src {
                InputSource::Input(i) => &qnn_buffer(&self.backend, bindings.inputs[*i])?.bytes,
                InputSource::State(i) => &qnn_buffer(&self.backend, &*bindings.states[*i])?.bytes,
                InputSource::PositionMask { .. } | InputSource::ValidRows { .. } => {
                    masks.next().map(|m| m.as_slice()).unwrap_or(&[])
                }
            };
            inputs.push(bytes);
        }
        let mut by_slot: Vec<Option<&mut Vec<u8>>> = Vec::new();
        for b in bindings.outputs.iter_mut() {
            by_slot.push(Some(&mut qnn_buffer_mut(&self.backend, &mut **b)?.bytes));
        }
        let mut outputs: Vec<&mut [u8]> = Vec::with_capacity(self.outputs.len());
        for &slot in &self.outputs {
            let buf = by_slot.get_mut(slot).and_then(|b| b.take()).ok_or_else(|| Error::Backend {
                backend: self.backend.clone(),
                why: format!("partition output {slot} bound twice or missing"),
            })?;
            outputs.push(buf.as_mut_slice());
        }
        let start = Instant::now();
        let events = self.graph.execute(&inputs, &mut outputs)?;
        let wall = start.elapsed().as_nanos() as u64;
        if !profile {
            return Ok(Vec::new());
        }
        let counts = events.as_ref().map(per_node).unwrap_or_default();
        self.last_cycles =
            self.nodes.iter().filter_map(|n| counts.get(&n.0).filter(|c| c.0 > 0).map(|c| (*n, c.0))).collect();
        Ok(timings(&self.nodes, &counts, wall))
    }

    fn scratch_bytes(&self) -> u64 {
        self.scratch_bytes
    }

    fn constant_bytes(&self) -> u64 {
        self.constant_bytes
    }

    fn last_cycles(&self) -> Vec<(NodeId, u64)> {
        self.last_cycles.clone()
    }
}

/// Per-node times of one run: the device's per-node microseconds where its profile has them for
/// every node; else the partition's wall time split by the per-node cycle counts; else split
/// evenly (a QNN graph runs as one call, so the host cannot time its nodes apart).
fn timings(nodes: &[NodeId], counts: &BTreeMap<usize, (u64, u64)>, wall_ns: u64) -> Vec<NodeTiming> {
    let us: Vec<u64> = nodes.iter().map(|n| counts.get(&n.0).map_or(0, |c| c.1)).collect();
    let cycles: Vec<u64> = nodes.iter().map(|n| counts.get(&n.0).map_or(0, |c| c.0)).collect();
    let durations: Vec<u64> = if us.iter().all(|&u| u > 0) {
        us.iter().map(|u| u * 1000).collect()
    } else if cycles.iter().sum::<u64>() > 0 {
        let total: u64 = cycles.iter().sum();
        cycles.iter().map(|&c| (wall_ns as u128 * c as u128 / total as u128) as u64).collect()
    } else {
        vec![wall_ns / nodes.len().max(1) as u64; nodes.len()]
    };
    let mut start = 0;
    nodes
        .iter()
        .zip(durations)
        .map(|(&node, d)| {
            let t = NodeTiming { node, start_ns: start, duration_ns: d };
            start += d;
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qnn_node_names_map_back_to_edgehal_nodes() {
        assert_eq!(node_of("n12_op3"), Some(12));
        assert_eq!(node_of("n12_t3"), None);
        assert_eq!(node_of("graph"), None);
    }

    #[test]
    fn wall_time_is_split_by_cycles_when_the_device_gives_no_times() {
        let nodes = [NodeId(0), NodeId(1)];
        let counts = BTreeMap::from([(0, (300, 0)), (1, (100, 0))]);
        let t = timings(&nodes, &counts, 4000);
        assert_eq!((t[0].duration_ns, t[1].start_ns, t[1].duration_ns), (3000, 3000, 1000));
    }
}
