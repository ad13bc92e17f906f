//! Faults on the wgpu backend (lavapipe in CI): memory past the device and a lost device (injected
//! through the test hook, which then destroys the wgpu device: a real loss from wgpu's point of
//! view) each give a typed error; the session is dropped and a new one computes correctly.
//! (wgpu keeps no pipeline-cache file, so there is no file to corrupt; see the Vulkan backend.)

use edgehal::{Backend, DType, Error, Graph, Policy, Session, Tensor, TensorDesc};
use edgehal_wgpu::WgpuBackend;
use std::sync::Arc;

fn gpu() -> Arc<WgpuBackend> {
    Arc::new(WgpuBackend::new().expect("wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)"))
}

fn silu_graph() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 64]).unwrap();
    let y = g.silu(x).unwrap();
    g.output(y).unwrap();
    g
}

fn input() -> Tensor {
    Tensor::from_f32([4, 64], &(0..256).map(|i| (i as f32 - 127.5) / 32.0).collect::<Vec<_>>()).unwrap()
}

/// A fresh silu session on `b` computes silu within f32 rounding.
fn assert_silu_works(b: Arc<dyn Backend>) {
    let x = input();
    let mut s = Session::new(silu_graph(), vec![b], Policy::strict()).expect("session");
    let y = s.run(&[("x", &x)]).expect("run").at(0).unwrap().to_f32_vec().unwrap();
    for (g, v) in y.iter().zip(x.as_f32().unwrap()) {
        let w = v / (1.0 + (-v).exp());
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "silu({v}): got {g}, want {w}");
    }
}

#[test]
fn memory_past_the_device_is_a_typed_error_and_the_backend_still_works() {
    let b = gpu();
    let memory = b.device().memory_bytes;
    assert!(memory > 0);
    let elems = (memory / 4 + 1024) as usize;
    let err = b.allocate(&TensorDesc { dtype: DType::F32, shape: vec![elems] }).err().expect("allocated");
    match &err {
        Error::DeviceLimit { backend, needed, limit, .. } => {
            assert_eq!(backend, "wgpu");
            assert!(*needed >= elems as u64 * 4 && needed > limit && *limit <= memory, "{err}");
        }
        other => panic!("expected DeviceLimit, got {other:?}"),
    }
    assert!(err.to_string().contains(&(elems * 4).to_string()), "the message names the size: {err}");

    // A session needing such a buffer (a KV cache) is refused when it is placed, not when it runs.
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &[1, 1, elems / 64, 64]).unwrap();
    let y = g.copy(cache).unwrap();
    g.output(y).unwrap();
    match Session::new(g, vec![b.clone() as Arc<dyn Backend>], Policy::strict()) {
        Err(Error::Unsupported { backend, why, .. }) => {
            assert_eq!(backend, "wgpu");
            assert!(why.contains("max storage binding"), "{why}");
        }
        Err(other) => panic!("expected Unsupported, got {other:?}"),
        Ok(_) => panic!("a session with a state larger than the device was built"),
    }
    assert_silu_works(b.clone());
    assert!(b.uncaptured_errors().is_empty(), "{:?}", b.uncaptured_errors());
}

#[test]
fn a_lost_device_fails_every_later_call_and_a_new_backend_works() {
    let b = gpu();
    let x = input();
    let mut s = Session::new(silu_graph(), vec![b.clone() as Arc<dyn Backend>], Policy::strict()).expect("session");
    s.run(&[("x", &x)]).expect("a run before the loss");
    assert!(!b.is_device_lost());

    b.inject_device_lost();
    let err = s.run(&[("x", &x)]).expect_err("the run that meets the lost device");
    match &err {
        Error::DeviceLost { backend, during, why } => {
            assert_eq!(backend, "wgpu");
            assert_eq!(during, "waiting for the GPU");
            assert!(why.contains("injected"), "{why}");
        }
        other => panic!("expected DeviceLost, got {other:?}"),
    }
    assert!(err.to_string().contains("create a new backend"), "{err}");
    assert!(b.is_device_lost());

    for _ in 0..2 {
        let again = s.run(&[("x", &x)]).expect_err("runs keep failing");
        assert!(
            matches!(&again, Error::DeviceLost { during, why, .. }
                if during.contains("lost earlier during waiting for the GPU") && why.contains("injected")),
            "{again:?}"
        );
    }
    assert!(matches!(b.allocate(x.desc()), Err(Error::DeviceLost { .. })), "allocation on a lost device");
    let built = Session::new(silu_graph(), vec![b.clone() as Arc<dyn Backend>], Policy::strict());
    assert!(matches!(built, Err(Error::DeviceLost { .. })), "a new session on the lost backend");
    drop(s);
    drop(b);

    let fresh = gpu();
    assert!(!fresh.is_device_lost());
    assert_silu_works(fresh.clone());
    assert!(fresh.uncaptured_errors().is_empty(), "{:?}", fresh.uncaptured_errors());
}
