//! `edgehal conform`: the conformance suite of `edgehal::conform` against one backend, with a
//! progress bar, the markdown summary on stdout and JSON / JUnit / markdown reports on request.

use crate::backends;
use crate::error::{CliError, Result, write_file};
use crate::progress;
use edgehal::Op;
use edgehal::conform::{self, Status, Suite};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `edgehal conform`.
#[derive(clap::Args, Debug)]
pub struct ConformArgs {
    /// Backend to check.
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// Only cases of this op.
    #[arg(long)]
    pub op: Option<String>,
    /// Only cases whose dtypes mention this one (e.g. q4_k).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Suite size: quick (seconds) or full (LLM-sized shapes, minutes).
    #[arg(long, value_enum, default_value = "quick")]
    pub level: Level,
    /// Seed all case data derive from (default: the suite's fixed seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the report as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the markdown summary to this file (it is always printed).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// List the selected cases and exit.
    #[arg(long)]
    pub list: bool,
}

/// Suite size.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Level {
    /// Every op, dtype and shape family at small sizes.
    Quick,
    /// The quick cases plus LLM-sized shapes and rarer combinations.
    Full,
}

fn suite(args: &ConformArgs) -> Result<Suite> {
    let mut suite = match args.level {
        Level::Quick => Suite::quick(),
        Level::Full => Suite::full(),
    };
    if let Some(op) = &args.op {
        if !Op::NAMES.contains(&op.as_str()) {
            return Err(CliError::unknown("op", op, Op::NAMES));
        }
        suite = suite.filter_op(op);
    }
    if let Some(dtype) = &args.dtype {
        if edgehal::DType::from_name(dtype).is_none() {
            return Err(CliError::unknown("dtype", dtype, edgehal::DType::ALL.iter().map(|d| d.name())));
        }
        suite = suite.filter_dtype(dtype);
    }
    if let Some(seed) = args.seed {
        suite = suite.with_seed(seed);
    }
    if suite.is_empty() {
        return Err(CliError::Usage(format!("the {} suite has no case matching --op / --dtype", suite.name())));
    }
    Ok(suite)
}

/// Runs the command.
pub fn run(args: &ConformArgs) -> Result<ExitCode> {
    let suite = suite(args)?;
    if args.list {
        for case in suite.cases() {
            println!("{}", case.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let backend = backends::create(&args.backend)?;
    let bar = progress::bar(suite.len() as u64);
    // The runner catches backend panics and records them as case errors; keep them off stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let report = conform::run(&suite, backend, &mut |done, _total, case| {
        bar.set_position(done as u64);
        bar.set_message(case.info.id.clone());
        if matches!(case.status, Status::Fail | Status::Error) {
            bar.println(format!("{} {}: {}", case.status, case.info.id, case.message.as_deref().unwrap_or("")));
        }
    });
    std::panic::set_hook(hook);
    bar.finish_and_clear();

    let markdown = report.to_markdown();
    print!("{markdown}");
    if let Some(path) = &args.json {
        write_file(path, report.to_json())?;
    }
    if let Some(path) = &args.junit {
        write_file(path, report.to_junit_xml())?;
    }
    if let Some(path) = &args.markdown {
        write_file(path, &markdown)?;
    }
    let failed = report.failed();
    if failed > 0 {
        eprintln!("error: {failed} of {} conformance cases failed on {}", report.summary.total, args.backend);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
