//! Peak probes run through QNN itself: a matmul graph for the multiply-add rate and an
//! element-wise add over a large tensor for the memory bandwidth (bytes read plus written). On
//! x86-64 the HTP library is a simulator: its figures describe the simulation, not a Hexagon NPU.

use crate::backend::QnnBackend;
use crate::desc::{QnnDType, QnnGraphDesc, QnnOp, QnnTensor, TensorRole};
use crate::lower::PACKAGE;
use crate::runtime::CompileOptions;
use edgehal::{Peaks, Result};
use std::time::{Duration, Instant};

fn tensor(name: &str, role: TensorRole, dims: &[u32]) -> QnnTensor {
    QnnTensor { name: name.into(), role, dtype: QnnDType::F32, quant: None, dims: dims.to_vec(), data: None }
}

/// A graph `y = op(a, b)` over f32 inputs.
fn binary_graph(name: &str, type_name: &str, a: &[u32], b: &[u32], y: &[u32]) -> QnnGraphDesc {
    QnnGraphDesc {
        name: name.into(),
        tensors: vec![
            tensor("a", TensorRole::Input, a),
            tensor("b", TensorRole::Input, b),
            tensor("y", TensorRole::Output, y),
        ],
        ops: vec![QnnOp {
            name: "op".into(),
            package: PACKAGE.into(),
            type_name: type_name.into(),
            params: Vec::new(),
            inputs: vec![0, 1],
            outputs: vec![2],
        }],
        inputs: vec![0, 1],
        outputs: vec![2],
    }
}

/// Median seconds of one execution of `desc` (after a warm-up), repeated for about half a second.
fn time_graph(backend: &QnnBackend, desc: &QnnGraphDesc) -> Result<f64> {
    let options =
        CompileOptions { profiling: false, htp_fp16_precision: backend.runtime().kind() == crate::QnnBackendKind::Htp };
    let mut graph = backend.runtime().compile(desc, &options)?;
    let (inputs, mut outputs) = crate::trial::made_up_buffers(desc);
    let ins: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut run = || -> Result<f64> {
        let mut outs: Vec<&mut [u8]> = outputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let t = Instant::now();
        graph.execute(&ins, &mut outs)?;
        Ok(t.elapsed().as_secs_f64())
    };
    run()?;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 3 || (start.elapsed() < Duration::from_millis(500) && times.len() < 50) {
        times.push(run()?);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Measures the multiply-add rate (a 256×256×256 MatMul) and the bandwidth (a 4 Mi-element add).
pub(crate) fn measure_peaks(backend: &QnnBackend) -> Result<Peaks> {
    let n = 256u32;
    let mm = binary_graph("probe_matmul", "MatMul", &[n, n], &[n, n], &[n, n]);
    let secs = time_graph(backend, &mm)?;
    let f32_gflops = 2.0 * (n as f64).powi(3) / secs / 1e9;
    // 4 Mi elements as [1, 1, 1024, 4096]: HTP cannot place a flat 4 Mi-element tensor.
    let dims = [1, 1, 1024, 4096];
    let len = 4u32 << 20;
    let add = binary_graph("probe_add", "ElementWiseAdd", &dims, &dims, &dims);
    let secs = time_graph(backend, &add)?;
    let read_gbps = 3.0 * 4.0 * len as f64 / secs / 1e9;
    let read_probe = edgehal::ReadProbe {
        bytes: 3 * 4 * len as u64,
        llc_bytes: 0,
        threads: 1,
        pattern: "ElementWiseAdd of 4 Mi f32, two inputs read and one output written counted",
        loads: "QNN graph",
        passes: 0,
    };
    Ok(Peaks { f32_gflops, read_gbps, f16_gflops: None, read_probe: Some(read_probe) })
}
