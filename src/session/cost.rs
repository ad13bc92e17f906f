//! What placement by cost optimises, and where the costs come from: a roofline estimate from each
//! device's measured peaks and energy model, or a table (written by hand, or filled from profiles
//! of earlier runs).

use crate::backend::{Backend, DeviceInfo, Peaks};
use crate::energy::{ComputeClass, EnergyModel};
use crate::graph::{Graph, NodeId};
use crate::profile::Profile;
use crate::tensor::TensorDesc;
use serde::Serialize;
use std::collections::HashMap;

/// What a session's placement optimises.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Each node on the first listed backend that supports it (no costs needed).
    Preference,
    /// Least estimated time.
    Latency,
    /// Least estimated energy.
    Energy,
    /// Least estimated energy among placements whose estimated time is at most `factor` × the
    /// latency-optimal placement's.
    EnergyWithin {
        /// Allowed slow-down over the fastest placement (≥ 1).
        factor: f64,
    },
}

/// Estimated time and energy of a node on a backend, or of a transfer.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Seconds.
    pub seconds: f64,
    /// Joules.
    pub joules: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost { seconds: self.seconds + o.seconds, joules: self.joules + o.joules }
    }
}

/// Where placement gets its costs.
pub trait CostModel: Send + Sync + std::fmt::Debug {
    /// The cost of `node` of `graph` on `backend` (`None`: unknown, so not a candidate).
    fn node(&self, graph: &Graph, node: NodeId, backend: &DeviceInfo) -> Option<Cost>;
    /// The cost of moving `bytes` from one backend's memory to another's.
    fn transfer(&self, bytes: u64, from: &DeviceInfo, to: &DeviceInfo) -> Cost;
}

/// One backend as [`RooflineCosts`] sees it.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct DeviceCosts {
    /// Measured peaks.
    pub peaks: Peaks,
    /// Energy model.
    pub energy: EnergyModel,
    /// Fixed time per node (kernel launch, dispatch), in seconds.
    pub launch_s: f64,
    /// Host ↔ device copy bandwidth, in GB/s (`f64::INFINITY` for host memory).
    pub link_gbps: f64,
}

impl DeviceCosts {
    /// Defaults for a device with these peaks: the kind's energy model; CPUs launch in ~1 µs
    /// and share host memory; GPUs and NPUs take ~10 µs per dispatch and copy at ~10 GB/s.
    pub fn for_device(device: &DeviceInfo, peaks: Peaks) -> DeviceCosts {
        let host = device.kind == crate::DeviceKind::Cpu;
        DeviceCosts {
            peaks,
            energy: EnergyModel::for_kind(device.kind),
            launch_s: if host { 1e-6 } else { 10e-6 },
            link_gbps: if host { f64::INFINITY } else { 10.0 },
        }
    }
}

/// The roofline estimate: `time = launch + max(FLOPs / FMA peak, bytes / read peak)`, energy
/// from the device's model over that time. Node costs are taken at position 0 (a decode
/// attention's cache length is not known before the run).
#[derive(Clone, Debug, Default)]
pub struct RooflineCosts {
    devices: HashMap<String, DeviceCosts>,
}

impl RooflineCosts {
    /// Costs for the named backends.
    pub fn new(devices: impl IntoIterator<Item = (String, DeviceCosts)>) -> RooflineCosts {
        RooflineCosts { devices: devices.into_iter().collect() }
    }

    /// Probes every backend's peaks (seconds each) and uses [`DeviceCosts::for_device`].
    pub fn measure(backends: &[std::sync::Arc<dyn Backend>]) -> crate::Result<RooflineCosts> {
        let mut devices = HashMap::new();
        for b in backends {
            let device = b.device();
            devices.insert(b.name().to_string(), DeviceCosts::for_device(&device, b.measure_peaks()?));
        }
        Ok(RooflineCosts { devices })
    }
}

impl CostModel for RooflineCosts {
    fn node(&self, graph: &Graph, node: NodeId, backend: &DeviceInfo) -> Option<Cost> {
        let d = self.devices.get(&backend.backend)?;
        let n = graph.node(node);
        let descs: Vec<&TensorDesc> = n.inputs.iter().map(|&i| &graph.value(i).desc).collect();
        let cost = n.op.cost(&descs, &graph.value(n.output).desc, 0);
        let class = ComputeClass::of(&n.op, &descs);
        let flop_rate = match (class, d.peaks.f16_gflops) {
            (ComputeClass::F16, Some(f16)) => f16,
            _ => d.peaks.f32_gflops,
        } * 1e9;
        let bytes = cost.bytes_read + cost.bytes_written;
        let seconds = d.launch_s + (cost.flops as f64 / flop_rate).max(bytes as f64 / (d.peaks.read_gbps * 1e9));
        Some(Cost { seconds, joules: d.energy.joules(cost.flops, class, bytes, seconds) })
    }

    fn transfer(&self, bytes: u64, from: &DeviceInfo, to: &DeviceInfo) -> Cost {
        link_cost(bytes, [self.devices.get(&from.backend), self.devices.get(&to.backend)])
    }
}

/// A copy over the slower of the two links, charged to both devices' memories.
fn link_cost(bytes: u64, ends: [Option<&DeviceCosts>; 2]) -> Cost {
    let gbps = ends.iter().flatten().map(|d| d.link_gbps).fold(f64::INFINITY, f64::min);
    let seconds = if gbps.is_finite() { 10e-6 + bytes as f64 / (gbps * 1e9) } else { 0.0 };
    let joules = ends.iter().flatten().map(|d| d.energy.joules(0, ComputeClass::F32, bytes, seconds)).sum();
    Cost { seconds, joules }
}

/// Costs written down per (node name, backend name): by hand, or from earlier profiles.
#[derive(Clone, Debug, Default)]
pub struct CostTable {
    nodes: HashMap<(String, String), Cost>,
    links: HashMap<String, DeviceCosts>,
}

impl CostTable {
    /// An empty table.
    pub fn new() -> CostTable {
        CostTable::default()
    }

    /// Sets the cost of node `node` on `backend`.
    pub fn set(&mut self, node: &str, backend: &str, cost: Cost) -> &mut CostTable {
        self.nodes.insert((node.into(), backend.into()), cost);
        self
    }

    /// Sets how transfers to and from `backend` are charged (its link and energy model).
    pub fn set_link(&mut self, backend: &str, device: DeviceCosts) -> &mut CostTable {
        self.links.insert(backend.into(), device);
        self
    }

    /// Adds every record of a profiled run: the node's measured time and its energy (whatever
    /// its label), on the backend that ran it. Profile one session per backend (strict policy)
    /// and merge them into one table to compare.
    pub fn add_profile(&mut self, profile: &Profile) -> &mut CostTable {
        for r in &profile.records {
            let cost = Cost { seconds: r.duration_ns as f64 * 1e-9, joules: r.energy.joules };
            self.nodes.insert((r.node.clone(), r.backend.clone()), cost);
        }
        self
    }
}

impl CostModel for CostTable {
    fn node(&self, graph: &Graph, node: NodeId, backend: &DeviceInfo) -> Option<Cost> {
        self.nodes.get(&(graph.node(node).name.clone(), backend.backend.clone())).copied()
    }

    fn transfer(&self, bytes: u64, from: &DeviceInfo, to: &DeviceInfo) -> Cost {
        link_cost(bytes, [self.links.get(&from.backend), self.links.get(&to.backend)])
    }
}
