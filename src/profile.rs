//! Per-op profiles of a run: timings with FLOPs and bytes, exported as a Chrome/Perfetto trace,
//! JSON or a summary table.

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
}

impl Profile {
    /// Wall time not spent inside the kernels: executor overhead, transfers, bookkeeping.
    pub fn overhead_ns(&self) -> u64 {
        self.total_ns.saturating_sub(self.records.iter().map(|r| r.duration_ns).sum())
    }

    /// The Chrome / Perfetto `traceEvents` JSON: one complete span per op, FLOPs and bytes in `args`.
    pub fn to_chrome_trace(&self) -> Value {
        let events: Vec<Value> = self
            .records
            .iter()
            .map(|r| {
                json!({
                    "name": r.node, "cat": r.op, "ph": "X", "pid": 1, "tid": r.backend,
                    "ts": r.start_ns as f64 / 1e3, "dur": r.duration_ns as f64 / 1e3,
                    "args": {
                        "op": r.op, "backend": r.backend, "clock": r.clock, "flops": r.cost.flops,
                        "bytes_read": r.cost.bytes_read, "bytes_written": r.cost.bytes_written,
                        "gflops": r.gflops(), "gbps": r.gbps(), "device_cycles": r.device_cycles,
                    }
                })
            })
            .collect();
        json!({ "traceEvents": events, "displayTimeUnit": "ns" })
    }

    /// A text table: per op kind, calls, total time, share and achieved rates.
    pub fn summary_table(&self) -> String {
        let mut by_op: Vec<(String, u64, u64, u64, u64)> = Vec::new();
        for r in &self.records {
            let key = format!("{}@{}", r.op, r.backend);
            let bytes = r.cost.bytes_read + r.cost.bytes_written;
            match by_op.iter_mut().find(|e| e.0 == key) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += r.duration_ns;
                    e.3 += r.cost.flops;
                    e.4 += bytes;
                }
                None => by_op.push((key, 1, r.duration_ns, r.cost.flops, bytes)),
            }
        }
        by_op.sort_by_key(|e| std::cmp::Reverse(e.2));
        let mut out = format!(
            "{:<24} {:>6} {:>12} {:>7} {:>10} {:>10}\n",
            "op@backend", "calls", "time (us)", "share", "GFLOP/s", "GB/s"
        );
        let total = self.total_ns.max(1) as f64;
        for (key, calls, ns, flops, bytes) in by_op {
            let t = ns.max(1) as f64;
            out += &format!(
                "{key:<24} {calls:>6} {:>12.1} {:>6.1}% {:>10.2} {:>10.2}\n",
                t / 1e3,
                100.0 * t / total,
                flops as f64 / t,
                bytes as f64 / t
            );
        }
        out += &format!("total {:.1} us, overhead {:.1} us\n", total / 1e3, self.overhead_ns() as f64 / 1e3);
        out
    }
}
