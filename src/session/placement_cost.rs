//! Placement by estimated cost: each live node goes to the supporting backend that minimises
//! `joules + λ·seconds` of the node plus the transfers of its inputs from where they are made,
//! in graph order. λ = ∞ is the latency objective, λ = 0 the energy one; energy under a latency
//! bound searches λ (bisection in log space) for the least energy whose total time fits.

use super::cost::{Cost, CostModel, Objective};
use crate::backend::{Backend, DeviceInfo, Support};
use crate::error::{Error, Result};
use crate::graph::{Graph, NodeId, ValueSource};
use serde::Serialize;
use std::sync::Arc;

/// Why a node went where it did.
#[derive(Clone, Debug, Serialize)]
pub struct PlacementDecision {
    /// Node name.
    pub node: String,
    /// The backend chosen.
    pub backend: String,
    /// Every supporting backend's estimated cost (node plus input transfers).
    pub candidates: Vec<(String, Cost)>,
    /// The comparison in words.
    pub why: String,
}

/// A placement, its estimated total and the per-node reasons.
pub(crate) struct CostPlacement {
    pub placement: Vec<Option<usize>>,
    pub estimate: Cost,
    pub decisions: Vec<PlacementDecision>,
}

/// Places every live node by `objective` (not `Preference`) with the costs of `model`.
pub(crate) fn place(
    graph: &Graph,
    live: &[bool],
    backends: &[Arc<dyn Backend>],
    fallback: Option<usize>,
    model: &dyn CostModel,
    objective: Objective,
) -> Result<CostPlacement> {
    let devices: Vec<DeviceInfo> = backends.iter().map(|b| b.device()).collect();
    let candidates = candidates(graph, live, backends, fallback, model, &devices)?;
    let run = |lambda: f64| pass(graph, &candidates, model, &devices, lambda);
    let chosen = match objective {
        Objective::Preference => unreachable!("preference placement takes no costs"),
        Objective::Latency => run(f64::INFINITY),
        Objective::Energy => run(0.0),
        Objective::EnergyWithin { factor } => {
            if factor.is_nan() || factor < 1.0 {
                return Err(Error::Graph(format!("EnergyWithin factor must be at least 1, got {factor}")));
            }
            let bound = run(f64::INFINITY).estimate.seconds * factor;
            let greenest = run(0.0);
            if greenest.estimate.seconds <= bound {
                greenest
            } else {
                // Larger λ trades energy for time; find the smallest λ whose plan fits.
                let (mut lo, mut hi) = (1e-6_f64.ln(), 1e9_f64.ln());
                let mut best = run(f64::INFINITY);
                for _ in 0..48 {
                    let mid = 0.5 * (lo + hi);
                    let p = run(mid.exp());
                    if p.estimate.seconds <= bound {
                        hi = mid;
                        if p.estimate.joules < best.estimate.joules {
                            best = p;
                        }
                    } else {
                        lo = mid;
                    }
                }
                repair(graph, &candidates, best, bound, model, &devices)
            }
        }
    };
    Ok(describe(graph, chosen, &devices, objective))
}

/// Per live node, the supporting backends and their node costs; the fallback when none
/// supports it (or its costs are unknown everywhere).
type Candidates = Vec<Option<Vec<(usize, Cost)>>>;

fn candidates(
    graph: &Graph,
    live: &[bool],
    backends: &[Arc<dyn Backend>],
    fallback: Option<usize>,
    model: &dyn CostModel,
    devices: &[DeviceInfo],
) -> Result<Candidates> {
    let mut out = vec![None; graph.nodes().len()];
    for (n, node) in graph.nodes().iter().enumerate() {
        if !live[n] {
            continue;
        }
        let mut reasons = Vec::new();
        let mut here = Vec::new();
        for (b, backend) in backends.iter().enumerate() {
            match backend.supports(graph, NodeId(n)) {
                Support::Yes => match model.node(graph, NodeId(n), &devices[b]) {
                    Some(c) => here.push((b, c)),
                    None => reasons.push(format!("{}: no cost known", backend.name())),
                },
                Support::No(why) => reasons.push(format!("{}: {why}", backend.name())),
            }
        }
        if here.is_empty() {
            let f = fallback.ok_or_else(|| Error::Unsupported {
                backend: backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
                op: format!("{} (node {})", node.op.name(), node.name),
                why: reasons.join("; "),
            })?;
            here.push((f, model.node(graph, NodeId(n), &devices[f]).unwrap_or_default()));
        }
        out[n] = Some(here);
    }
    Ok(out)
}

/// A placement and, per node, each candidate's cost with its input transfers given the
/// placement of the nodes before it.
struct Pass {
    placement: Vec<Option<usize>>,
    scored: Vec<Vec<(usize, Cost)>>,
    estimate: Cost,
}

/// Node `n`'s candidates with the transfers of its inputs from where `placement` put them.
fn scored_for(
    graph: &Graph,
    n: usize,
    cands: &[(usize, Cost)],
    placement: &[Option<usize>],
    model: &dyn CostModel,
    devices: &[DeviceInfo],
) -> Vec<(usize, Cost)> {
    let host = devices.iter().position(|d| d.kind == crate::DeviceKind::Cpu);
    let node = graph.node(NodeId(n));
    cands
        .iter()
        .map(|&(b, c)| {
            let moved = node.inputs.iter().filter_map(|&v| {
                let from = match graph.value(v).source {
                    ValueSource::Node(p) => placement[p.0],
                    ValueSource::Input => host,
                    _ => None,
                }?;
                let bytes = graph.value(v).desc.byte_len("").unwrap_or(0) as u64;
                (from != b).then(|| model.transfer(bytes, &devices[from], &devices[b]))
            });
            (b, moved.fold(c, |a, t| a + t))
        })
        .collect()
}

/// The costs of a complete placement.
fn evaluate(
    graph: &Graph,
    candidates: &Candidates,
    placement: Vec<Option<usize>>,
    model: &dyn CostModel,
    devices: &[DeviceInfo],
) -> Pass {
    let mut scored = vec![Vec::new(); candidates.len()];
    let mut estimate = Cost::default();
    for (n, cands) in candidates.iter().enumerate() {
        let (Some(cands), Some(b)) = (cands, placement[n]) else { continue };
        scored[n] = scored_for(graph, n, cands, &placement, model, devices);
        estimate = estimate + scored[n].iter().find(|(i, _)| *i == b).map_or(Cost::default(), |(_, c)| *c);
    }
    Pass { placement, scored, estimate }
}

/// One greedy pass in graph order, scoring `joules + λ·seconds` (`λ = ∞`: seconds, then joules).
fn pass(graph: &Graph, candidates: &Candidates, model: &dyn CostModel, devices: &[DeviceInfo], lambda: f64) -> Pass {
    let mut placement: Vec<Option<usize>> = vec![None; candidates.len()];
    let score =
        |c: &Cost| if lambda.is_infinite() { (c.seconds, c.joules) } else { (c.joules + lambda * c.seconds, 0.0) };
    for (n, cands) in candidates.iter().enumerate() {
        let Some(cands) = cands else { continue };
        let scored = scored_for(graph, n, cands, &placement, model, devices);
        let best = scored
            .iter()
            .min_by(|x, y| score(&x.1).partial_cmp(&score(&y.1)).unwrap_or(std::cmp::Ordering::Equal))
            .expect("every live node has a candidate");
        placement[n] = Some(best.0);
    }
    evaluate(graph, candidates, placement, model, devices)
}

/// From a plan within `bound` seconds, moves single nodes to cheaper-energy candidates while the
/// plan still fits, largest saving first (the λ search alone cannot split equal nodes).
fn repair(
    graph: &Graph,
    candidates: &Candidates,
    start: Pass,
    bound: f64,
    model: &dyn CostModel,
    devices: &[DeviceInfo],
) -> Pass {
    let mut best = start;
    let mut moves: Vec<(usize, usize, f64)> = Vec::new();
    for (n, scored) in best.scored.iter().enumerate() {
        let Some(b) = best.placement[n] else { continue };
        let now = scored.iter().find(|(i, _)| *i == b).map_or(0.0, |(_, c)| c.joules);
        moves.extend(scored.iter().filter(|(_, c)| c.joules < now).map(|&(i, c)| (n, i, now - c.joules)));
    }
    moves.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
    for (n, b, _) in moves {
        let mut placement = best.placement.clone();
        placement[n] = Some(b);
        let p = evaluate(graph, candidates, placement, model, devices);
        if p.estimate.seconds <= bound && p.estimate.joules < best.estimate.joules {
            best = p;
        }
    }
    best
}

fn describe(graph: &Graph, p: Pass, devices: &[DeviceInfo], objective: Objective) -> CostPlacement {
    let aim = match objective {
        Objective::Latency => "fastest",
        Objective::EnergyWithin { .. } => "least energy within the latency bound",
        _ => "least energy",
    };
    let decisions = p
        .scored
        .iter()
        .enumerate()
        .filter_map(|(n, scored)| {
            let b = p.placement[n]?;
            let line = |(i, c): &(usize, Cost)| {
                format!("{} {:.1} us {:.3} mJ", devices[*i].backend, c.seconds * 1e6, c.joules * 1e3)
            };
            Some(PlacementDecision {
                node: graph.node(NodeId(n)).name.clone(),
                backend: devices[b].backend.clone(),
                candidates: scored.iter().map(|(i, c)| (devices[*i].backend.clone(), *c)).collect(),
                why: format!("{aim}: {}", scored.iter().map(line).collect::<Vec<_>>().join(" vs ")),
            })
        })
        .collect();
    CostPlacement { placement: p.placement, estimate: p.estimate, decisions }
}
