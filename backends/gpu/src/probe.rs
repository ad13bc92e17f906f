//! Peak probes as programs, so each backend measures its device with its own executor: an FMA-rate
//! kernel (f32, and f16 where the device has it) and a copy kernel for bandwidth.

use crate::caps::Caps;
use crate::program::{Buf, Command, Dispatch, Program, Word};
use edgehal::{NodeId, Peaks, Result};

/// One probe: its program and the work one run does.
pub struct Probe {
    /// The program (one dispatch over two scratch buffers).
    pub program: Program,
    /// FLOPs (FMA probes) or bytes read + written (copy probe) per run.
    pub work: f64,
}

fn one_dispatch(module: &str, entry: &'static str, params: Vec<Word>, workgroups: u32, scratch: [u64; 2]) -> Program {
    Program {
        commands: vec![Command::Dispatch(Dispatch {
            node: NodeId(0),
            module: module.into(),
            entry,
            buffers: vec![Buf::Scratch(0), Buf::Scratch(1)],
            params,
            workgroups: [workgroups, 1, 1],
        })],
        consts: Vec::new(),
        scratch_bytes: scratch.to_vec(),
        nodes: vec![NodeId(0)],
        position_limit: None,
    }
}

/// The FMA-rate probe (`f16`: the f16 one), sized to keep a large GPU busy for milliseconds.
pub fn fma(caps: &Caps, f16: bool, workgroups: u32, trips: u32) -> Probe {
    let workgroups = workgroups.min(caps.max_workgroups_per_dim);
    let out = workgroups as u64 * 256 * 16;
    let (module, entry) = if f16 { ("probe.f16", "fma_f16") } else { ("probe.base", "fma_f32") };
    let params = vec![Word::U32(trips), Word::F32(0.999_9), Word::F32(1e-4)];
    Probe {
        program: one_dispatch(module, entry, params, workgroups, [16, out]),
        work: workgroups as f64 * 256.0 * trips as f64 * 128.0,
    }
}

/// The copy probe over `bytes` (a multiple of 16, within the storage-binding limit).
pub fn copy(caps: &Caps, bytes: u64) -> Probe {
    let bytes = bytes.min(caps.max_storage_binding) / 16 * 16;
    let words = bytes / 16;
    // Enough invocations to saturate memory, each looping over a strided share.
    let workgroups = (words.div_ceil(256 * 4)).clamp(1, caps.max_workgroups_per_dim.min(16_384) as u64) as u32;
    Probe {
        program: one_dispatch("probe.base", "copy", vec![Word::U32(words as u32)], workgroups, [bytes, bytes]),
        work: 2.0 * bytes as f64,
    }
}

/// Runs the probes with `time`, which runs a program a few times on the device and returns its best
/// time in seconds. The FMA probe grows until a run takes ≥ 2 ms so launch overhead does not count.
pub fn measure_peaks(caps: &Caps, mut time: impl FnMut(&Program) -> Result<f64>) -> Result<Peaks> {
    let mut rate = |f16: bool| -> Result<f64> {
        let mut trips = 64;
        loop {
            let p = fma(caps, f16, 1024, trips);
            let t = time(&p.program)?;
            if t >= 2e-3 || trips >= 1 << 16 {
                return Ok(p.work / t / 1e9);
            }
            trips *= 4;
        }
    };
    let f32_gflops = rate(false)?;
    let f16_gflops = if caps.f16 { Some(rate(true)?) } else { None };
    let c = copy(caps, 256 << 20);
    let read_gbps = c.work / time(&c.program)? / 1e9;
    let read_probe = edgehal::ReadProbe {
        bytes: (c.work / 2.0) as u64,
        llc_bytes: 0,
        threads: match c.program.commands.first() {
            Some(Command::Dispatch(d)) => d.workgroups[0] as usize,
            _ => 0,
        },
        pattern: "strided copy kernel, bytes read + written counted",
        loads: "vec4<u32> copy",
        passes: 0,
    };
    Ok(Peaks { f32_gflops, read_gbps, f16_gflops, read_probe: Some(read_probe) })
}
