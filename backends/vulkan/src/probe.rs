//! Peak probes (the programs of `edgehal_gpu::probe`) on this backend's own executor, timed with
//! device timestamps where the queue has them, else with the host clock around the submission.

use crate::context::Context;
use crate::executable::VulkanExecutable;
use edgehal::{Bindings, Executable, Peaks};
use std::sync::Arc;
use std::time::Instant;

/// FMA rates and copy bandwidth of the device.
pub(crate) fn measure_peaks(ctx: &Arc<Context>) -> edgehal::Result<Peaks> {
    let timestamps = ctx.physical.timestamps();
    edgehal_gpu::probe::measure_peaks(&ctx.caps, |program| {
        let mut exe = VulkanExecutable::new(ctx.clone(), program.clone(), Default::default())?;
        let mut best = f64::INFINITY;
        // The first run also creates nothing lazily (pipelines are made at compile time), but it
        // warms caches and clocks; the best of five is kept.
        for _ in 0..5 {
            let bindings = Bindings { inputs: Vec::new(), outputs: Vec::new(), states: Vec::new() };
            let t0 = Instant::now();
            let timings = exe.run(bindings, 0, timestamps)?;
            let host = t0.elapsed().as_secs_f64();
            let device = timings.iter().map(|t| t.duration_ns).sum::<u64>() as f64 * 1e-9;
            best = best.min(if timestamps && device > 0.0 { device } else { host });
        }
        Ok(best)
    })
}
