//! The `edgehal` command: list devices, run conformance tests, benchmark kernels against the
//! measured peaks, and run single ops on user tensors.

mod backends;
mod bench;
mod calibrate;
mod conform;
mod devices;
mod energy_model;
mod error;
mod inputs;
mod machine;
mod model;
mod npy;
mod op;
mod profile;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// LLM-inference kernels on edge accelerators: devices, conformance, benchmarks, single ops.
#[derive(Parser, Debug)]
#[command(name = "edgehal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List backends and devices, their features and measured peaks.
    Devices(devices::DevicesArgs),
    /// Check a backend against the reference kernels.
    Conform(conform::ConformArgs),
    /// Benchmark ops against the device's measured FMA and bandwidth peaks.
    Bench(bench::BenchArgs),
    /// Run one op on .npy / raw GGUF-block inputs and write the result.
    Op(op::OpArgs),
    /// Profile bench cases or a model's prefill and decode: per-op table with energy, trace.
    Profile(profile::ProfileArgs),
    /// Generate text with a GGUF model (Llama family), streaming tokens, then tokens/s.
    Run(model::run::RunArgs),
    /// Fit a backend's energy model to this machine's energy meter (RAPL, ...).
    Calibrate(calibrate::CalibrateArgs),
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Devices(a) => devices::run(a),
        Command::Conform(a) => conform::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Op(a) => op::run(a),
        Command::Profile(a) => profile::run(a),
        Command::Run(a) => model::run::run(a),
        Command::Calibrate(a) => calibrate::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A panic is a bug in edgehal: say so in one line instead of a backtrace dump.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error (a bug in edgehal, please report it): {msg}{at}");
    }));
}
