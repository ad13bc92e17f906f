//! `edgehal devices`: the backends compiled in, the devices they see, their features and
//! measured peaks.

use crate::backends::BACKENDS;
use crate::error::{CliError, Result};
use crate::machine::Machine;
use crate::progress;
use edgehal::{DeviceInfo, Peaks};
use serde::Serialize;
use std::process::ExitCode;

/// Arguments of `edgehal devices`.
#[derive(clap::Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Skip the peak probes (FMA rate, read bandwidth), which take a few seconds.
    #[arg(long)]
    pub no_probe: bool,
}

/// One registered backend as found on this machine.
#[derive(Serialize)]
struct BackendReport {
    backend: &'static str,
    description: &'static str,
    available: bool,
    /// Why the backend could not be created, or why probing failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<DeviceInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peaks: Option<Peaks>,
    /// Every adapter/device the backend could use (the one in `device` is picked from these).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    adapters: Vec<String>,
}

#[derive(Serialize)]
struct DevicesReport {
    machine: Machine,
    backends: Vec<BackendReport>,
    /// Energy meters found, and why the others are not there.
    meters: Vec<edgehal::energy::MeterProbe>,
}

/// Runs the command.
pub fn run(args: &DevicesArgs) -> Result<ExitCode> {
    let mut backends = Vec::new();
    for entry in BACKENDS {
        let mut report = BackendReport {
            backend: entry.name,
            description: entry.description,
            available: false,
            error: None,
            device: None,
            peaks: None,
            adapters: entry.adapters.map(|list| list()).unwrap_or_default(),
        };
        match (entry.create)() {
            Err(e) => report.error = Some(e.to_string()),
            Ok(backend) => {
                report.available = true;
                report.device = Some(backend.device());
                if !args.no_probe {
                    let spinner = progress::spinner(format!("measuring {} peaks", entry.name));
                    match backend.measure_peaks() {
                        Ok(p) => report.peaks = Some(p),
                        Err(e) => report.error = Some(format!("probe failed: {e}")),
                    }
                    spinner.finish_and_clear();
                }
            }
        }
        backends.push(report);
    }
    let meters = edgehal::energy::discover().1;
    let report = DevicesReport { machine: Machine::detect(), backends, meters };
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(format!("JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn text(r: &DevicesReport) -> String {
    let m = &r.machine;
    let mut s = format!(
        "machine: {} {}, {} CPUs, last-level cache {} MiB ({})\n",
        m.os,
        m.arch,
        m.cpus,
        m.llc_bytes >> 20,
        m.llc_source
    );
    for b in &r.backends {
        s += &format!("\n{}: {}\n", b.backend, if b.available { "available" } else { "not available" });
        if let Some(d) = &b.device {
            let kind = serde_json::to_value(d.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            s += &format!("  device:   {} ({kind}, {} workers)\n", d.name, d.workers);
            s += &format!("  memory:   {:.1} GiB\n", d.memory_bytes as f64 / (1u64 << 30) as f64);
            s += &format!("  features: {}\n", d.features.join(" "));
            s += &format!("  timing:   {}\n", if d.device_timestamps { "device timestamps" } else { "host clock" });
        }
        if let Some(p) = &b.peaks {
            let f16 = p.f16_gflops.map(|g| format!(", {g:.1} GFLOP/s f16 FMA")).unwrap_or_default();
            s += &format!("  peaks:    {:.1} GFLOP/s f32 FMA{f16}, {:.1} GB/s read\n", p.f32_gflops, p.read_gbps);
            if let Some(r) = &p.read_probe {
                let llc = if r.llc_bytes > 0 { format!(" (LLC {} MiB)", r.llc_bytes >> 20) } else { String::new() };
                let passes =
                    if r.passes > 0 { format!("best of {} passes", r.passes) } else { "timed by the backend".into() };
                s += &format!(
                    "  read probe: {} MiB{llc}, {passes}; best: {} threads, {}, {} loads\n",
                    r.bytes >> 20,
                    r.threads,
                    r.pattern,
                    r.loads
                );
            }
        }
        for a in &b.adapters {
            s += &format!("  adapter:  {a}\n");
        }
        if let Some(e) = &b.error {
            s += &format!("  error:    {e}\n");
        }
    }
    s += "\nenergy meters (without one, profiles show modelled energy):\n";
    for m in &r.meters {
        s +=
            &format!("  {:<18} {:<13} {}\n", m.name, if m.available { "available" } else { "not available" }, m.detail);
    }
    s
}
