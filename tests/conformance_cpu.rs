//! The conformance suite on the built-in CPU backend, and proof that the suite can fail: toy
//! backends wrapping the CPU that corrupt, poison, skip, waver, refuse or panic must be caught.

use edgehal::conform::{self, CaseResult, Report, Status, Suite, ToleranceProfile};
use edgehal::{
    Backend, Bindings, CpuBackend, DeviceBuffer, DeviceInfo, Executable, Graph, NodeId, NodeTiming, Op, Partition,
    Peaks, Result, Support, Tensor, TensorDesc,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

fn cpu() -> Arc<dyn Backend> {
    Arc::new(CpuBackend::new().expect("cpu backend"))
}

fn run(suite: &Suite, backend: Arc<dyn Backend>) -> Report {
    conform::run(suite, backend, &mut |_, _, _: &CaseResult| {})
}

/// CI can keep the reports: `EDGEHAL_CONFORM_REPORT_DIR=dir cargo test --test conformance_cpu`.
fn keep_reports(report: &Report) {
    if let Ok(dir) = std::env::var("EDGEHAL_CONFORM_REPORT_DIR") {
        std::fs::create_dir_all(&dir).expect("report directory");
        let path = |ext: &str| std::path::Path::new(&dir).join(format!("conform-cpu-{}.{ext}", report.suite));
        std::fs::write(path("json"), report.to_json()).expect("write json");
        std::fs::write(path("xml"), report.to_junit_xml()).expect("write junit");
        std::fs::write(path("md"), report.to_markdown()).expect("write markdown");
    }
}

#[test]
fn quick_suite_passes_on_the_cpu_backend() {
    let suite = Suite::quick();
    let report = conform::run(&suite, cpu(), &mut |done, total, c| {
        if c.status != Status::Pass || c.duration_ms > 500.0 {
            let msg = c.message.as_deref().unwrap_or("");
            eprintln!("[{done}/{total}] {} {} {:.0} ms {msg}", c.info.id, c.status, c.duration_ms);
        }
    });
    eprintln!("{} cases in {:.1} s", report.summary.total, report.duration_s);
    keep_reports(&report);
    if report.failed() + report.unsupported() > 0 {
        eprintln!("{}", report.to_markdown());
    }
    assert_eq!(report.summary.total, suite.len());
    assert_eq!(report.failed(), 0, "conformance failures on the CPU backend");
    assert_eq!(report.unsupported(), 0, "the CPU backend supports every op");
    assert!(report.cases.iter().all(|c| c.deterministic == Some(true)));
}

/// The full suite (LLM-sized shapes); about a minute in release mode on 2 cores.
#[test]
#[ignore]
fn full_suite_passes_on_the_cpu_backend() {
    let report = conform::run(&Suite::full(), cpu(), &mut |done, total, c| {
        if c.status != Status::Pass || c.duration_ms > 2000.0 {
            eprintln!(
                "[{done}/{total}] {} {} {:.0} ms {}",
                c.info.id,
                c.status,
                c.duration_ms,
                c.message.as_deref().unwrap_or("")
            );
        }
    });
    eprintln!("{} cases in {:.1} s", report.summary.total, report.duration_s);
    keep_reports(&report);
    if report.failed() + report.unsupported() > 0 {
        eprintln!("{}", report.to_markdown());
    }
    assert_eq!(report.failed(), 0, "conformance failures on the CPU backend");
    assert_eq!(report.unsupported(), 0, "the CPU backend supports every op");
}

/// How a toy backend misbehaves.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Fault {
    /// Changes one output element far beyond any tolerance (the loosest, matmul with 8-bit
    /// activations, allows about `k/127·mean|w|·amax|x|`).
    Corrupt,
    /// Replaces the first output element by NaN.
    Nan,
    /// Changes one output element by one ulp on every second download.
    Nondeterministic,
    /// Never runs the kernels (outputs stay as the session poisoned them).
    Skip,
    /// Refuses matmul nodes.
    NoMatmul,
    /// Panics when run.
    Panic,
}

/// The CPU backend with a fault.
struct Faulty {
    inner: CpuBackend,
    fault: Fault,
    downloads: AtomicUsize,
}

struct FaultyExecutable {
    inner: Box<dyn Executable>,
    fault: Fault,
}

impl Executable for FaultyExecutable {
    fn run(&mut self, bindings: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        match self.fault {
            Fault::Skip => Ok(Vec::new()),
            Fault::Panic => panic!("toy backend panics on purpose"),
            _ => self.inner.run(bindings, position, profile),
        }
    }
    fn scratch_bytes(&self) -> u64 {
        self.inner.scratch_bytes()
    }
    fn constant_bytes(&self) -> u64 {
        self.inner.constant_bytes()
    }
}

impl Backend for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }
    fn device(&self) -> DeviceInfo {
        self.inner.device()
    }
    fn measure_peaks(&self) -> Result<Peaks> {
        self.inner.measure_peaks()
    }
    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        if self.fault == Fault::NoMatmul && graph.node(node).op == Op::MatMul {
            return Support::No("toy backend without matmul".into());
        }
        self.inner.supports(graph, node)
    }
    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        Ok(Box::new(FaultyExecutable { inner: self.inner.compile(graph, partition)?, fault: self.fault }))
    }
    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        self.inner.allocate(desc)
    }
    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        self.inner.upload(dst, src)
    }
    fn tolerance_profile(&self) -> edgehal::conform::ToleranceProfile {
        self.inner.tolerance_profile()
    }
    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        let mut t = self.inner.download(src)?;
        let count = self.downloads.fetch_add(1, Ordering::Relaxed);
        let Some(values) = t.as_f32_mut() else { return Ok(t) };
        let Some(mid) = values.len().checked_sub(1).map(|last| last.div_ceil(2)) else { return Ok(t) };
        let v = values[mid];
        match self.fault {
            Fault::Corrupt => values[mid] = if v.is_finite() { v + 1e3 * (1.0 + v.abs()) } else { 0.0 },
            Fault::Nan => values[0] = f32::NAN,
            Fault::Nondeterministic if count % 2 == 1 => {
                values[mid] = if v.is_nan() { 0.0 } else { f32::from_bits(v.to_bits() ^ 1) }
            }
            _ => {}
        }
        Ok(t)
    }
}

fn faulty(fault: Fault) -> Arc<dyn Backend> {
    Arc::new(Faulty { inner: CpuBackend::new().expect("cpu backend"), fault, downloads: AtomicUsize::new(0) })
}

/// Quick cases of ops with f32 outputs, small enough to run many times, that the CPU backend
/// itself passes (so each toy test sees only the effect of its own fault).
fn small_f32_suite() -> Suite {
    static PASSING: OnceLock<Vec<String>> = OnceLock::new();
    let ops = ["matmul", "attention", "softmax", "rms_norm", "rope", "add", "gelu"];
    let suite = Suite::quick().filter(|c| ops.contains(&c.op.as_str()) && c.family != "gemv");
    let passing = PASSING.get_or_init(|| {
        let baseline = run(&suite, cpu());
        baseline.cases.iter().filter(|c| c.status == Status::Pass).map(|c| c.info.id.clone()).collect()
    });
    assert!(passing.len() > suite.len() / 2, "the CPU backend fails most of the toy tests' cases");
    suite.filter(|c| passing.contains(&c.id))
}

fn assert_every_case(report: &Report, status: Status) {
    for c in &report.cases {
        assert_eq!(c.status, status, "case {} should be {status}: {:?}", c.info.id, c.message);
    }
    assert!(!report.cases.is_empty());
}

#[test]
fn a_corrupted_element_fails_every_case() {
    let report = run(&small_f32_suite(), faulty(Fault::Corrupt));
    assert_every_case(&report, Status::Fail);
    assert_eq!(report.failed(), report.summary.total);
    for c in &report.cases {
        assert!(c.bad_elements >= 1 && c.max_ratio.unwrap() > 1.0, "{}", c.info.id);
        assert!(c.worst.is_some(), "{}", c.info.id);
    }
}

#[test]
fn a_nan_output_fails_every_case() {
    let report = run(&small_f32_suite(), faulty(Fault::Nan));
    assert_every_case(&report, Status::Fail);
    for c in &report.cases {
        let worst = c.worst.as_ref().unwrap();
        assert!(worst.got.is_nan() && !worst.reference.is_nan(), "{}: {worst:?}", c.info.id);
        assert_eq!(worst.index.iter().sum::<usize>(), 0, "{}", c.info.id);
    }
}

#[test]
fn skipped_kernels_leave_poison_and_fail() {
    assert_every_case(&run(&small_f32_suite(), faulty(Fault::Skip)), Status::Fail);
}

#[test]
fn one_ulp_of_nondeterminism_fails() {
    let report = run(&small_f32_suite(), faulty(Fault::Nondeterministic));
    assert_every_case(&report, Status::Fail);
    for c in &report.cases {
        assert!(c.deterministic == Some(false) && c.bad_elements == 0, "{}: {:?}", c.info.id, c);
    }
}

#[test]
fn unsupported_ops_are_reported_as_such_not_as_failures() {
    let suite = small_f32_suite().filter(|c| c.op == "matmul" || c.op == "softmax");
    let report = run(&suite, faulty(Fault::NoMatmul));
    let matmuls = suite.cases().filter(|c| c.op == "matmul").count();
    assert_eq!(report.unsupported(), matmuls);
    assert_eq!(report.failed(), 0);
    assert_eq!(report.passed(), report.summary.total - matmuls);
    let c = report.cases.iter().find(|c| c.status == Status::Unsupported).unwrap();
    assert!(c.message.as_deref().unwrap().contains("toy backend without matmul"), "{:?}", c.message);
}

#[test]
fn a_panicking_backend_is_an_error_not_a_crash() {
    let report = run(&small_f32_suite().filter(|c| c.op == "softmax"), faulty(Fault::Panic));
    assert_every_case(&report, Status::Error);
    assert!(report.cases[0].message.as_deref().unwrap().contains("panics on purpose"));
}

#[test]
fn reports_round_trip_and_show_failures() {
    let suite = small_f32_suite().filter(|c| c.op == "softmax" || c.op == "add");
    let report = run(&suite, faulty(Fault::Corrupt));
    let json = report.to_json();
    let back = Report::from_json(&json).expect("the JSON reads back");
    assert_eq!(back.summary, report.summary);
    assert_eq!(back.backend, report.backend);
    assert_eq!(back.profile, report.profile);
    for (b, c) in back.cases.iter().zip(&report.cases) {
        assert_eq!((&b.info, b.status, b.bad_elements, &b.message), (&c.info, c.status, c.bad_elements, &c.message));
        assert_eq!(b.max_ratio.map(f64::is_finite), c.max_ratio.map(f64::is_finite));
    }

    let xml = report.to_junit_xml();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<testcase ").count(), report.summary.total);
    assert_eq!(xml.matches("<failure ").count(), report.summary.failed);
    assert_eq!(xml.matches("<testsuite ").count(), 2);

    let md = report.to_markdown();
    assert!(md.contains("**FAIL**"));
    assert!(md.contains("| softmax | f32 |"));
    assert!(md.contains("## Failures"));
    assert_eq!(md.matches("### `").count(), report.failed());
}

#[test]
fn the_8_bit_activation_allowance_is_what_lets_quantized_matmul_pass() {
    // The CPU quantizes x to 8 bits for quant weights in its GEMV (up to 3 rows) and in its
    // AVX-512 VNNI GEMM; judged as if it did not, those cases must fail. Elsewhere the GEMM
    // decodes the weights to f32 and keeps x in f32, so the strict profile passes there.
    let suite = Suite::quick().filter_op("matmul").filter(|c| c.family == "odd" || c.family == "gemv");
    let q4 = suite.clone().filter_dtype("q4_0");
    assert_eq!(run(&q4, cpu()).failed(), 0);
    let strict = run(&q4.with_profile(ToleranceProfile::strict()), cpu());
    let vnni_gemm = cpu().device().features.iter().any(|f| f == "matmul:avx512-vnni");
    let rows = |c: &CaseResult| c.info.shapes[0].iter().rev().skip(1).product::<usize>();
    assert!(strict.cases.iter().any(|c| rows(c) <= 3), "the suite has GEMV cases");
    for c in &strict.cases {
        let failed = matches!(c.status, Status::Fail);
        assert_eq!(failed, rows(c) <= 3 || vnni_gemm, "{}: {:?}\n{}", c.info.id, c.status, strict.to_markdown());
    }
    // Float weights pass the strict profile: no allowance is needed there.
    let f32_weights = suite.filter_dtype("f32").filter(|c| c.dtype.starts_with("w=f32"));
    let report = run(&f32_weights.with_profile(ToleranceProfile::strict()), cpu());
    assert!(report.summary.total > 0);
    assert_eq!(report.failed(), 0, "{}", report.to_markdown());
}

#[test]
fn a_passing_report_says_so() {
    let suite = Suite::quick().filter_op("dequantize").filter_dtype("q4_k");
    let report = run(&suite, cpu());
    assert_eq!(report.failed(), 0, "{}", report.to_markdown());
    assert!(report.to_markdown().contains("**PASS**"));
    assert!(!report.to_junit_xml().contains("<failure"));
    let dtypes: Vec<&str> = report.cases.iter().map(|c| c.info.dtype.as_str()).collect();
    assert!(dtypes.contains(&"q4_k->f32") && dtypes.contains(&"q4_k->f16"), "{dtypes:?}");
    assert!(dtypes.iter().all(|d| d.starts_with("q4_k->")), "{dtypes:?}");
}
