//! The FFI call sequence against the recording fake, and result codes as typed errors.

use super::whole_graph;
use crate::ffi::{feature_level::FL6, result};
use crate::{NnapiBackend, NnapiOptions, Preference, fake};
use edgehal::{Backend, Bindings, DType, Error, Graph, Support, Tensor};

fn matmul_graph() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 4]).unwrap();
    let w = g.weight("w", Tensor::from_f32([3, 4], &(0..12).map(|i| i as f32).collect::<Vec<_>>()).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    g
}

fn fake_backend(options: NnapiOptions) -> NnapiBackend {
    fake::reset(FL6);
    let b = NnapiBackend::from_symbols(fake::symbols(), options).unwrap();
    fake::take_calls();
    b
}

/// Compiles and runs the matmul graph; returns the output values.
fn run_matmul(b: &NnapiBackend, profile: bool) -> edgehal::Result<(Vec<f32>, Vec<edgehal::NodeTiming>)> {
    let g = matmul_graph();
    let mut exe = b.compile(&g, &whole_graph(&g))?;
    let mut x = b.allocate(&g.value(g.inputs()[0]).desc)?;
    b.upload(x.as_mut(), &Tensor::from_f32([2, 4], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]).unwrap())?;
    let mut y = b.allocate(&g.value(g.outputs()[0]).desc)?;
    let timings =
        exe.run(Bindings { inputs: vec![x.as_ref()], outputs: vec![y.as_mut()], states: vec![] }, 0, profile)?;
    Ok((b.download(y.as_ref())?.as_f32().unwrap().to_vec(), timings))
}

#[test]
fn device_enumeration_reads_every_device_property() {
    fake::reset(FL6);
    let b = NnapiBackend::from_symbols(fake::symbols(), NnapiOptions::default()).unwrap();
    let d = b.chosen_device().unwrap();
    assert_eq!(
        (d.name.as_str(), d.type_name(), d.feature_level, d.version.as_str()),
        ("fake-npu", "accelerator", FL6, "1.0")
    );
    assert_eq!(b.feature_level(), FL6);
    assert_eq!(b.device().kind, edgehal::DeviceKind::Npu);
    let wrong =
        NnapiBackend::from_symbols(fake::symbols(), NnapiOptions { device: Some("dsp".into()), ..Default::default() });
    assert!(matches!(wrong, Err(Error::Unknown { known, .. }) if known == "fake-npu"));
}

#[test]
fn compile_and_run_make_the_documented_calls_in_order() {
    let options = NnapiOptions {
        preference: Preference::SustainedSpeed,
        cache_dir: Some("/tmp/nnapi-cache".into()),
        ..Default::default()
    };
    let b = fake_backend(options);
    let g = matmul_graph();
    let token: String = crate::lower(&g, &whole_graph(&g), FL6)
        .unwrap()
        .model
        .cache_token(&format!("fake-npu 1.0 {FL6}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (y, timings) = run_matmul(&b, true).unwrap();
    assert_eq!(y, [0.0, 4.0, 8.0, 3.0, 11.0, 19.0]);
    assert_eq!(timings.len(), 1);
    assert_eq!(timings[0].duration_ns, 1234, "device time from getDuration(ON_HARDWARE)");
    let calls = fake::take_calls();
    let expected = [
        "Model_create".to_string(),
        "addOperand(type=3, dims=[2, 4])".into(),
        "addOperand(type=3, dims=[3, 4])".into(),
        "setOperandValue(1, 48 bytes)".into(),
        "addOperand(type=3, dims=[3])".into(),
        "setOperandValue(2, 12 bytes)".into(),
        "addOperand(type=1, dims=[])".into(),
        "setOperandValue(3, 4 bytes)".into(),
        "addOperand(type=3, dims=[2, 3])".into(),
        "addOperation(9, in=[0, 1, 2, 3], out=[4])".into(),
        "identifyInputsAndOutputs(in=[0], out=[4])".into(),
        "Model_finish".into(),
        "Compilation_createForDevices([\"fake-npu\"])".into(),
        "setPreference(2)".into(),
        format!("setCaching(/tmp/nnapi-cache, {token})"),
        "Compilation_finish".into(),
        "Execution_create".into(),
        "setInput(0, 32 bytes)".into(),
        "setOutput(0, 24 bytes)".into(),
        "setMeasureTiming(true)".into(),
        "compute".into(),
        "getDuration(0)".into(),
        "Execution_free".into(),
        "Compilation_free".into(),
        "Model_free".into(),
    ];
    assert_eq!(calls, expected);
}

#[test]
fn bursts_are_created_once_and_used_per_run() {
    let b = fake_backend(NnapiOptions { burst: true, ..Default::default() });
    run_matmul(&b, false).unwrap();
    let calls = fake::take_calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("no {c} in {calls:?}"));
    assert!(pos("Compilation_finish") < pos("Burst_create"));
    assert!(pos("Burst_create") < pos("burstCompute"));
    assert!(!calls.iter().any(|c| c == "compute" || c.starts_with("setMeasureTiming")));
    assert!(pos("Burst_free") < pos("Compilation_free"));
}

#[test]
fn result_codes_become_typed_errors_naming_the_function_and_code() {
    for (name, code, function) in [
        ("model_finish", result::BAD_DATA, "ANeuralNetworksModel_finish"),
        ("model_add_operand", result::OUT_OF_MEMORY, "ANeuralNetworksModel_addOperand"),
        ("compilation_finish", result::OP_FAILED, "ANeuralNetworksCompilation_finish"),
        ("execution_set_input", result::UNMAPPABLE, "ANeuralNetworksExecution_setInput"),
        ("execution_compute", result::OP_FAILED, "ANeuralNetworksExecution_compute"),
        ("execution_get_duration", result::BAD_STATE, "ANeuralNetworksExecution_getDuration"),
    ] {
        let b = fake_backend(NnapiOptions::default());
        fake::with(|s| s.fail.insert(name, code));
        let err = run_matmul(&b, true).unwrap_err();
        let want = format!("{function} failed: {} ({code})", result::name(code));
        assert!(matches!(&err, Error::Backend { backend, why } if backend == "nnapi" && *why == want), "{name}: {err}");
        // Everything created was freed, on the error path too.
        let calls = fake::take_calls();
        let count = |c: &str| calls.iter().filter(|x| *x == c).count();
        assert_eq!(count("Model_create"), count("Model_free"), "{name}: {calls:?}");
        assert_eq!(count("Execution_create"), count("Execution_free"), "{name}: {calls:?}");
    }
}

#[test]
fn a_missing_library_is_a_typed_unavailable_error() {
    let options = NnapiOptions { library: Some("/nonexistent/libneuralnetworks.so".into()), ..Default::default() };
    let err = NnapiBackend::with_options(options).err().unwrap();
    assert!(
        matches!(&err, Error::Backend { backend, why } if backend == "nnapi" && why.starts_with("unavailable: ") && why.contains("/nonexistent/libneuralnetworks.so")),
        "{err}"
    );
}

#[test]
fn supports_asks_the_device_and_falls_back_to_the_feature_level_table() {
    let b = fake_backend(NnapiOptions::default());
    let g = matmul_graph();
    let node = edgehal::NodeId(0);
    assert_eq!(b.supports(&g, node), Support::Yes);
    assert!(fake::take_calls().contains(&"getSupportedOperationsForDevices(1 devices)".to_string()));
    fake::with(|s| s.unsupported_ops.push(9));
    assert!(
        matches!(b.supports(&g, node), Support::No(why) if why.contains("FULLY_CONNECTED") && why.contains("fake-npu"))
    );

    // Without the query entry point the static table answers, and asks nothing.
    let mut symbols = fake::symbols();
    symbols.model_get_supported_operations_for_devices = None;
    let b = NnapiBackend::from_symbols(symbols, NnapiOptions::default()).unwrap();
    fake::take_calls();
    assert_eq!(b.supports(&g, node), Support::Yes);
    assert!(fake::take_calls().is_empty());

    // A feature level 5 device cannot take attention (BATCH_MATMUL is level 6).
    fake::reset(crate::ffi::feature_level::FL5);
    let b = NnapiBackend::from_symbols(symbols, NnapiOptions::default()).unwrap();
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, 1, 1, 4]).unwrap();
    let y = g.attention(q, q, q, None, edgehal::AttentionOp::default()).unwrap();
    g.output(y).unwrap();
    assert!(matches!(b.supports(&g, node), Support::No(why) if why.contains("BATCH_MATMUL")));
}

#[test]
fn measure_peaks_is_an_error_not_an_invented_figure() {
    let b = fake_backend(NnapiOptions::default());
    assert!(matches!(b.measure_peaks(), Err(Error::Unsupported { backend, .. }) if backend == "nnapi"));
}
