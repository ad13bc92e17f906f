//! Trial runs behind `supports`: QNN's `backendValidateOpConfig` accepts some ops that the library
//! then cannot prepare or run (on the x86-64 HTP simulator: RmsNorm and Gelu fail in
//! `graphFinalize` with "no properties registered", LayerNorm fails in `graphExecute` when
//! profiling). So a node that validates is also finalized and executed once, alone, on made-up
//! inputs, and the answer is remembered per graph signature (op types, params, dtypes, dims), so
//! each distinct node shape is tried once. Nodes whose weights exceed [`TRIAL_WEIGHT_LIMIT`] are
//! not tried (validation decides), to keep `supports` cheap on full-size models.

use crate::desc::{ParamValue, QnnDType, QnnGraphDesc, QnnTensor, TensorRole};
use crate::runtime::{CompileOptions, QnnRuntime};
use edgehal::Support;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Weight bytes above which a node is not tried.
pub const TRIAL_WEIGHT_LIMIT: usize = 16 << 20;

/// Remembered trial answers.
#[derive(Default)]
pub(crate) struct Trials {
    answers: Mutex<HashMap<String, Support>>,
}

/// What identifies a graph for the trial: everything but the weight bytes and names.
fn signature(desc: &QnnGraphDesc) -> String {
    let mut s = String::new();
    for t in &desc.tensors {
        s.push_str(&format!("{:?}{:?}{:?};", t.role, t.dtype, t.dims));
        if t.role == TensorRole::Static && !t.name.starts_with('w') {
            s.push_str(&format!("{:?};", t.data));
        }
    }
    for op in &desc.ops {
        s.push_str(&format!("{}{:?}{:?}", op.type_name, op.inputs, op.outputs));
        for (k, v) in &op.params {
            match v {
                ParamValue::Scalar(x) => s.push_str(&format!("{k}={x:?}")),
                ParamValue::Tensor(t) => s.push_str(&format!("{k}=t{t}")),
            }
        }
    }
    s
}

/// Plausible bytes for tensor `t` (small non-zero values).
fn filler(t: &QnnTensor) -> Vec<u8> {
    let count = t.bytes() / t.dtype.size();
    let value = |i: usize| 0.125 + (i % 7) as f32 * 0.0625;
    match t.dtype {
        QnnDType::F32 => (0..count).flat_map(|i| value(i).to_le_bytes()).collect(),
        QnnDType::F16 => (0..count).flat_map(|i| half::f16::from_f32(value(i)).to_le_bytes()).collect(),
        QnnDType::Bool8 => vec![1; count],
        other => vec![0; count * other.size()],
    }
}

impl Trials {
    /// Whether the one-node graph `desc` (weights without bytes) finalizes and runs.
    pub fn check(&self, runtime: &Arc<QnnRuntime>, desc: &QnnGraphDesc, options: &CompileOptions) -> Support {
        let weight_bytes: usize =
            desc.tensors.iter().filter(|t| t.role == TensorRole::Static && t.data.is_none()).map(|t| t.bytes()).sum();
        if weight_bytes > TRIAL_WEIGHT_LIMIT {
            return Support::Yes;
        }
        let key = signature(desc);
        if let Some(s) = self.answers.lock().ok().and_then(|a| a.get(&key).cloned()) {
            return s;
        }
        let answer = match try_run(runtime, desc, options) {
            Ok(()) => Support::Yes,
            Err(e) => Support::No(format!("{} cannot run this node: {e}", runtime.kind().name())),
        };
        if let Ok(mut a) = self.answers.lock() {
            a.insert(key, answer.clone());
        }
        answer
    }
}

/// Made-up input bytes ([`filler`]) and zeroed output buffers for one execution of `desc`.
pub(crate) fn made_up_buffers(desc: &QnnGraphDesc) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let inputs = desc.inputs.iter().map(|&i| filler(&desc.tensors[i])).collect();
    let outputs = desc.outputs.iter().map(|&o| vec![0; desc.tensors[o].bytes()]).collect();
    (inputs, outputs)
}

fn try_run(runtime: &Arc<QnnRuntime>, desc: &QnnGraphDesc, options: &CompileOptions) -> edgehal::Result<()> {
    let mut desc = desc.clone();
    desc.name = "edgehal_trial".into();
    for t in &mut desc.tensors {
        if t.role == TensorRole::Static && t.data.is_none() {
            t.data = Some(Arc::new(filler(t)));
        }
    }
    let mut graph = runtime.compile(&desc, options)?;
    let (inputs, mut outputs) = made_up_buffers(&desc);
    let ins: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut outs: Vec<&mut [u8]> = outputs.iter_mut().map(|v| v.as_mut_slice()).collect();
    graph.execute(&ins, &mut outs)?;
    Ok(())
}
