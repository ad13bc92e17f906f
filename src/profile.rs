//! Per-op profiles of a run: timings with FLOPs and bytes, exported as a Chrome/Perfetto trace,
//! JSON or a summary table.

use crate::energy::{EnergyLabel, EnergyWindow, OpEnergy};
use crate::ops::OpCost;
use serde::Serialize;
use serde_json::{Value, json};

/// One node's execution.
#[derive(Clone, Debug, Serialize)]
pub struct OpRecord {
    /// Node name.
    pub node: String,
    /// Op name.
    pub op: String,
    /// Backend that ran it.
    pub backend: String,
    /// Start in ns since the run began.
    pub start_ns: u64,
    /// Duration in ns.
    pub duration_ns: u64,
    /// `host` (wall clock around the kernel) or `device` (device timestamps).
    pub clock: &'static str,
    /// FLOPs and bytes of this execution.
    pub cost: OpCost,
    /// Device cycles the node took, where the device counts them (QNN HTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_cycles: Option<u64>,
    /// Energy of this execution with its label (measured / attributed / modelled).
    pub energy: OpEnergy,
}

impl OpRecord {
    /// Achieved GFLOP/s.
    pub fn gflops(&self) -> f64 {
        self.cost.flops as f64 / self.duration_ns.max(1) as f64
    }

    /// Achieved GB/s (bytes read plus written).
    pub fn gbps(&self) -> f64 {
        (self.cost.bytes_read + self.cost.bytes_written) as f64 / self.duration_ns.max(1) as f64
    }

    /// Average power over the op, in W.
    pub fn watts(&self) -> f64 {
        self.energy.joules / (self.duration_ns.max(1) as f64 * 1e-9)
    }
}

/// A profiled run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Profile {
    /// One record per node, in execution order.
    pub records: Vec<OpRecord>,
    /// Host-to-device and device-to-host copies between partitions: (value, bytes, ns).
    pub transfers: Vec<(String, u64, u64)>,
    /// Wall time of the whole run, in ns.
    pub total_ns: u64,
    /// What each attached meter counted over the run (empty without meters).
    pub energy_windows: Vec<EnergyWindow>,
    /// The meters whose windows were split over the ops (the others overlap them).
    pub meters_used: Vec<String>,
    /// Joules the used windows counted outside the ops (host work between kernels).
    pub energy_between_ops_j: f64,
    /// Meters that failed or whose window was too short, and why (their ops' energy is
    /// modelled instead).
    pub energy_notes: Vec<String>,
    /// Runs the meter windows spanned (the graph repeated in one window); the energies of the
    /// records are per run.
    pub energy_window_runs: usize,
    /// What the energy attribution needs of each record.
    #[serde(skip)]
    pub(crate) work: Vec<crate::energy::OpWork>,
}

impl Profile {
    /// Wall time not spent inside the kernels: executor overhead, transfers, bookkeeping.
    pub fn overhead_ns(&self) -> u64 {
        self.total_ns.saturating_sub(self.records.iter().map(|r| r.duration_ns).sum())
    }

    /// Joules of the whole run (ops plus the measured time between them) and the label of the
    /// sum: the weakest of its parts.
    pub fn energy_total(&self) -> (f64, EnergyLabel) {
        let j = self.records.iter().map(|r| r.energy.joules).sum::<f64>() + self.energy_between_ops_j;
        (j, EnergyLabel::weakest(self.records.iter().map(|r| r.energy.label)))
    }

    /// The Chrome / Perfetto `traceEvents` JSON: one complete span per op (FLOPs, bytes and
    /// energy in `args`), a power counter track per backend (the op's average power while it
    /// runs, 0 between ops) and one per meter (its window's average power).
    pub fn to_chrome_trace(&self) -> Value {
        let mut events: Vec<Value> = Vec::with_capacity(3 * self.records.len());
        for r in &self.records {
            let (ts, end) = (r.start_ns as f64 / 1e3, (r.start_ns + r.duration_ns) as f64 / 1e3);
            events.push(json!({
                "name": r.node, "cat": r.op, "ph": "X", "pid": 1, "tid": r.backend, "ts": ts,
                "dur": r.duration_ns as f64 / 1e3,
                "args": {
                    "op": r.op, "backend": r.backend, "clock": r.clock, "flops": r.cost.flops,
                    "bytes_read": r.cost.bytes_read, "bytes_written": r.cost.bytes_written,
                    "gflops": r.gflops(), "gbps": r.gbps(), "device_cycles": r.device_cycles,
                    "energy_j": r.energy.joules, "energy_label": r.energy.label,
                    "modelled_j": r.energy.modelled_joules,
                }
            }));
            let track = format!("power {} (W, {:?})", r.backend, r.energy.label).to_lowercase();
            events.push(json!({ "name": track, "ph": "C", "pid": 1, "ts": ts, "args": { "W": r.watts() } }));
            events.push(json!({ "name": track, "ph": "C", "pid": 1, "ts": end, "args": { "W": 0.0 } }));
        }
        for w in &self.energy_windows {
            let track = format!("meter {} (W, {:?})", w.meter.name, w.meter.scope).to_lowercase();
            let watts = w.joules / w.seconds.max(f64::MIN_POSITIVE);
            events.push(json!({ "name": track, "ph": "C", "pid": 1, "ts": 0.0, "args": { "W": watts } }));
            let end = w.seconds * 1e6;
            events.push(json!({ "name": track, "ph": "C", "pid": 1, "ts": end, "args": { "W": 0.0 } }));
        }
        json!({ "traceEvents": events, "displayTimeUnit": "ns" })
    }

    /// A text table: per op kind, calls, total time, share, achieved rates, energy with its
    /// label and pJ per FLOP; then the totals and the meters used.
    pub fn summary_table(&self) -> String {
        let mut by_op: Vec<OpGroup> = Vec::new();
        for r in &self.records {
            let key = format!("{}@{}", r.op, r.backend);
            let g = match by_op.iter().position(|g| g.key == key) {
                Some(i) => &mut by_op[i],
                None => {
                    by_op.push(OpGroup { key, label: EnergyLabel::Measured, ..OpGroup::default() });
                    by_op.last_mut().expect("just pushed")
                }
            };
            g.calls += 1;
            g.ns += r.duration_ns;
            g.flops += r.cost.flops;
            g.bytes += r.cost.bytes_read + r.cost.bytes_written;
            g.joules += r.energy.joules;
            g.label = g.label.min(r.energy.label);
        }
        by_op.sort_by_key(|g| std::cmp::Reverse(g.ns));
        let mut out = format!(
            "{:<24} {:>6} {:>12} {:>7} {:>10} {:>10} {:>12} {:>9} {:>10}\n",
            "op@backend", "calls", "time (us)", "share", "GFLOP/s", "GB/s", "energy (mJ)", "pJ/FLOP", "energy is"
        );
        let total = self.total_ns.max(1) as f64;
        for g in by_op {
            let t = g.ns.max(1) as f64;
            let pj = if g.flops > 0 { format!("{:.2}", g.joules * 1e12 / g.flops as f64) } else { "-".into() };
            out += &format!(
                "{:<24} {:>6} {:>12.1} {:>6.1}% {:>10.2} {:>10.2} {:>12.4} {:>9} {:>10}\n",
                g.key,
                g.calls,
                t / 1e3,
                100.0 * t / total,
                g.flops as f64 / t,
                g.bytes as f64 / t,
                g.joules * 1e3,
                pj,
                g.label.name()
            );
        }
        let (joules, label) = self.energy_total();
        out += &format!(
            "total {:.1} us, overhead {:.1} us, energy {:.4} mJ ({})\n",
            total / 1e3,
            self.overhead_ns() as f64 / 1e3,
            joules * 1e3,
            label.name()
        );
        if self.meters_used.is_empty() {
            out += "energy: modelled (no meter attached; see `edgehal devices`)\n";
        } else {
            out += &format!(
                "energy: meters {} ({:.4} mJ between ops)\n",
                self.meters_used.join(", "),
                self.energy_between_ops_j * 1e3
            );
        }
        for n in &self.energy_notes {
            out += &format!("energy: {n}\n");
        }
        out
    }
}

/// One row of the summary table.
#[derive(Default)]
struct OpGroup {
    key: String,
    calls: u64,
    ns: u64,
    flops: u64,
    bytes: u64,
    joules: f64,
    label: EnergyLabel,
}
