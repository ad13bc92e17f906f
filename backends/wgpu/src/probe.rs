//! Peak probes on the device (the programs of `edgehal_gpu::probe`), timed with timestamp queries
//! where the device has them, else with the host clock around a waited submission.

use crate::context::Context;
use crate::exec::WgpuExecutable;
use edgehal::{Bindings, Executable, Peaks, Result};
use std::sync::Arc;
use std::time::Instant;

pub(crate) fn measure_peaks(cx: &Arc<Context>) -> Result<Peaks> {
    edgehal_gpu::probe::measure_peaks(&cx.caps, |program| {
        let mut exe = WgpuExecutable::new(cx.clone(), program.clone())?;
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let bindings = Bindings { inputs: Vec::new(), outputs: Vec::new(), states: Vec::new() };
            let t0 = Instant::now();
            let timings = exe.run(bindings, 0, cx.timestamps)?;
            let host = t0.elapsed().as_secs_f64();
            let device = timings.iter().map(|t| t.duration_ns).sum::<u64>() as f64 * 1e-9;
            best = best.min(if cx.timestamps && device > 0.0 { device } else { host });
        }
        Ok(best)
    })
}
