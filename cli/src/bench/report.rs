//! Benchmark results: one row per case, printed as a table and written as JSON.

use super::case::BenchCase;
use super::runner::Measurement;
use crate::machine::Machine;
use edgehal::{DeviceInfo, Peaks};
use serde::Serialize;

/// One case's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Op name.
    pub op: String,
    /// The op's main dtype.
    pub dtype: String,
    /// Op-specific dimensions.
    pub dims: Vec<usize>,
    /// Human-readable description.
    pub label: String,
    /// A short name (plots).
    pub short: String,
    /// The figures, or `None` when the case failed.
    #[serde(flatten)]
    pub figures: Option<Figures>,
    /// Why the case failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Measured figures of one case.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    /// `memory` or `compute`, from the op's FLOPs per byte against the peaks' ridge point.
    pub bound: &'static str,
    /// FLOPs per byte moved.
    pub intensity: f64,
    /// FLOPs per run.
    pub flops: u64,
    /// Bytes read and written per run.
    pub bytes: u64,
    /// Operand copies cycled over.
    pub copies: usize,
    /// Bytes of all copies' operands.
    pub working_set_bytes: u64,
    /// Whether the working set is at least 4× the LLC (so memory-bound figures are DRAM figures).
    pub beyond_llc: bool,
    /// Timed runs.
    pub iters: usize,
    /// Median kernel time, ns.
    pub median_ns: u64,
    /// Best kernel time, ns.
    pub best_ns: u64,
    /// GFLOP/s at the median time.
    pub gflops: f64,
    /// GB/s at the median time.
    pub gbps: f64,
    /// GFLOP/s at the best time.
    pub best_gflops: f64,
    /// GB/s at the best time.
    pub best_gbps: f64,
    /// Median GFLOP/s as a percentage of the measured FMA peak.
    pub pct_fma_peak: f64,
    /// Which FMA peak `pct_fma_peak` is against: `f16` for f16 matmuls on a device with an f16
    /// probe, else `f32`.
    pub fma_peak: &'static str,
    /// Median GB/s as a percentage of the measured read bandwidth.
    pub pct_bw_peak: f64,
    /// Joules per run of the op (the records' sum; nothing between ops).
    pub energy_j: f64,
    /// Where `energy_j` came from: `measured`, `attributed` or `modelled` (the weakest part).
    pub energy_label: &'static str,
    /// Picojoules per FLOP (`None` for ops without FLOPs).
    pub pj_per_flop: Option<f64>,
    /// GFLOP per joule, i.e. GFLOP/s per W (`None` for ops without FLOPs).
    pub gflops_per_w: Option<f64>,
    /// Average power over the op at the median time, W.
    pub watts: f64,
    /// Runs in each meter window (0: no meter, modelled from the timed runs).
    pub energy_runs_per_window: usize,
    /// Meter windows measured.
    pub energy_windows: usize,
    /// Meters whose windows were split over the ops.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub energy_meters: Vec<String>,
    /// Why a window gave no measurement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub energy_notes: Vec<String>,
}

/// `meas`, `attr` or `model`: the energy label for the table.
pub fn short_label(label: &str) -> &'static str {
    match label {
        "measured" => "meas",
        "attributed" => "attr",
        _ => "model",
    }
}

impl BenchResult {
    /// The result of a case that ran.
    pub fn ok(case: &BenchCase, m: &Measurement, peaks: &Peaks, llc_bytes: u64) -> Self {
        let bytes = m.cost.bytes_read + m.cost.bytes_written;
        let (median, best) = (m.median_ns().max(1) as f64, m.best_ns().max(1) as f64);
        let (gflops, gbps) = (m.cost.flops as f64 / median, bytes as f64 / median);
        let pct = |v: f64, peak: f64| if peak > 0.0 { 100.0 * v / peak } else { 0.0 };
        let (fma_peak, fma_gflops) = match peaks.f16_gflops {
            Some(p) if case.op == "matmul" && case.dtype == edgehal::DType::F16 => ("f16", p),
            _ => ("f32", peaks.f32_gflops),
        };
        let e = &m.energy;
        let per_flop = |v: f64| (m.cost.flops > 0).then_some(v);
        let figures = Figures {
            bound: if m.memory_bound { "memory" } else { "compute" },
            intensity: m.cost.flops as f64 / bytes.max(1) as f64,
            flops: m.cost.flops,
            bytes,
            copies: m.copies,
            working_set_bytes: m.working_set_bytes,
            beyond_llc: m.working_set_bytes >= 4 * llc_bytes,
            iters: m.iters,
            median_ns: m.median_ns(),
            best_ns: m.best_ns(),
            gflops,
            gbps,
            best_gflops: m.cost.flops as f64 / best,
            best_gbps: bytes as f64 / best,
            pct_fma_peak: pct(gflops, fma_gflops),
            fma_peak,
            pct_bw_peak: pct(gbps, peaks.read_gbps),
            energy_j: e.joules,
            energy_label: e.label.name(),
            pj_per_flop: per_flop(e.joules * 1e12 / m.cost.flops.max(1) as f64),
            gflops_per_w: per_flop(if e.joules > 0.0 { m.cost.flops as f64 / e.joules / 1e9 } else { 0.0 }),
            watts: e.joules / (median * 1e-9),
            energy_runs_per_window: e.runs_per_window,
            energy_windows: e.windows,
            energy_meters: e.meters.clone(),
            energy_notes: e.notes.clone(),
        };
        BenchResult { figures: Some(figures), error: None, ..Self::head(case) }
    }

    /// The result of a case that failed.
    pub fn failed(case: &BenchCase, error: String) -> Self {
        BenchResult { error: Some(error), ..Self::head(case) }
    }

    fn head(case: &BenchCase) -> Self {
        BenchResult {
            op: case.op.into(),
            dtype: case.dtype.name().into(),
            dims: case.dims.clone(),
            label: case.label(),
            short: case.short_name(),
            figures: None,
            error: None,
        }
    }
}

/// The whole run, as written by `--json`.
#[derive(Serialize)]
pub struct BenchReport<'a> {
    /// The host.
    pub machine: &'a Machine,
    /// The device benchmarked.
    pub device: &'a DeviceInfo,
    /// Peaks the percentages refer to: the higher of the two probes.
    pub peaks: &'a Peaks,
    /// The probes, before and after the cases (the first also classifies memory- vs compute-bound).
    pub probes: &'a [Peaks],
    /// What was run: a preset name or `custom`.
    pub preset: &'a str,
    /// The energy meters found (names); empty: every energy figure is modelled.
    pub energy_meters: &'a [String],
    /// Which energy model priced the modelled figures (fitted file or the defaults).
    pub energy_model: &'a str,
    /// One entry per case.
    pub results: &'a [BenchResult],
}

/// The results as a text table.
pub fn table(results: &[BenchResult]) -> String {
    let width = results.iter().map(|r| r.label.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<width$}  {:>7} {:>6} {:>9} {:>10} {:>10} {:>9} {:>8} {:>6} {:>6} {:>9} {:>7} {:>6}\n",
        "case",
        "bound",
        "copies",
        "data MiB",
        "median ms",
        "best ms",
        "GFLOP/s",
        "GB/s",
        "%FMA",
        "%BW",
        "J/op",
        "pJ/FLOP",
        "energy"
    );
    for r in results {
        match (&r.figures, &r.error) {
            (Some(f), _) => {
                out += &format!(
                    "{:<width$}  {:>7} {:>6} {:>9.1} {:>10.3} {:>10.3} {:>9.1} {:>8.1} {:>5.1}% {:>5.1}% {:>9.2e} {:>7} {:>6}\n",
                    r.label,
                    f.bound,
                    f.copies,
                    f.working_set_bytes as f64 / (1u64 << 20) as f64,
                    f.median_ns as f64 / 1e6,
                    f.best_ns as f64 / 1e6,
                    f.gflops,
                    f.gbps,
                    f.pct_fma_peak,
                    f.pct_bw_peak,
                    f.energy_j,
                    f.pj_per_flop.map_or_else(|| "-".into(), |p| format!("{p:.1}")),
                    short_label(f.energy_label)
                );
            }
            (None, e) => out += &format!("{:<width$}  FAILED: {}\n", r.label, e.as_deref().unwrap_or("unknown")),
        }
    }
    out
}
