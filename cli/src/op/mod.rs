//! `edgehal op`: run one op on user-supplied tensors and write the result.

mod params;
mod spec;

use crate::backends;
use crate::error::{CliError, Result, write_file};
use crate::inputs::InputSpec;
use edgehal::{Graph, Policy, Session, Tensor};
use params::Params;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `edgehal op`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = op_help())]
pub struct OpArgs {
    /// The op to run (see the list below).
    pub op: String,
    /// Backend to run it on.
    #[arg(long, short, default_value = "cpu")]
    pub backend: String,
    /// An op parameter as key=value (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// An input, in the op's order: FILE.npy (f32, f16, i32, i64; C order) or raw GGUF block bytes
    /// as FILE:FORMAT:ROWSxCOLS (e.g. w.bin:q4_0:4096x4096). Repeatable.
    #[arg(long = "in", short = 'i', value_name = "FILE", required = true)]
    pub inputs: Vec<String>,
    /// Where to write the result: FILE.npy (f32; f16 and i32 results keep their dtype) or any other
    /// name for the raw output bytes.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

/// The list of ops, inputs and parameters shown by `edgehal op --help`.
fn op_help() -> String {
    let mut s = String::from("Ops (inputs; parameters with defaults):\n");
    for o in spec::OPS {
        let mut inputs = o.inputs.join(", ");
        if !o.optional.is_empty() {
            inputs += &format!(" [, {}]", o.optional.join(", "));
        }
        let params: Vec<String> = o.params.iter().map(|(k, d)| format!("{k}={d}")).collect();
        s += &format!("  {:<11} {inputs}", o.name);
        if !params.is_empty() {
            s += &format!("; {}", params.join(", "));
        }
        s.push('\n');
    }
    s += "\nAttention: query row i sits at absolute position t - s + i.\n";
    s
}

/// Runs the command.
pub fn run(args: &OpArgs) -> Result<ExitCode> {
    let spec = spec::find(&args.op)?;
    let params = Params::parse(spec.name, &args.params, &spec.param_names())?;
    let op = spec.build(&params)?;
    spec.check_input_count(args.inputs.len())?;
    let specs = args.inputs.iter().map(|a| InputSpec::parse(a)).collect::<Result<Vec<_>>>()?;
    let backend = backends::create(&args.backend)?;

    let mut graph = Graph::new();
    let mut ids = Vec::with_capacity(specs.len());
    for (i, input) in specs.iter().enumerate() {
        let tensor = input.load()?;
        let name = spec.inputs.iter().chain(spec.optional).nth(i).map_or("input", |n| first_word(n));
        ids.push(graph.weight(name, tensor));
    }
    let y = graph.op(op, &ids)?;
    graph.output(y)?;
    let mut session = Session::new(graph, vec![backend], Policy::strict())?;
    let outputs = session.run(&[])?;
    let result = outputs.at(0).ok_or_else(|| CliError::Usage("the op produced no output".into()))?;
    write_output(&args.out, result)?;
    println!("{}: wrote {} ({} {:?})", spec.name, args.out.display(), out_dtype(&args.out, result), result.shape());
    Ok(ExitCode::SUCCESS)
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or(s)
}

fn is_npy(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The dtype the file will hold.
fn out_dtype(path: &std::path::Path, t: &Tensor) -> String {
    match t.dtype() {
        d @ (edgehal::DType::F32 | edgehal::DType::F16 | edgehal::DType::I32) => d.to_string(),
        d if is_npy(path) => format!("f32 from {d}"),
        d => format!("raw {d}"),
    }
}

fn write_output(path: &std::path::Path, t: &Tensor) -> Result<()> {
    if is_npy(path) { crate::npy::write(path, t) } else { write_file(path, t.bytes()) }
}
