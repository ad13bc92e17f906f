//! Faults on the Vulkan backend (lavapipe, validation on): an allocation past the device's memory
//! and a lost device (injected through the test hook: no CPU driver loses its device on demand)
//! each give a typed error; the session is dropped, a new one computes correctly, and the
//! validation layer saw nothing wrong. (Corrupt and foreign pipeline-cache files: pipeline_cache.rs.)

mod common;

use common::*;
use edgehal::{Backend, DType, Error, Graph, Policy, RunOptions, Session, Tensor};
use edgehal_vulkan::VulkanOptions;
use std::sync::Arc;

/// A fresh silu session on `b` computes silu within f32 rounding.
fn assert_silu_works(b: Arc<dyn Backend>) {
    let x = Tensor::from_f32([4, 64], &values(256, 17)).unwrap();
    let y = run_silu(b, silu_graph(DType::F32, &[4, 64]), &x, &RunOptions::default());
    let want = x.as_f32().unwrap().iter().map(|v| v / (1.0 + (-v).exp()));
    for (g, w) in y.as_f32().unwrap().iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "got {g}, want {w}");
    }
}

#[test]
fn memory_past_the_device_is_a_typed_error_and_the_backend_still_works() {
    let b = backend(options());
    let memory = b.device().memory_bytes;
    assert!(memory > 0, "lavapipe reports a heap size");
    // More f32s than the device has bytes of memory.
    let rows = (memory / (4 * 1024) + 1) as usize;
    let bytes = rows as u64 * 4096;
    let desc = edgehal::TensorDesc { dtype: DType::F32, shape: vec![1, 1, rows, 1024] };
    let err = b.allocate(&desc).err().expect("a buffer larger than the device was allocated");
    match &err {
        Error::DeviceLimit { backend, what, needed, limit } => {
            assert_eq!(backend, "vulkan");
            assert!(*needed >= bytes && needed > limit, "{err}");
            assert!(*limit <= memory, "the limit ({limit}) is within the device memory ({memory})");
            assert!(what.contains("maxStorageBufferRange") || what.contains("maxMemoryAllocationSize"), "{what}");
        }
        other => panic!("expected DeviceLimit, got {other:?}"),
    }
    assert!(err.to_string().contains(&bytes.to_string()), "the message names the size asked: {err}");

    // A session needing such a buffer (a KV cache) is refused when it is placed, not when it runs.
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &desc.shape).unwrap();
    let y = g.copy(cache).unwrap();
    g.output(y).unwrap();
    let err = Session::new(g, vec![b.clone() as Arc<dyn Backend>], Policy::strict()).err().expect("placed");
    match &err {
        Error::Unsupported { backend, why, .. } => {
            assert_eq!(backend, "vulkan");
            assert!(why.contains(&bytes.to_string()) && why.contains("max storage binding"), "{why}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_silu_works(b.clone());
    assert_no_validation_messages(&b);
}

#[test]
fn a_lost_device_fails_every_later_call_and_a_new_backend_works() {
    let dir = std::env::temp_dir().join(format!("edgehal-vk-lost-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache_file = dir.join("cache.bin");
    let b = backend(VulkanOptions { pipeline_cache: Some(cache_file.clone()), ..options() });
    let x = Tensor::from_f32([4, 64], &values(256, 5)).unwrap();
    let mut s = Session::new(silu_graph(DType::F32, &[4, 64]), vec![b.clone() as Arc<dyn Backend>], Policy::strict())
        .expect("session");
    s.run(&[("x", &x)]).expect("a run before the loss");
    assert!(!b.is_device_lost());

    b.inject_device_lost();
    let err = s.run(&[("x", &x)]).expect_err("the run that meets the lost device");
    match &err {
        Error::DeviceLost { backend, during, why } => {
            assert_eq!(backend, "vulkan");
            assert_eq!(during, "vkWaitForFences");
            assert!(why.contains("injected"), "{why}");
        }
        other => panic!("expected DeviceLost, got {other:?}"),
    }
    assert!(err.to_string().contains("create a new backend"), "{err}");
    assert!(b.is_device_lost());

    // Every later call fails the same way, naming what it tried and the first loss.
    for _ in 0..2 {
        let again = s.run(&[("x", &x)]).expect_err("runs keep failing");
        assert!(
            matches!(&again, Error::DeviceLost { during, .. } if during.contains("lost earlier during vkWaitForFences")),
            "{again:?}"
        );
    }
    let desc = x.desc().clone();
    assert!(matches!(b.allocate(&desc), Err(Error::DeviceLost { .. })), "allocation on a lost device");
    assert!(matches!(s.state("nope"), Err(Error::Unknown { .. })), "the session itself is intact");
    let built = Session::new(silu_graph(DType::F32, &[4, 64]), vec![b.clone() as Arc<dyn Backend>], Policy::strict());
    assert!(matches!(built, Err(Error::DeviceLost { .. })), "a new session on the lost backend");
    assert_no_validation_messages(&b);
    drop(s);
    drop(b);
    assert!(!cache_file.exists(), "a lost device's pipeline cache is not saved");

    let fresh = backend(options());
    assert!(!fresh.is_device_lost());
    assert_silu_works(fresh.clone());
    assert_no_validation_messages(&fresh);
    let _ = std::fs::remove_dir_all(&dir);
}
