//! `edgehal bench`: measure the device's peaks, then time one-op graphs and report how close each
//! comes to them.

mod case;
mod plot;
mod presets;
mod random;
mod report;
mod runner;

use crate::backends;
use crate::error::{CliError, Result, write_file};
use crate::inputs::parse_dims;
use crate::machine::Machine;
use crate::progress;
pub(crate) use case::BenchCase;
use edgehal::{Backend, DType, Peaks};
use report::{BenchReport, BenchResult};
pub(crate) use runner::energy::runs_for;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `edgehal bench`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = bench_help())]
pub struct BenchArgs {
    /// Backend to benchmark.
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// Only this op (with --shape: the op to build).
    #[arg(long)]
    pub op: Option<String>,
    /// Only this dtype (with --shape: the weight / cache / target dtype).
    #[arg(long)]
    pub dtype: Option<String>,
    /// A custom shape for --op, e.g. 1x4096x4096 for matmul (repeatable; see below).
    #[arg(long, value_name = "DIMS")]
    pub shape: Vec<String>,
    /// A named list of cases (see below); default: quick.
    #[arg(long)]
    pub preset: Option<String>,
    /// Timed runs per case (default: at least 5, up to 1 s of kernel time).
    #[arg(long)]
    pub iters: Option<usize>,
    /// Write machine, peaks and every result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the roofline and the energy per op as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Price modelled energy with this fitted model (default: the one `edgehal calibrate` cached
    /// for the backend, if any; else the device kind's defaults).
    #[arg(long, value_name = "FILE.json")]
    pub energy_model: Option<PathBuf>,
    /// List the cases that would run, and exit.
    #[arg(long)]
    pub list: bool,
    /// Benchmark this GGUF model (prefill and decode tokens/s) instead of single ops.
    #[arg(long, value_name = "GGUF")]
    pub model: Option<PathBuf>,
    /// With --model: prompt tokens per prefill run.
    #[arg(long, default_value_t = 256)]
    pub prompt_tokens: usize,
    /// With --model: decode steps timed after the prompt.
    #[arg(long, default_value_t = 64)]
    pub gen_tokens: usize,
    /// With --model: timed prefill runs (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// With --model: how the model is set up.
    #[command(flatten)]
    pub setup: crate::model::ModelSetup,
}

fn bench_help() -> String {
    let mut s = String::from("Presets:\n");
    for (name, about) in presets::PRESETS {
        s += &format!("  {name:<13} {about}\n");
    }
    s += "\nOps and --shape:\n";
    for (name, shape) in case::OPS {
        s += &format!("  {name:<11} {shape}\n");
    }
    s += "\nMemory-bound cases cycle over copies of their operands totalling at least 4x the last-level\n\
          cache, so they measure DRAM, not cache. Times are kernel times (median and best); rates are\n\
          at the median. Quantized matmuls may use integer dot products (VNNI), so %FMA (of the f32\n\
          FMA peak) can exceed 100.\n\n\
          Energy (J/op, pJ/FLOP) is the sum of the op's profile records. With an energy meter (RAPL;\n\
          see `edgehal devices`) it is measured after the timed runs, in meter windows of at least 10\n\
          update periods (the graph repeated in one window); without one it is the energy model's\n\
          figure for the timed runs, labelled modelled.\n";
    s
}

/// The cases the arguments select.
fn select(args: &BenchArgs) -> Result<(String, Vec<BenchCase>)> {
    select_cases(args.preset.as_deref(), args.op.as_deref(), args.dtype.as_deref(), &args.shape)
}

/// The cases of `preset` (default: quick) that match the `op` and `dtype` filters, or `op` at
/// each of `shapes`: the preset's name (`custom` for shapes) and the cases.
pub(crate) fn select_cases(
    preset: Option<&str>,
    op: Option<&str>,
    dtype: Option<&str>,
    shapes: &[String],
) -> Result<(String, Vec<BenchCase>)> {
    let dtype = dtype
        .map(|d| DType::from_name(d).ok_or_else(|| CliError::unknown("dtype", d, DType::ALL.iter().map(|d| d.name()))))
        .transpose()?;
    if !shapes.is_empty() {
        if preset.is_some() {
            return Err(CliError::Usage("give either --preset or --shape, not both".into()));
        }
        let op = op.ok_or_else(|| CliError::Usage("--shape needs --op".into()))?;
        let cases = shapes
            .iter()
            .map(|s| {
                let dims = parse_dims(s)
                    .ok_or_else(|| CliError::Usage(format!("--shape `{s}`: write dims as 1x4096x4096")))?;
                BenchCase::new(op, dtype, dims)
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(("custom".into(), cases));
    }
    let preset = preset.unwrap_or(presets::DEFAULT);
    let all = presets::cases(preset)?;
    if let Some(op) = op {
        case::check_op(op)?;
    }
    let cases: Vec<BenchCase> = all
        .into_iter()
        .filter(|c| op.is_none_or(|op| c.op == op))
        .filter(|c| dtype.is_none_or(|d| c.dtype == d))
        .collect();
    if cases.is_empty() {
        return Err(CliError::Usage(format!("preset `{preset}` has no case matching the --op / --dtype filter")));
    }
    Ok((preset.into(), cases))
}

/// A kernel may beat the read probe by this many percent (noise) before the probe is suspect.
const PROBE_SLACK_PERCENT: f64 = 5.0;

/// Measures the backend's peaks behind a spinner.
fn probe(backend: &Arc<dyn Backend>) -> Result<Peaks> {
    let spinner = progress::spinner(format!("measuring {} peaks", backend.name()));
    let peaks = backend.measure_peaks();
    spinner.finish_and_clear();
    Ok(peaks?)
}

/// Runs the command.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if let Some(model) = &args.model {
        if args.op.is_some() || args.preset.is_some() || !args.shape.is_empty() || args.plot.is_some() {
            return Err(CliError::Usage(
                "--model benchmarks a whole model; drop --op, --preset, --shape and --plot".into(),
            ));
        }
        let model =
            crate::model::ModelArgs { model: model.clone(), backend: args.backend.clone(), setup: args.setup.clone() };
        return crate::model::bench::run(&crate::model::bench::ModelBenchArgs {
            model,
            prompt_tokens: args.prompt_tokens,
            gen_tokens: args.gen_tokens,
            repeats: args.repeats,
            json: args.json.clone(),
        });
    }
    let (preset, cases) = select(args)?;
    if args.list {
        for c in &cases {
            println!("{}", c.label());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let backend = backends::create(&args.backend)?;
    let fitted = crate::energy_model::load(&args.backend, args.energy_model.as_deref())?;
    let energy_model = crate::energy_model::describe(&args.backend, &fitted);
    let machine = Machine::detect();
    let device = backend.device();
    let first = probe(&backend)?;
    let meters: Vec<String> = edgehal::energy::discover().0.iter().map(|m| m.info().name.clone()).collect();

    let bar = progress::bar(cases.len() as u64);
    let mut measured = Vec::with_capacity(cases.len());
    for case in &cases {
        bar.set_message(case.label());
        measured.push(runner::measure(
            case,
            &backend,
            &first,
            machine.llc_bytes,
            args.iters,
            fitted.as_ref().map(|f| f.0.model),
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Probe again: on a shared machine one probe can come out low; the higher of the two is the
    // better estimate of what the device can do.
    let second = probe(&backend)?;
    let peaks = Peaks {
        f32_gflops: first.f32_gflops.max(second.f32_gflops),
        read_gbps: first.read_gbps.max(second.read_gbps),
        f16_gflops: match (first.f16_gflops, second.f16_gflops) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        read_probe: if second.read_gbps > first.read_gbps { second.read_probe } else { first.read_probe },
    };
    println!(
        "{} ({}): peaks {:.1} GFLOP/s f32 FMA, {:.1} GB/s read (best of 2 probes); LLC {} MiB ({})",
        device.name,
        backend.name(),
        peaks.f32_gflops,
        peaks.read_gbps,
        machine.llc_bytes >> 20,
        machine.llc_source
    );
    let results: Vec<BenchResult> = cases
        .iter()
        .zip(measured)
        .map(|(case, m)| match m {
            Ok(m) => BenchResult::ok(case, &m, &peaks, machine.llc_bytes),
            Err(e) => BenchResult::failed(case, e.to_string()),
        })
        .collect();
    print!("{}", report::table(&results));
    let beyond: Vec<&str> = results
        .iter()
        .filter(|r| r.figures.as_ref().is_some_and(|f| f.pct_bw_peak > 100.0 + PROBE_SLACK_PERCENT))
        .map(|r| r.label.as_str())
        .collect();
    if !beyond.is_empty() {
        println!(
            "warning: {} read faster than the read probe (> {PROBE_SLACK_PERCENT} % over): the probe underestimates \
             this machine's bandwidth, a probe bug to report",
            beyond.join(", ")
        );
    }
    if meters.is_empty() {
        println!("energy: modelled (no energy meter; EnergyModel defaults, see `edgehal devices`)");
    } else {
        println!("energy: meters {} (windows of >= 10 update periods after the timed runs)", meters.join(", "));
    }
    println!("{energy_model}");
    if let Some(path) = &args.plot {
        plot::write(path, &results, &peaks, &format!("{} ({})", device.name, backend.name()))?;
    }

    if let Some(path) = &args.json {
        let report = BenchReport {
            machine: &machine,
            device: &device,
            peaks: &peaks,
            probes: &[first, second],
            preset: &preset,
            energy_meters: &meters,
            energy_model: &energy_model,
            results: &results,
        };
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(format!("JSON: {e}")))?;
        write_file(path, text + "\n")?;
    }
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        eprintln!("error: {failed} of {} benchmarks failed", results.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
