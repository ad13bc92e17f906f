//! Faults through the recording fake, which returns an injected result code from the named entry
//! point (`fake::with(|s| s.fail.insert(name, code))`):
//!
//! - `ANEURALNETWORKS_DEAD_OBJECT` (the driver or service died) while computing or compiling is
//!   `Error::DeviceLost`, and the backend stays lost even once the fake answers again: every
//!   later call fails the same way and nothing more reaches NNAPI; a new backend works.
//! - `ANEURALNETWORKS_OUT_OF_MEMORY` from any model, compilation, burst or execution call is a
//!   typed error naming the entry point and the code, frees every handle made so far, and leaves
//!   the backend usable; a host buffer too large to allocate is `Error::OutOfMemory`.
//!
//! Not faked: what a real runtime does to the objects after its service died (the fake keeps
//! computing when asked again; the backend must not ask, and these tests check that it does not).

use crate::error::DEAD_OBJECT_WHY;
use crate::ffi::{feature_level::FL6, result};
use crate::{NnapiBackend, NnapiOptions, fake};
use edgehal::{Backend, DType, Error, Graph, Policy, Session, Support, Tensor, TensorDesc};
use std::sync::Arc;

/// `x [2, 4] → matmul (w [3, 4])`, the input of [`WANT`].
fn graph() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 4]).unwrap();
    let w = g.weight("w", Tensor::from_f32([3, 4], &(0..12).map(|i| i as f32).collect::<Vec<_>>()).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    g
}

fn input() -> Tensor {
    Tensor::from_f32([2, 4], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]).unwrap()
}

/// `input() · wᵀ`.
const WANT: [f32; 6] = [0.0, 4.0, 8.0, 3.0, 11.0, 19.0];

/// A backend on a freshly reset fake, with the enumeration calls cleared from the log.
fn backend(options: NnapiOptions) -> Arc<NnapiBackend> {
    fake::reset(FL6);
    let b = Arc::new(NnapiBackend::from_symbols(fake::symbols(), options).expect("fake backend"));
    fake::take_calls();
    b
}

fn session(b: &Arc<NnapiBackend>) -> edgehal::Result<Session> {
    Session::new(graph(), vec![b.clone() as Arc<dyn Backend>], Policy::strict())
}

fn run(s: &mut Session) -> edgehal::Result<Vec<f32>> {
    s.run(&[("x", &input())])?.at(0).expect("one output").to_f32_vec()
}

/// Asserts that `err` is the device loss first seen in `function`; returns what it was met
/// during: `function` itself, or what the backend was about to do, then "lost earlier during" it.
fn assert_lost<'e>(err: &'e Error, function: &str) -> &'e str {
    let Error::DeviceLost { backend, during, why } = err else {
        panic!("expected DeviceLost first seen in {function}, got {err:?}")
    };
    assert_eq!(backend, "nnapi");
    assert!(during == function || during.ends_with(&format!(", lost earlier during {function}")), "{during}");
    assert_eq!(why, DEAD_OBJECT_WHY);
    assert!(err.to_string().contains("create a new backend"), "{err}");
    during
}

/// What a call on a backend lost in `function` reports while it was doing `now`.
fn later(now: &str, function: &str) -> String {
    format!("{now}, lost earlier during {function}")
}

/// A new backend on a new fake builds a session that computes the right values.
fn assert_a_new_backend_works() {
    let fresh = backend(NnapiOptions::default());
    assert!(!fresh.is_device_lost());
    assert_eq!(run(&mut session(&fresh).expect("a session on the new backend")).expect("run"), WANT);
    assert!(fake::take_calls().iter().any(|c| c == "compute"));
}

#[test]
fn dead_object_while_computing_is_device_lost_that_stays_and_a_new_backend_works() {
    for (burst, name, function) in [
        (false, "execution_compute", "ANeuralNetworksExecution_compute"),
        (true, "execution_burst_compute", "ANeuralNetworksExecution_burstCompute"),
        (false, "execution_create", "ANeuralNetworksExecution_create"),
        (false, "execution_set_input", "ANeuralNetworksExecution_setInput"),
    ] {
        let b = backend(NnapiOptions { burst, ..Default::default() });
        let mut s = session(&b).expect("session");
        assert_eq!(run(&mut s).expect("a run before the loss"), WANT);
        assert!(!b.is_device_lost());

        fake::with(|f| f.fail.insert(name, result::DEAD_OBJECT));
        let err = run(&mut s).expect_err("the run that meets the dead service");
        assert_eq!(assert_lost(&err, function), function);
        assert!(b.is_device_lost());

        // The fake would answer again; the backend must not ask it.
        fake::with(|f| f.fail.clear());
        fake::take_calls();
        for _ in 0..2 {
            // Whichever call of the run comes first (the session allocates its inputs) reports it.
            assert_ne!(assert_lost(&run(&mut s).expect_err("runs keep failing"), function), function);
        }
        let desc = TensorDesc { dtype: DType::F32, shape: vec![2, 4] };
        let err = b.allocate(&desc).err().expect("allocation on a lost backend");
        assert_eq!(assert_lost(&err, function), later("allocating a buffer", function));
        let err = session(&b).err().expect("a new session on the lost backend");
        assert_eq!(assert_lost(&err, function), later("compiling a partition", function));
        assert_eq!(fake::take_calls(), Vec::<String>::new(), "{name}: nothing reaches NNAPI after the loss");

        drop(s);
        drop(b);
        assert_eq!(fake::leaked_handles(), [], "{name}: everything made before the loss is freed");
        assert_a_new_backend_works();
    }
}

#[test]
fn dead_object_while_compiling_fails_the_session_typed_and_the_backend_stays_lost() {
    for (name, function) in [
        ("model_get_supported", "ANeuralNetworksModel_getSupportedOperationsForDevices"),
        ("model_finish", "ANeuralNetworksModel_finish"),
        ("compilation_create_for_devices", "ANeuralNetworksCompilation_createForDevices"),
        ("compilation_finish", "ANeuralNetworksCompilation_finish"),
    ] {
        let b = backend(NnapiOptions::default());
        fake::with(|f| f.fail.insert(name, result::DEAD_OBJECT));
        let err = session(&b).err().expect("a session compiled on a dead service");
        // Placement asks the device about each node first, building a model (the model calls):
        // a loss met there is reported by the compile that follows.
        let want =
            if name.starts_with("model_") { later("compiling a partition", function) } else { function.to_string() };
        assert_eq!(assert_lost(&err, function), want);
        assert!(b.is_device_lost());
        fake::with(|f| f.fail.clear());
        let err = session(&b).err().expect("still lost");
        assert_eq!(assert_lost(&err, function), later("compiling a partition", function));
        drop(b);
        assert_eq!(fake::leaked_handles(), [], "{name}: nothing leaks");
        assert_a_new_backend_works();
    }
}

/// Compiles and runs the graph through the `Backend` calls (no session, so that placement's
/// device query does not come first).
fn compile_and_run(b: &NnapiBackend) -> edgehal::Result<Vec<f32>> {
    let g = graph();
    let mut exe = b.compile(&g, &super::whole_graph(&g))?;
    let mut x = b.allocate(input().desc())?;
    b.upload(x.as_mut(), &input())?;
    let mut y = b.allocate(&g.value(g.outputs()[0]).desc)?;
    exe.run(edgehal::Bindings { inputs: vec![x.as_ref()], outputs: vec![y.as_mut()], states: vec![] }, 0, true)?;
    b.download(y.as_ref())?.to_f32_vec()
}

#[test]
fn out_of_memory_from_any_nnapi_call_names_it_frees_everything_and_the_backend_still_works() {
    let options =
        NnapiOptions { burst: true, cache_dir: Some("/tmp/edgehal-nnapi-faults".into()), ..Default::default() };
    for (name, function) in [
        ("model_create", "ANeuralNetworksModel_create"),
        ("model_add_operand", "ANeuralNetworksModel_addOperand"),
        ("model_set_operand_value", "ANeuralNetworksModel_setOperandValue"),
        ("model_add_operation", "ANeuralNetworksModel_addOperation"),
        ("model_identify", "ANeuralNetworksModel_identifyInputsAndOutputs"),
        ("model_finish", "ANeuralNetworksModel_finish"),
        ("compilation_create_for_devices", "ANeuralNetworksCompilation_createForDevices"),
        ("compilation_set_preference", "ANeuralNetworksCompilation_setPreference"),
        ("compilation_set_caching", "ANeuralNetworksCompilation_setCaching"),
        ("compilation_finish", "ANeuralNetworksCompilation_finish"),
        ("burst_create", "ANeuralNetworksBurst_create"),
        ("execution_create", "ANeuralNetworksExecution_create"),
        ("execution_set_input", "ANeuralNetworksExecution_setInput"),
        ("execution_set_output", "ANeuralNetworksExecution_setOutput"),
        ("execution_set_measure_timing", "ANeuralNetworksExecution_setMeasureTiming"),
        ("execution_burst_compute", "ANeuralNetworksExecution_burstCompute"),
        ("execution_get_duration", "ANeuralNetworksExecution_getDuration"),
    ] {
        let b = backend(options.clone());
        fake::with(|f| f.fail.insert(name, result::OUT_OF_MEMORY));
        let err = compile_and_run(&b).expect_err(name);
        let want = format!("{function} failed: ANEURALNETWORKS_OUT_OF_MEMORY ({})", result::OUT_OF_MEMORY);
        assert!(matches!(&err, Error::Backend { backend, why } if backend == "nnapi" && *why == want), "{name}: {err}");
        fake::take_calls();
        assert_eq!(fake::leaked_handles(), [], "{name}: every handle made before the failure is freed");

        // Out of memory is not a loss: the same backend works once memory is back.
        assert!(!b.is_device_lost(), "{name}");
        fake::with(|f| f.fail.clear());
        assert_eq!(compile_and_run(&b).expect("a run once memory is back"), WANT, "{name}");
        assert_eq!(fake::leaked_handles(), [], "{name}");
    }
}

#[test]
fn out_of_memory_while_placement_asks_the_device_is_a_refusal_naming_the_call() {
    let b = backend(NnapiOptions::default());
    fake::with(|f| f.fail.insert("model_add_operation", result::OUT_OF_MEMORY));
    let Support::No(why) = b.supports(&graph(), edgehal::NodeId(0)) else { panic!("supported without a model") };
    assert!(why.contains("ANeuralNetworksModel_addOperation failed: ANEURALNETWORKS_OUT_OF_MEMORY (1)"), "{why}");
    assert_eq!(fake::leaked_handles(), []);
}

#[test]
fn a_host_buffer_too_large_to_allocate_is_out_of_memory_with_its_size() {
    let b = backend(NnapiOptions::default());
    let elems = 1usize << 60;
    let err = b.allocate(&TensorDesc { dtype: DType::F32, shape: vec![elems] }).err().expect("2^62 bytes allocated");
    assert!(
        matches!(&err, Error::OutOfMemory { backend, bytes } if backend == "nnapi" && *bytes == 4 * elems as u64),
        "{err:?}"
    );
    assert!(!b.is_device_lost());
    assert_eq!(compile_and_run(&b).expect("the backend still works"), WANT);
}
