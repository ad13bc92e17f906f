//! Timing one case: sessions over enough weight copies to defeat the cache when the op is
//! memory-bound, a warm-up run per copy, then N timed runs cycling over the copies.

use super::case::{BenchCase, Built};
use crate::error::Result;
use edgehal::{Backend, OpCost, Peaks, Policy, RunOptions, Session};
use std::sync::Arc;
use std::time::Instant;

/// Most copies made of a memory-bound case's operands.
const MAX_COPIES: usize = 512;
/// Operands of memory-bound cases are copied until they total this many times the LLC.
const LLC_MULTIPLE: u64 = 4;
/// With `--iters` not given: at least this many timed runs ...
const AUTO_MIN_ITERS: usize = 5;
/// ... and more until this much kernel time has been measured ...
const AUTO_TARGET_NS: u64 = 1_000_000_000;
/// ... but never more than this many.
const AUTO_MAX_ITERS: usize = 200;

/// How a case ran.
pub struct Measurement {
    /// FLOPs and bytes of one run.
    pub cost: OpCost,
    /// True when the case is left of the roofline's ridge (bytes dominate).
    pub memory_bound: bool,
    /// Copies of the operands cycled over.
    pub copies: usize,
    /// Bytes of all copies' operands.
    pub working_set_bytes: u64,
    /// Timed runs.
    pub iters: usize,
    /// Kernel time of every timed run, in ns, sorted.
    pub samples_ns: Vec<u64>,
}

impl Measurement {
    /// The median kernel time.
    pub fn median_ns(&self) -> u64 {
        let s = &self.samples_ns;
        if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2 }
    }

    /// The best kernel time.
    pub fn best_ns(&self) -> u64 {
        self.samples_ns[0]
    }
}

/// FLOPs per byte moved above which an op is compute-bound on a device with these peaks.
pub fn ridge(peaks: &Peaks) -> f64 {
    if peaks.read_gbps > 0.0 { peaks.f32_gflops / peaks.read_gbps } else { 10.0 }
}

/// Runs `case` on `backend`. `iters: None` picks the count automatically.
pub fn measure(
    case: &BenchCase,
    backend: &Arc<dyn Backend>,
    peaks: &Peaks,
    llc_bytes: u64,
    iters: Option<usize>,
) -> Result<Measurement> {
    let first = case.build(0)?;
    let (cost, operand_bytes) = (first.cost, first.operand_bytes);
    let moved = (cost.bytes_read + cost.bytes_written).max(1);
    let memory_bound = (cost.flops as f64 / moved as f64) < ridge(peaks);
    let copies = if memory_bound { copies_for(operand_bytes, llc_bytes) } else { 1 };

    let mut sessions = Vec::with_capacity(copies);
    sessions.push(session(first, backend)?);
    for c in 1..copies {
        sessions.push(session(case.build(c as u64)?, backend)?);
    }
    let opts = RunOptions { profile: true, ..RunOptions::default() };
    for s in &mut sessions {
        kernel_ns(s, &opts)?;
    }
    let mut samples = Vec::new();
    let mut total = 0u64;
    loop {
        let done = match iters {
            Some(n) => samples.len() >= n.max(1),
            None => samples.len() >= AUTO_MAX_ITERS || (samples.len() >= AUTO_MIN_ITERS && total >= AUTO_TARGET_NS),
        };
        if done {
            break;
        }
        let ns = kernel_ns(&mut sessions[samples.len() % copies], &opts)?;
        total += ns;
        samples.push(ns);
    }
    samples.sort_unstable();
    Ok(Measurement {
        cost,
        memory_bound,
        copies,
        working_set_bytes: operand_bytes * copies as u64,
        iters: samples.len(),
        samples_ns: samples,
    })
}

/// Copies whose total is at least `LLC_MULTIPLE` × the LLC, within `1..=MAX_COPIES`.
fn copies_for(operand_bytes: u64, llc_bytes: u64) -> usize {
    (LLC_MULTIPLE * llc_bytes).div_ceil(operand_bytes.max(1)).clamp(1, MAX_COPIES as u64) as usize
}

fn session(built: Built, backend: &Arc<dyn Backend>) -> Result<Session> {
    Ok(Session::new(built.graph, vec![backend.clone()], Policy::strict())?)
}

/// Runs once; returns the time spent inside the kernels (wall time if the backend gave none).
fn kernel_ns(session: &mut Session, opts: &RunOptions) -> Result<u64> {
    let start = Instant::now();
    session.run_with(&[], opts)?;
    let wall = start.elapsed().as_nanos() as u64;
    let kernels: u64 = session.last_profile().map_or(0, |p| p.records.iter().map(|r| r.duration_ns).sum());
    Ok(if kernels > 0 { kernels } else { wall })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_cover_four_llcs() {
        let llc = 32 << 20;
        assert_eq!(copies_for(9_437_184, llc), 15);
        assert_eq!(copies_for(64 << 20, llc), 2);
        assert_eq!(copies_for(1 << 30, llc), 1);
        assert_eq!(copies_for(100, llc), MAX_COPIES);
        assert_eq!(copies_for(1 << 20, llc), 128);
    }

    #[test]
    fn median_and_best() {
        let m = |s: Vec<u64>| Measurement {
            cost: OpCost::default(),
            memory_bound: false,
            copies: 1,
            working_set_bytes: 0,
            iters: s.len(),
            samples_ns: s,
        };
        assert_eq!(m(vec![1, 2, 9]).median_ns(), 2);
        assert_eq!(m(vec![1, 3, 5, 9]).median_ns(), 4);
        assert_eq!(m(vec![4, 5]).best_ns(), 4);
    }
}
