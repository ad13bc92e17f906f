//! The QNN runtime against Qualcomm's real libraries (the `onnxruntime-qnn` wheel's libQnnCpu.so
//! and libQnnHtp.so, the latter being the HTP simulator on x86-64): hand-built graphs compiled,
//! executed and compared with f64 references, context binaries round-tripped, HTP profiling, and
//! the typed errors.
//!
//! The libraries are found through `EDGEHAL_QNN_LIB_DIR` (see `scripts/qnn-libs.sh`). Without it
//! the library tests print why and pass, unless `EDGEHAL_QNN_REQUIRED` is set (as in CI), where
//! they fail. Set `EDGEHAL_QNN_LOG=1` to see what the libraries log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use edgehal_qnn::desc::{ParamValue, QnnDType, QnnGraphDesc, QnnOp, QnnTensor, Scalar, TensorRole};
use edgehal_qnn::runtime::{CompileOptions, LoadOptions, ProfileUnit, QnnBackendKind, QnnGraph, QnnRuntime};

/// One test at a time talks to the libraries (backends are process-wide state in QNN).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The library directory, or `None` (after saying why) when the tests may skip.
fn lib_dir() -> Option<PathBuf> {
    let required = std::env::var_os("EDGEHAL_QNN_REQUIRED").is_some();
    // Else where scripts/qnn-libs.sh unpacks by default (as the backend's own search does).
    let default = edgehal_qnn::runtime::default_cache_dir().map(PathBuf::into_os_string);
    let why = match std::env::var_os("EDGEHAL_QNN_LIB_DIR").or(default) {
        None => "EDGEHAL_QNN_LIB_DIR is not set".to_string(),
        Some(d) => {
            let d = PathBuf::from(d);
            if d.join("libQnnCpu.so").is_file() && d.join("libQnnHtp.so").is_file() {
                return Some(d);
            }
            format!("{} holds no libQnnCpu.so / libQnnHtp.so (EDGEHAL_QNN_LIB_DIR)", d.display())
        }
    };
    if required {
        panic!("EDGEHAL_QNN_REQUIRED is set but {why} (run scripts/qnn-libs.sh)");
    }
    eprintln!("skipping: {why} (run scripts/qnn-libs.sh and set it)");
    None
}

fn load(kind: QnnBackendKind, dir: &std::path::Path) -> Arc<QnnRuntime> {
    let rt = QnnRuntime::load(kind, &LoadOptions { library: Some(dir.to_path_buf()), log_level: None })
        .unwrap_or_else(|e| panic!("loading {}: {e}", kind.name()));
    eprintln!("{}: {} ({}), build {}", kind.name(), rt.library_path().display(), rt.api_version(), rt.build_id());
    rt
}

/// A small LCG giving values in [-1, 1) away from zero.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let u = ((self.0 >> 40) as f32) / (1u64 << 24) as f32; // [0, 1)
        let v = u * 2.0 - 1.0;
        if v.abs() < 0.05 { v.signum() * 0.05 + v } else { v }
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
}

fn tensor(name: &str, role: TensorRole, dims: &[u32]) -> QnnTensor {
    QnnTensor { name: name.into(), role, dtype: QnnDType::F32, quant: None, dims: dims.to_vec(), data: None }
}

fn op(name: &str, type_name: &str, inputs: Vec<usize>, outputs: Vec<usize>) -> QnnOp {
    QnnOp {
        name: name.into(),
        package: "qti.aisw".into(),
        type_name: type_name.into(),
        params: vec![],
        inputs,
        outputs,
    }
}

fn bytes(v: &[f32]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

/// A test case: a graph, its inputs, and the f64 reference of its one output.
struct Case {
    graph: QnnGraphDesc,
    inputs: Vec<Vec<f32>>,
    reference: Vec<f64>,
}

fn add_case(rng: &mut Lcg) -> Case {
    let (a, b) = (rng.vec(6), rng.vec(6));
    let reference = a.iter().zip(&b).map(|(&x, &y)| x as f64 + y as f64).collect();
    let graph = QnnGraphDesc {
        name: "add".into(),
        tensors: vec![
            tensor("a", TensorRole::Input, &[2, 3]),
            tensor("b", TensorRole::Input, &[2, 3]),
            tensor("y", TensorRole::Output, &[2, 3]),
        ],
        ops: vec![op("add0", "ElementWiseAdd", vec![0, 1], vec![2])],
        inputs: vec![0, 1],
        outputs: vec![2],
    };
    Case { graph, inputs: vec![a, b], reference }
}

fn matmul_case(rng: &mut Lcg) -> Case {
    let (m, k, n) = (4usize, 8usize, 5usize);
    let x = rng.vec(m * k);
    let w = rng.vec(k * n);
    let mut reference = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            reference[i * n + j] = (0..k).map(|p| x[i * k + p] as f64 * w[p * n + j] as f64).sum();
        }
    }
    let mut weight = tensor("w", TensorRole::Static, &[k as u32, n as u32]);
    weight.data = Some(Arc::new(bytes(&w)));
    let mut mm = op("mm0", "MatMul", vec![0, 1], vec![2]);
    mm.params = vec![
        ("transpose_in0".into(), ParamValue::Scalar(Scalar::Bool(false))),
        ("transpose_in1".into(), ParamValue::Scalar(Scalar::Bool(false))),
    ];
    let graph = QnnGraphDesc {
        name: "matmul".into(),
        tensors: vec![
            tensor("x", TensorRole::Input, &[m as u32, k as u32]),
            weight,
            tensor("y", TensorRole::Output, &[m as u32, n as u32]),
        ],
        ops: vec![mm],
        inputs: vec![0],
        outputs: vec![2],
    };
    Case { graph, inputs: vec![x], reference }
}

fn softmax_case(rng: &mut Lcg) -> Case {
    let (rows, cols) = (3usize, 7usize);
    let x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| v * 3.0).collect();
    let mut reference = vec![0f64; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().fold(f64::MIN, |m, &v| m.max(v as f64));
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        for c in 0..cols {
            reference[r * cols + c] = (row[c] as f64 - max).exp() / sum;
        }
    }
    let mut sm = op("softmax0", "Softmax", vec![0], vec![1]);
    sm.params = vec![("beta".into(), ParamValue::Scalar(Scalar::F32(1.0)))];
    let graph = QnnGraphDesc {
        name: "softmax".into(),
        tensors: vec![
            tensor("x", TensorRole::Input, &[rows as u32, cols as u32]),
            tensor("y", TensorRole::Output, &[rows as u32, cols as u32]),
        ],
        ops: vec![sm],
        inputs: vec![0],
        outputs: vec![1],
    };
    Case { graph, inputs: vec![x], reference }
}

/// Transpose with its `perm` as a static tensor parameter, feeding an add through a native tensor.
fn transpose_add_case(rng: &mut Lcg) -> Case {
    let x = rng.vec(6); // [2, 3]
    let b = rng.vec(6); // [3, 2]
    let mut reference = vec![0f64; 6];
    for i in 0..3 {
        for j in 0..2 {
            reference[i * 2 + j] = x[j * 3 + i] as f64 + b[i * 2 + j] as f64;
        }
    }
    let perm = QnnTensor {
        name: "perm".into(),
        role: TensorRole::Static,
        dtype: QnnDType::U32,
        quant: None,
        dims: vec![2],
        data: Some(Arc::new(bytemuck::cast_slice(&[1u32, 0]).to_vec())),
    };
    let mut tr = op("transpose0", "Transpose", vec![0], vec![2]);
    tr.params = vec![("perm".into(), ParamValue::Tensor(3))];
    let graph = QnnGraphDesc {
        name: "transpose_add".into(),
        tensors: vec![
            tensor("x", TensorRole::Input, &[2, 3]),
            tensor("b", TensorRole::Input, &[3, 2]),
            tensor("xt", TensorRole::Native, &[3, 2]),
            perm,
            tensor("y", TensorRole::Output, &[3, 2]),
        ],
        ops: vec![tr, op("add0", "ElementWiseAdd", vec![2, 1], vec![4])],
        inputs: vec![0, 1],
        outputs: vec![4],
    };
    Case { graph, inputs: vec![x, b], reference }
}

/// Runs `g` on the case's inputs with a NaN-poisoned output buffer.
fn run(g: &mut QnnGraph, case: &Case) -> (Vec<f32>, Option<edgehal_qnn::runtime::ExecProfile>) {
    let inputs: Vec<Vec<u8>> = case.inputs.iter().map(|v| bytes(v)).collect();
    let input_refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut out = bytes(&vec![f32::NAN; case.reference.len()]);
    let profile = g.execute(&input_refs, &mut [out.as_mut_slice()]).unwrap_or_else(|e| panic!("{}: {e}", g.name()));
    (bytemuck::cast_slice::<u8, f32>(&out).to_vec(), profile)
}

fn check(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs() / (1.0 + w.abs());
        assert!(g.is_finite() && err <= tol, "{what}: element {i} = {g}, expected {w} (tolerance {tol})");
        worst = worst.max(err);
    }
    eprintln!("{what}: {} values, worst relative error {worst:.2e} (tolerance {tol:.0e})", got.len());
}

fn options(kind: QnnBackendKind) -> CompileOptions {
    CompileOptions { profiling: false, htp_fp16_precision: kind == QnnBackendKind::Htp }
}

fn tolerance(kind: QnnBackendKind) -> f64 {
    match kind {
        QnnBackendKind::Cpu => 1e-5,
        // f16 arithmetic: 11-bit significands, sums of 8 products.
        QnnBackendKind::Htp => 1e-2,
    }
}

fn graphs_match_reference(kind: QnnBackendKind) {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let rt = load(kind, &dir);
    assert!(rt.api_version().starts_with("core 2."), "{}", rt.api_version());
    let mut rng = Lcg(seed());
    for case in [add_case(&mut rng), matmul_case(&mut rng), softmax_case(&mut rng), transpose_add_case(&mut rng)] {
        let mut g = rt
            .compile(&case.graph, &options(kind))
            .unwrap_or_else(|e| panic!("{}: compiling `{}`: {e}", kind.name(), case.graph.name));
        let (out, profile) = run(&mut g, &case);
        assert!(profile.is_none());
        check(&format!("{} {}", kind.name(), case.graph.name), &out, &case.reference, tolerance(kind));
        // A second execution with fresh inputs reuses the graph.
        let mut again = Lcg(seed() ^ 0x9E37_79B9);
        let case2 = match case.graph.name.as_str() {
            "add" => add_case(&mut again),
            "softmax" => softmax_case(&mut again),
            "transpose_add" => transpose_add_case(&mut again),
            _ => continue, // the matmul's weight is part of the graph
        };
        let (out2, _) = run(&mut g, &case2);
        check(&format!("{} {} (second run)", kind.name(), case.graph.name), &out2, &case2.reference, tolerance(kind));
    }
}

#[test]
fn cpu_graphs_match_reference() {
    graphs_match_reference(QnnBackendKind::Cpu);
}

#[test]
fn htp_graphs_match_reference_in_fp16() {
    graphs_match_reference(QnnBackendKind::Htp);
}

fn context_binary_round_trips(kind: QnnBackendKind) {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let mut rng = Lcg(seed());
    let case = matmul_case(&mut rng);
    let (first, binary) = {
        let rt = load(kind, &dir);
        let mut g = rt.compile(&case.graph, &options(kind)).unwrap_or_else(|e| panic!("{e}"));
        let (out, _) = run(&mut g, &case);
        let binary = g.context_binary().unwrap_or_else(|e| panic!("{e}"));
        (out, binary)
    };
    assert!(binary.len() > 64, "{} byte context binary", binary.len());
    eprintln!("{}: context binary of `{}`: {} bytes", kind.name(), case.graph.name, binary.len());
    // A fresh runtime (the first one and its graph are gone).
    let rt = load(kind, &dir);
    let mut g = rt.load_context_binary(&binary, &case.graph, &options(kind)).unwrap_or_else(|e| panic!("{e}"));
    let (second, _) = run(&mut g, &case);
    check(
        &format!("{} {} from context binary", kind.name(), case.graph.name),
        &second,
        &case.reference,
        tolerance(kind),
    );
    assert_eq!(
        bytemuck::cast_slice::<f32, u32>(&first),
        bytemuck::cast_slice::<f32, u32>(&second),
        "the loaded binary computes something else"
    );
    // And the same binary again, for a graph with two inputs.
    let add = add_case(&mut rng);
    let g = rt.compile(&add.graph, &options(kind)).unwrap_or_else(|e| panic!("{e}"));
    let binary = g.context_binary().unwrap_or_else(|e| panic!("{e}"));
    drop(g);
    let mut g = rt.load_context_binary(&binary, &add.graph, &options(kind)).unwrap_or_else(|e| panic!("{e}"));
    let (out, _) = run(&mut g, &add);
    check(&format!("{} add from context binary", kind.name()), &out, &add.reference, tolerance(kind));
}

#[test]
fn cpu_context_binary_round_trips() {
    context_binary_round_trips(QnnBackendKind::Cpu);
}

#[test]
fn htp_context_binary_round_trips() {
    context_binary_round_trips(QnnBackendKind::Htp);
}

#[test]
fn htp_profiling_gives_per_node_cycles() {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let rt = load(QnnBackendKind::Htp, &dir);
    let mut rng = Lcg(seed());
    let case = transpose_add_case(&mut rng);
    let opts = CompileOptions { profiling: true, htp_fp16_precision: true };
    let mut g = rt.compile(&case.graph, &opts).unwrap_or_else(|e| panic!("{e}"));
    let (out, profile) = run(&mut g, &case);
    check("qnn-htp profiled transpose_add", &out, &case.reference, tolerance(QnnBackendKind::Htp));
    let profile = profile.expect("profiling was on");
    let all = profile.all_events();
    for e in &all {
        eprintln!(
            "event {} ({}) {:?} = {} `{}` ({} sub-events)",
            e.kind_name,
            e.kind,
            e.unit,
            e.value,
            e.identifier,
            e.sub_events.len()
        );
    }
    assert!(!all.is_empty(), "no profile events");
    let node_cycles: Vec<_> = all
        .iter()
        .filter(|e| e.unit == ProfileUnit::Cycles && case.graph.ops.iter().any(|o| e.identifier.contains(&o.name)))
        .collect();
    assert!(!node_cycles.is_empty(), "no per-node event in cycles among {} events", all.len());
}

#[test]
fn cpu_profiling_returns_events() {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let rt = load(QnnBackendKind::Cpu, &dir);
    let mut rng = Lcg(seed());
    let case = add_case(&mut rng);
    let mut g = rt.compile(&case.graph, &CompileOptions { profiling: true, htp_fp16_precision: false }).unwrap();
    let (out, profile) = run(&mut g, &case);
    check("qnn-cpu profiled add", &out, &case.reference, tolerance(QnnBackendKind::Cpu));
    let profile = profile.expect("profiling was on");
    for e in profile.all_events() {
        eprintln!("event {} ({}) {:?} = {} `{}`", e.kind_name, e.kind, e.unit, e.value, e.identifier);
    }
    assert!(!profile.events.is_empty(), "no profile events");
}

#[test]
fn a_missing_library_is_unavailable() {
    for kind in [QnnBackendKind::Cpu, QnnBackendKind::Htp] {
        let dir = std::env::temp_dir().join("edgehal-no-qnn-here");
        let err =
            QnnRuntime::load(kind, &LoadOptions { library: Some(dir.join(kind.library_file())), log_level: None })
                .expect_err("loaded a library that does not exist");
        match &err {
            edgehal::Error::Backend { backend, why } => {
                assert_eq!(backend, kind.name());
                assert!(why.starts_with("unavailable: ") && why.contains(kind.library_file()), "{why}");
            }
            other => panic!("expected a backend error, got {other:?}"),
        }
        eprintln!("{err}");
    }
}

#[test]
fn wrong_buffer_sizes_are_typed_errors() {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let rt = load(QnnBackendKind::Cpu, &dir);
    let mut rng = Lcg(seed());
    let case = add_case(&mut rng);
    let mut g = rt.compile(&case.graph, &options(QnnBackendKind::Cpu)).unwrap();
    let a = bytes(&case.inputs[0]);
    let short = vec![0u8; 20];
    let mut out = vec![0u8; 24];
    let err = g.execute(&[&a, &short], &mut [&mut out]).expect_err("a 20-byte input for a 24-byte tensor");
    assert!(
        matches!(&err, edgehal::Error::Shape { detail, .. } if detail.contains("input 1") && detail.contains("20")),
        "{err:?}"
    );
    let err = g.execute(&[&a], &mut [&mut out]).expect_err("one input for two");
    assert!(matches!(err, edgehal::Error::Shape { .. }), "{err:?}");
    let mut long = vec![0u8; 28];
    let err = g.execute(&[&a, &a], &mut [&mut long]).expect_err("a 28-byte output");
    assert!(matches!(&err, edgehal::Error::Shape { detail, .. } if detail.contains("output 0")), "{err:?}");
    // The graph still works after the refusals.
    let (out, _) = run(&mut g, &case);
    check("qnn-cpu add after refusals", &out, &case.reference, 1e-5);
}

#[test]
fn validate_op_accepts_known_ops_and_names_the_failure() {
    let Some(dir) = lib_dir() else { return };
    let _serial = serial();
    let mut rng = Lcg(seed());
    for kind in [QnnBackendKind::Cpu, QnnBackendKind::Htp] {
        let rt = load(kind, &dir);
        let mm = matmul_case(&mut rng).graph;
        assert_eq!(rt.validate_op(&mm, 0), Ok(()), "{}: MatMul", kind.name());
        let tr = transpose_add_case(&mut rng).graph;
        assert_eq!(rt.validate_op(&tr, 0), Ok(()), "{}: Transpose", kind.name());
        let mut bogus = add_case(&mut rng).graph;
        bogus.ops[0].type_name = "NoSuchOpType".into();
        let why = rt.validate_op(&bogus, 0).expect_err("a bogus op type validated");
        eprintln!("{}: validate_op(NoSuchOpType) = Err({why})", kind.name());
        assert!(why.contains("QNN_"), "{why}");
        // Compiling it fails with a typed error: the CPU backend refuses the node in graphAddNode,
        // HTP accepts it there and fails in graphFinalize.
        let err = rt.compile(&bogus, &options(kind)).expect_err("compiled a bogus op");
        eprintln!("{}: compile(NoSuchOpType) = {err}", kind.name());
        assert!(
            matches!(&err, edgehal::Error::Backend { why, .. }
                if why.contains("graphAddNode") || why.contains("graphFinalize")),
            "{err:?}"
        );
    }
}
