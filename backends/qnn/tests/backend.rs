//! The QNN backends end to end, on Qualcomm's x86-64 libraries from the `onnxruntime-qnn` wheel
//! (`scripts/qnn-libs.sh` fetches them; `EDGEHAL_QNN_LIB_DIR` points at them). Without the
//! libraries these tests say so and pass, unless `EDGEHAL_QNN_REQUIRED` is set (CI sets it).

use edgehal::conform::{self, Report, Status, Suite};
use edgehal::{
    AttentionOp, Backend, CpuBackend, DType, Graph, Policy, Position, RopeMode, RunOptions, Session, Tensor,
};
use edgehal_qnn::{QnnBackend, QnnBackendKind, QnnOptions};
use std::sync::Arc;

/// The backend, or `None` (with the reason printed) where the libraries are absent and not required.
fn backend(kind: QnnBackendKind, options: Option<QnnOptions>) -> Option<QnnBackend> {
    let options = options.unwrap_or_else(|| QnnOptions::from_env(kind));
    match QnnBackend::with_options(kind, options) {
        Ok(b) => Some(b),
        Err(e) if std::env::var_os("EDGEHAL_QNN_REQUIRED").is_none() => {
            eprintln!(
                "skipping {}: {e} (set EDGEHAL_QNN_LIB_DIR; scripts/qnn-libs.sh fetches the libraries)",
                kind.name()
            );
            None
        }
        Err(e) => panic!("{} must load (EDGEHAL_QNN_REQUIRED is set): {e}", kind.name()),
    }
}

fn conformance(kind: QnnBackendKind, suite: Suite, tag: &str) -> Option<Report> {
    let b = Arc::new(backend(kind, None)?);
    let report = conform::run(&suite, b, &mut |_, _, _| {});
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{}-{tag}.md", kind.name())), report.to_markdown());
    let _ = std::fs::write(dir.join(format!("{}-{tag}.json", kind.name())), report.to_json());
    Some(report)
}

/// Every case the backend takes must pass, special values included; declining is allowed (NPUs
/// take what they support), but each of `must_run` must have cases that ran and passed.
fn assert_supported_cases_pass(report: &Report, must_run: &[&str]) {
    let name = report.backend.backend.as_str();
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .map(|c| format!("{} {}: {}", c.info.id, c.status, c.message.clone().unwrap_or_default()))
        .collect();
    let passed = report.cases.iter().filter(|c| c.status == Status::Pass).count();
    eprintln!("{name}: {passed} passed of {} cases; {} failed", report.cases.len(), bad.len());
    assert!(bad.is_empty(), "{} of {} cases failed on {name}:\n{}", bad.len(), report.cases.len(), bad.join("\n"));
    for op in must_run {
        let ran = report.cases.iter().filter(|c| c.info.op == *op && c.status == Status::Pass).count();
        assert!(ran > 0, "no {op} case ran on {name}");
        eprintln!("{name}: {op}: {ran} cases passed");
    }
}

const CORE_OPS: [&str; 6] = ["matmul", "softmax", "rms_norm", "add", "permute", "attention"];

#[test]
fn qnn_cpu_passes_the_quick_suite_on_what_it_supports() {
    if let Some(r) = conformance(QnnBackendKind::Cpu, Suite::quick(), "quick") {
        assert_supported_cases_pass(&r, &CORE_OPS);
    }
}

#[test]
fn qnn_htp_passes_the_quick_suite_on_what_it_supports() {
    if let Some(r) = conformance(QnnBackendKind::Htp, Suite::quick(), "quick") {
        assert_supported_cases_pass(&r, &["matmul", "softmax", "add", "permute", "attention"]);
    }
}

fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i + seed) * 2654435761usize % 1000) as f32 / 500.0) - 1.0).collect()
}

/// matmul (Q8_0) → rope (QNN declines it) → softmax, plus decode attention over a KV cache.
fn decoder_graph() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, 2, 4, 32]).unwrap();
    let w = g.weight("w", Tensor::from_f32_as(DType::Q8_0, [32, 32], &values(1024, 7)).unwrap());
    let h = g.matmul(x, w).unwrap();
    let r = g.rope(h, 10000.0, RopeMode::Neox, Position::Fixed(3)).unwrap();
    let k = g.weight("k", Tensor::from_f32([1, 1, 8, 32], &values(256, 11)).unwrap());
    let v = g.weight("v", Tensor::from_f32([1, 1, 8, 32], &values(256, 13)).unwrap());
    let a = g.attention(r, k, v, None, AttentionOp { past: Some(Position::Fixed(4)), ..Default::default() }).unwrap();
    let y = g.softmax(a).unwrap();
    let y = g.name(y, "y").unwrap();
    g.output(y).unwrap();
    g
}

#[test]
fn a_declined_op_falls_back_to_the_cpu_with_transfers() {
    let Some(qnn) = backend(QnnBackendKind::Cpu, None) else { return };
    let x = Tensor::from_f32([1, 2, 4, 32], &values(256, 1)).unwrap();
    let opts = RunOptions { profile: true, poison_outputs: true, ..Default::default() };
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::with_threads(2).unwrap());
    let mut reference = Session::new(decoder_graph(), vec![cpu.clone()], Policy::default()).unwrap();
    let want = reference.run_with(&[("x", &x)], &opts).unwrap().get("y").unwrap().to_f32_vec().unwrap();

    let mut mixed = Session::new(decoder_graph(), vec![Arc::new(qnn), cpu], Policy::default()).unwrap();
    let placed: Vec<&str> = mixed.plan().partitions.iter().map(|p| p.backend.as_str()).collect();
    assert_eq!(placed, ["qnn-cpu", "cpu", "qnn-cpu"], "QNN first, the declined rope on the CPU");
    let got = mixed.run_with(&[("x", &x)], &opts).unwrap().get("y").unwrap().to_f32_vec().unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-4 + 1e-3 * w.abs(), "y[{i}]: qnn+cpu {g}, cpu {w}");
    }
    let profile = mixed.last_profile().unwrap();
    assert_eq!(profile.transfers.len(), 2, "into the CPU and back: {:?}", profile.transfers);
    assert_eq!(profile.records.iter().filter(|r| r.backend == "qnn-cpu").count(), 3);
}

#[test]
fn a_context_binary_round_trips_through_the_cache_directory() {
    let dir = std::env::temp_dir().join(format!("edgehal-qnn-ctx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || QnnOptions { context_cache: Some(dir.clone()), ..QnnOptions::from_env(QnnBackendKind::Cpu) };
    let Some(first) = backend(QnnBackendKind::Cpu, Some(options())) else { return };
    let first = Arc::new(first);
    let x = Tensor::from_f32([1, 2, 4, 32], &values(256, 5)).unwrap();
    let run = |b: Arc<QnnBackend>| {
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::with_threads(1).unwrap());
        let mut s = Session::new(decoder_graph(), vec![b, cpu], Policy::default()).unwrap();
        s.run(&[("x", &x)]).unwrap().get("y").unwrap().to_f32_vec().unwrap()
    };
    let a = run(first.clone());
    let stats = first.context_stats();
    assert_eq!((stats.compiled, stats.saved, stats.loaded), (2, 2, 0), "{stats:?}");
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 2, "one context binary per partition");

    let second = Arc::new(backend(QnnBackendKind::Cpu, Some(options())).unwrap());
    let b = run(second.clone());
    let stats = second.context_stats();
    assert_eq!((stats.compiled, stats.loaded), (0, 2), "{stats:?}");
    assert_eq!(a, b, "the loaded binary computes what the compiled graph did");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn htp_cycles_reach_the_profile() {
    let Some(htp) = backend(QnnBackendKind::Htp, None) else { return };
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[8, 64]).unwrap();
    let w = g.weight("w", Tensor::from_f32([32, 64], &values(2048, 3)).unwrap());
    let h = g.matmul(x, w).unwrap();
    let y = g.softmax(h).unwrap();
    g.output(y).unwrap();
    let mut s = Session::new(g, vec![Arc::new(htp)], Policy::default()).unwrap();
    let x = Tensor::from_f32([8, 64], &values(512, 9)).unwrap();
    let opts = RunOptions { profile: true, ..Default::default() };
    s.run_with(&[("x", &x)], &opts).unwrap();
    let profile = s.last_profile().unwrap();
    assert_eq!(profile.records.len(), 2);
    for r in &profile.records {
        assert!(r.device_cycles.is_some_and(|c| c > 0), "{} has no HTP cycles: {:?}", r.node, profile.records);
        // Energy comes from the cycles (device time), not from the simulator's wall time.
        let npu = edgehal::energy::EnergyModel::for_kind(edgehal::DeviceKind::Npu);
        let class = edgehal::energy::ComputeClass::F32; // f32 operands
        let device_s = r.device_cycles.unwrap() as f64 / edgehal::energy::model::NPU_CLOCK_HZ;
        let bytes = r.cost.bytes_read + r.cost.bytes_written;
        let expect = npu.joules(r.cost.flops, class, bytes, device_s);
        assert_eq!(r.energy.label, edgehal::energy::EnergyLabel::Modelled);
        assert!((r.energy.joules - expect).abs() <= 1e-12 * expect.max(1.0), "{} {:?} vs {expect}", r.node, r.energy);
    }
    let trace = profile.to_chrome_trace().to_string();
    assert!(trace.contains("device_cycles") && trace.contains("energy_j"));
}
