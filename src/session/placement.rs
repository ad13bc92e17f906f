//! Placement (which backend runs each node) and partitioning (maximal runs of consecutive nodes on
//! one backend, with the values that cross their boundaries).

use crate::backend::{Backend, Partition, Support};
use crate::error::{Error, Result};
use crate::graph::{Graph, NodeId, ValueId, ValueSource};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Each live node's backend index: the first backend in preference order that supports it, else
/// `fallback` (the CPU) when given, else an `Unsupported` error naming every backend's reason.
pub(crate) fn place(
    graph: &Graph,
    live: &[bool],
    backends: &[Arc<dyn Backend>],
    fallback: Option<usize>,
) -> Result<Vec<Option<usize>>> {
    let mut placement = vec![None; graph.nodes().len()];
    for (n, node) in graph.nodes().iter().enumerate() {
        if !live[n] {
            continue;
        }
        let mut reasons = Vec::new();
        for (b, backend) in backends.iter().enumerate() {
            match backend.supports(graph, NodeId(n)) {
                Support::Yes => {
                    placement[n] = Some(b);
                    break;
                }
                Support::No(why) => reasons.push(format!("{}: {why}", backend.name())),
            }
        }
        if placement[n].is_none() {
            placement[n] = Some(fallback.ok_or_else(|| Error::Unsupported {
                backend: backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
                op: format!("{} (node {})", node.op.name(), node.name),
                why: reasons.join("; "),
            })?);
        }
    }
    gather_state_users(graph, &mut placement, backends, fallback)?;
    Ok(placement)
}

/// A state is updated in place, so every node touching it must run where it lives. When its users
/// were placed on several backends, they all move to the first backend (in preference order) that
/// supports every one of them, else to the fallback; with neither, a typed error.
pub(crate) fn gather_state_users(
    graph: &Graph,
    placement: &mut [Option<usize>],
    backends: &[Arc<dyn Backend>],
    fallback: Option<usize>,
) -> Result<()> {
    for state in graph.states() {
        let user_nodes: Vec<usize> = graph
            .nodes()
            .iter()
            .enumerate()
            .filter(|&(n, node)| {
                placement[n].is_some() && node.inputs.iter().any(|&v| graph.state_of(v) == Some(state))
            })
            .map(|(n, _)| n)
            .collect();
        let users: BTreeSet<usize> = user_nodes.iter().filter_map(|&n| placement[n]).collect();
        if users.len() <= 1 {
            continue;
        }
        let home = (0..backends.len())
            .find(|&b| user_nodes.iter().all(|&n| matches!(backends[b].supports(graph, NodeId(n)), Support::Yes)))
            .or(fallback);
        if let Some(home) = home {
            for &n in &user_nodes {
                placement[n] = Some(home);
            }
        } else {
            let names: Vec<_> = users.iter().map(|&b| backends[b].name()).collect();
            return Err(Error::Graph(format!(
                "state `{}` is used by nodes placed on {}: a state must live on one backend (put those nodes' backend first)",
                graph.value(state).name,
                names.join(" and ")
            )));
        }
    }
    Ok(())
}

/// Splits the placed nodes into partitions of consecutive nodes on one backend.
pub(crate) fn partition(graph: &Graph, placement: &[Option<usize>]) -> Vec<(usize, Partition)> {
    let mut parts: Vec<(usize, Partition)> = Vec::new();
    for (n, p) in placement.iter().enumerate() {
        let Some(b) = *p else { continue };
        match parts.last_mut() {
            Some((last, part)) if *last == b => part.nodes.push(NodeId(n)),
            _ => parts.push((b, Partition { nodes: vec![NodeId(n)], ..Default::default() })),
        }
    }
    let producer_part = |v: ValueId, parts: &[(usize, Partition)]| match graph.value(v).source {
        ValueSource::Node(p) => parts.iter().position(|(_, part)| part.nodes.contains(&p)),
        _ => None,
    };
    let bounds: Vec<(Vec<ValueId>, Vec<ValueId>, Vec<ValueId>)> = (0..parts.len())
        .map(|i| {
            let part = &parts[i].1;
            let mut inputs = BTreeSet::new();
            let mut states = BTreeSet::new();
            for &n in &part.nodes {
                for &v in &graph.node(n).inputs {
                    if let Some(s) = graph.state_of(v) {
                        states.insert(s);
                    } else if !matches!(graph.value(v).source, ValueSource::Weight(_))
                        && (matches!(graph.value(v).source, ValueSource::Input) || producer_part(v, &parts) != Some(i))
                    {
                        inputs.insert(v);
                    }
                }
            }
            let mut outputs = BTreeSet::new();
            for &n in &part.nodes {
                let out = graph.node(n).output;
                if graph.state_of(out).is_some() {
                    continue;
                }
                let read_later = parts
                    .iter()
                    .enumerate()
                    .any(|(j, (_, other))| j != i && other.nodes.iter().any(|&m| graph.node(m).inputs.contains(&out)));
                if read_later || graph.outputs().contains(&out) {
                    outputs.insert(out);
                }
            }
            (inputs.into_iter().collect(), outputs.into_iter().collect(), states.into_iter().collect())
        })
        .collect();
    for ((_, part), (inputs, outputs, states)) in parts.iter_mut().zip(bounds) {
        part.inputs = inputs;
        part.outputs = outputs;
        part.states = states;
    }
    parts
}
