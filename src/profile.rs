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
    /// Where each of `energy_windows` lies on this profile's clock, `(start, end)` in ns; empty:
    /// every window spans the whole run (`0..total_ns`; a window over repeated runs is drawn
    /// over the one run the records show). Set by [`Profile::concat`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub energy_window_spans_ns: Vec<(u64, u64)>,
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

    /// Runs laid end to end as one profile: each part's records start after the previous parts'
    /// `total_ns`, totals and between-ops joules add up, transfers, windows and attribution work
    /// are concatenated, meters and notes deduplicated. `energy_window_runs` is the largest of
    /// the parts' (they share it when each part is one run of a model, a prefill chunk or a
    /// decode step). An empty list gives an empty profile.
    pub fn concat(parts: Vec<Profile>) -> Profile {
        let mut out = Profile::default();
        for p in parts {
            let offset = out.total_ns;
            out.records.extend(p.records.iter().cloned().map(|r| OpRecord { start_ns: r.start_ns + offset, ..r }));
            out.energy_window_spans_ns.extend((0..p.energy_windows.len()).map(|i| {
                let (start, end) = p.window_span_ns(i);
                (start + offset, end + offset)
            }));
            out.transfers.extend(p.transfers);
            out.total_ns += p.total_ns;
            out.energy_windows.extend(p.energy_windows);
            for m in p.meters_used {
                if !out.meters_used.contains(&m) {
                    out.meters_used.push(m);
                }
            }
            out.energy_between_ops_j += p.energy_between_ops_j;
            for n in p.energy_notes {
                if !out.energy_notes.contains(&n) {
                    out.energy_notes.push(n);
                }
            }
            out.energy_window_runs = out.energy_window_runs.max(p.energy_window_runs);
            out.work.extend(p.work);
        }
        out
    }

    /// Where window `i` of `energy_windows` lies, `(start, end)` in ns.
    fn window_span_ns(&self, i: usize) -> (u64, u64) {
        self.energy_window_spans_ns.get(i).copied().unwrap_or((0, self.total_ns))
    }

    /// The Chrome / Perfetto `traceEvents` JSON: one complete span per op (FLOPs, bytes and
    /// energy in `args`), a power counter track per backend (the op's average power while it
    /// runs, 0 between ops) and one per meter (its window's average power).
    pub fn to_chrome_trace(&self) -> Value {
        json!({ "traceEvents": self.trace_events(1, 0), "displayTimeUnit": "ns" })
    }

    /// One trace of several named profiles (the cases of a preset, a model's prefill and
    /// decode) laid end to end, each a process of its own named by a `process_name` metadata
    /// event, its events as [`Profile::to_chrome_trace`] makes them.
    pub fn chrome_trace_of(parts: &[(&str, &Profile)]) -> Value {
        let mut events = Vec::new();
        let mut offset = 0;
        for (i, (name, p)) in parts.iter().enumerate() {
            let pid = i as u64 + 1;
            events.push(json!({ "name": "process_name", "ph": "M", "pid": pid, "args": { "name": name } }));
            events.push(json!({ "name": "process_sort_index", "ph": "M", "pid": pid, "args": { "sort_index": pid } }));
            events.extend(p.trace_events(pid, offset));
            offset += p.total_ns;
        }
        json!({ "traceEvents": events, "displayTimeUnit": "ns" })
    }

    /// The events of [`Profile::to_chrome_trace`] in process `pid`, `offset_ns` later.
    fn trace_events(&self, pid: u64, offset_ns: u64) -> Vec<Value> {
        let us = |ns: u64| (ns + offset_ns) as f64 / 1e3;
        let mut events: Vec<Value> = Vec::with_capacity(3 * self.records.len() + 2 * self.energy_windows.len());
        for r in &self.records {
            let (ts, end) = (us(r.start_ns), us(r.start_ns + r.duration_ns));
            events.push(json!({
                "name": r.node, "cat": r.op, "ph": "X", "pid": pid, "tid": r.backend, "ts": ts,
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
            events.push(json!({ "name": track, "ph": "C", "pid": pid, "ts": ts, "args": { "W": r.watts() } }));
            events.push(json!({ "name": track, "ph": "C", "pid": pid, "ts": end, "args": { "W": 0.0 } }));
        }
        for (i, w) in self.energy_windows.iter().enumerate() {
            let track = format!("meter {} (W, {:?})", w.meter.name, w.meter.scope).to_lowercase();
            let watts = w.joules / w.seconds.max(f64::MIN_POSITIVE);
            let (start, end) = self.window_span_ns(i);
            events.push(json!({ "name": track, "ph": "C", "pid": pid, "ts": us(start), "args": { "W": watts } }));
            events.push(json!({ "name": track, "ph": "C", "pid": pid, "ts": us(end), "args": { "W": 0.0 } }));
        }
        events
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceKind;
    use crate::energy::{ComputeClass, EnergyModel, MeterInfo, OpWork, Scope};

    /// A one-op run of `ns` with one meter window and a note.
    fn run(node: &str, ns: u64, joules: f64, note: &str) -> Profile {
        let meter = MeterInfo {
            name: "rapl:package-0".into(),
            scope: Scope::Package,
            covers: vec![DeviceKind::Cpu],
            source: "test".into(),
            resolution_j: 1e-6,
            update_period_s: 1e-3,
            wrap_range_j: None,
        };
        let model = EnergyModel::for_kind(DeviceKind::Cpu);
        let cost = OpCost { flops: 1000, bytes_read: 100, bytes_written: 10 };
        let work =
            OpWork { kind: DeviceKind::Cpu, model, class: ComputeClass::F32, flops: 1000, bytes: 110, seconds: 1e-6 };
        Profile {
            records: vec![OpRecord {
                node: node.into(),
                op: "matmul".into(),
                backend: "cpu".into(),
                start_ns: 10,
                duration_ns: ns - 20,
                clock: "host",
                cost,
                device_cycles: None,
                energy: OpEnergy {
                    joules,
                    label: EnergyLabel::Attributed,
                    scopes: vec![Scope::Package],
                    modelled_joules: 0.0,
                },
            }],
            transfers: vec![(node.into(), 8, 1)],
            total_ns: ns,
            energy_windows: vec![EnergyWindow { meter, joules: 2.0 * joules, seconds: ns as f64 * 1e-9 }],
            meters_used: vec!["rapl:package-0".into()],
            energy_between_ops_j: 0.5 * joules,
            energy_notes: vec![note.into()],
            energy_window_runs: 1,
            energy_window_spans_ns: Vec::new(),
            work: vec![work],
        }
    }

    #[test]
    fn concat_lays_runs_end_to_end() {
        let p = Profile::concat(vec![
            run("a", 1000, 1.0, "same"),
            run("b", 3000, 2.0, "same"),
            run("c", 500, 4.0, "other"),
        ]);
        let starts: Vec<u64> = p.records.iter().map(|r| r.start_ns).collect();
        assert_eq!(starts, [10, 1010, 4010]);
        assert_eq!(p.total_ns, 4500);
        assert_eq!(p.transfers.len(), 3);
        assert_eq!(p.work.len(), 3);
        assert_eq!(p.energy_windows.len(), 3);
        assert_eq!(p.energy_window_spans_ns, [(0, 1000), (1000, 4000), (4000, 4500)]);
        assert_eq!(p.meters_used, ["rapl:package-0"]);
        assert_eq!(p.energy_notes, ["same", "other"]);
        assert_eq!(p.energy_window_runs, 1);
        assert_eq!(p.energy_between_ops_j, 3.5);
        assert_eq!(p.energy_total(), (10.5, EnergyLabel::Attributed));
        // A concatenation of concatenations keeps the windows where they were.
        let twice = Profile::concat(vec![p.clone(), p]);
        assert_eq!(twice.energy_window_spans_ns[4], (5500, 8500));
        assert!(Profile::concat(Vec::new()).records.is_empty());
    }

    #[test]
    fn named_parts_are_processes_laid_end_to_end() {
        let (a, b) = (run("a", 1000, 1.0, "n"), run("b", 2000, 1.0, "n"));
        let trace = Profile::chrome_trace_of(&[("prefill", &a), ("decode", &b)]);
        let events = trace["traceEvents"].as_array().unwrap();
        let names: Vec<(&Value, &Value)> =
            events.iter().filter(|e| e["name"] == "process_name").map(|e| (&e["pid"], &e["args"]["name"])).collect();
        assert_eq!(names, [(&json!(1), &json!("prefill")), (&json!(2), &json!("decode"))]);
        let span = |node: &str| events.iter().find(|e| e["ph"] == "X" && e["name"] == node).unwrap();
        assert_eq!((&span("a")["pid"], span("a")["ts"].as_f64()), (&json!(1), Some(0.01)));
        assert_eq!((&span("b")["pid"], span("b")["ts"].as_f64()), (&json!(2), Some(1.01)));
        let meter: Vec<f64> = events
            .iter()
            .filter(|e| e["pid"] == 2 && e["name"].as_str().is_some_and(|n| n.starts_with("meter ")))
            .map(|e| e["ts"].as_f64().unwrap())
            .collect();
        assert_eq!(meter, [1.0, 3.0]);
        // A single profile's trace is unchanged: its first event is the first op.
        assert_eq!(a.to_chrome_trace()["traceEvents"][0]["ph"], "X");
    }
}
