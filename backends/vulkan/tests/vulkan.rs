//! The Vulkan backend end to end on lavapipe with the validation layer on: silu against the CPU
//! backend (mapped and staged memory, pushed and pooled descriptors), profiling, limits, device
//! listing and the typed "unavailable" error.

mod common;

use common::*;
use edgehal::{Backend, CpuBackend, DType, Error, Policy, RunOptions, Session, Tensor, TensorDesc};
use edgehal_vulkan::{VulkanBackend, VulkanOptions};
use std::sync::Arc;

fn silu_matches_cpu(b: &Arc<VulkanBackend>) {
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::with_threads(2).unwrap());
    for (dtype, shape) in [(DType::F32, vec![3, 1001]), (DType::F32, vec![1]), (DType::F32, vec![70_000, 4])] {
        let n: usize = shape.iter().product();
        let x = Tensor::from_f32_as(dtype, shape.clone(), &values(n, n as u64)).unwrap();
        let opts = RunOptions { poison_outputs: true, ..Default::default() };
        let got = run_silu(b.clone(), silu_graph(dtype, &shape), &x, &opts);
        let want = run_silu(cpu.clone(), silu_graph(dtype, &shape), &x, &opts);
        assert_eq!(got.desc(), want.desc());
        let (g, w) = (got.to_f32_vec().unwrap(), want.to_f32_vec().unwrap());
        let tol = if dtype == DType::F16 { 2e-3 } else { 1e-5 };
        for (i, (g, w)) in g.iter().zip(&w).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{dtype} {shape:?} element {i}: got {g}, cpu {w}");
        }
    }
    assert_no_validation_messages(b);
}

#[test]
fn silu_matches_the_cpu_backend() {
    let b = backend(options());
    assert!(b.device().device_timestamps, "lavapipe's queue has timestamps");
    silu_matches_cpu(&b);
}

#[test]
fn silu_matches_with_staging_and_descriptor_pools() {
    let b = backend(VulkanOptions { push_descriptors: false, unified_memory: false, ..options() });
    assert!(!b.unified_memory() && !b.push_descriptors());
    silu_matches_cpu(&b);
}

#[test]
fn runs_rebind_new_buffers_and_profile_with_device_timestamps() {
    let b = backend(options());
    let g = silu_graph(DType::F32, &[2, 300]);
    let mut s = Session::new(g, vec![b.clone() as Arc<dyn Backend>], Policy::strict()).unwrap();
    for seed in 0..3u64 {
        let xs = values(600, seed);
        let x = Tensor::from_f32([2, 300], &xs).unwrap();
        let opts = RunOptions { profile: seed == 1, poison_outputs: seed == 2, ..Default::default() };
        let y = s.run_with(&[("x", &x)], &opts).unwrap().get("silu_0").unwrap().clone();
        for (v, x) in y.as_f32().unwrap().iter().zip(&xs) {
            let want = x / (1.0 + (-x).exp());
            assert!((v - want).abs() <= 1e-5 * (1.0 + want.abs()), "run {seed}: {v} vs {want}");
        }
        if seed == 1 {
            let p = s.last_profile().expect("profile");
            assert_eq!(p.records.len(), 1, "one node");
            assert!(p.records[0].duration_ns > 0, "device timestamps give a duration");
        }
    }
    assert_no_validation_messages(&b);
}

#[test]
fn uploads_and_downloads_round_trip_mapped_and_staged() {
    for unified in [true, false] {
        let b = backend(VulkanOptions { unified_memory: unified, ..options() });
        // Odd byte counts (3 f16 = 6 bytes) and a buffer spanning two staging chunks.
        for (dtype, shape) in [(DType::F16, vec![3]), (DType::F32, vec![1]), (DType::F32, vec![5 << 20, 4])] {
            let n: usize = shape.iter().product();
            let t = Tensor::from_f32_as(dtype, shape.clone(), &values(n, 7)).unwrap();
            let mut buf = b.allocate(t.desc()).unwrap();
            b.upload(buf.as_mut(), &t).unwrap();
            assert_eq!(b.download(buf.as_ref()).unwrap().bytes(), t.bytes(), "{dtype} {shape:?} unified={unified}");
        }
        let mut small = b.allocate(&TensorDesc::new(DType::F32, [4])).unwrap();
        let wrong = Tensor::from_f32([2], &[1.0, 2.0]).unwrap();
        assert!(matches!(b.upload(small.as_mut(), &wrong), Err(Error::Input(_))));
        let cpu = CpuBackend::with_threads(1).unwrap();
        let foreign = cpu.allocate(&TensorDesc::new(DType::F32, [4])).unwrap();
        assert!(b.download(foreign.as_ref()).is_err(), "a CPU buffer is refused, not misread");
        assert_no_validation_messages(&b);
    }
}

#[test]
fn a_buffer_over_the_storage_range_is_a_device_limit() {
    let b = backend(options());
    let max = b.caps().max_storage_binding as usize;
    let err = b.allocate(&TensorDesc::new(DType::F32, [max / 4 + 1])).map(|_| ()).unwrap_err();
    assert!(matches!(err, Error::DeviceLimit { needed, limit, .. } if needed > limit && limit == max as u64), "{err}");
    // A graph whose tensor is over the limit is refused by `supports`, not failed at run time.
    let g = silu_graph(DType::F32, &[max / 4 + 1]);
    let s = Session::new(g, vec![b.clone() as Arc<dyn Backend>], Policy::strict());
    assert!(matches!(s, Err(Error::Unsupported { .. })), "{:?}", s.err());
    assert_no_validation_messages(&b);
}

#[test]
fn devices_lists_lavapipe_with_features_and_limits() {
    let all = edgehal_vulkan::devices().expect("device list");
    let lvp = all.iter().find(|d| d.name.contains("llvmpipe")).expect("lavapipe listed");
    assert_eq!(lvp.backend, "vulkan");
    assert_eq!(lvp.kind, edgehal::DeviceKind::Cpu);
    assert!(lvp.memory_bytes > 0);
    for f in ["max-storage-binding=", "push-descriptors", "timestamps", "vulkan-1."] {
        assert!(lvp.features.iter().any(|x| x.starts_with(f)), "missing {f} in {:?}", lvp.features);
    }
}

#[test]
fn an_unknown_device_is_a_typed_unavailable_error() {
    let err = VulkanBackend::with_options(VulkanOptions { device: Some("no such gpu 1234".into()), ..options() })
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend { why, .. } if why.starts_with("unavailable:") && why.contains("llvmpipe")),
        "{err}"
    );
}

#[test]
fn measure_peaks_runs_the_probe_programs() {
    let b = backend(options());
    let p = b.measure_peaks().expect("peaks");
    assert!(p.f32_gflops > 0.0 && p.f32_gflops.is_finite(), "{p:?}");
    assert!(p.read_gbps > 0.0 && p.read_gbps.is_finite(), "{p:?}");
    assert_eq!(p.f16_gflops.is_some(), b.caps().f16, "{p:?}");
    eprintln!("lavapipe peaks: {p:?}");
    assert_no_validation_messages(&b);
}

/// `Position::Run` parameters are rewritten when the position changes (each run writes its own
/// cache row), and a position past the cache is a typed input error.
#[test]
fn kv_writes_follow_the_run_position_and_stop_at_the_capacity() {
    use edgehal::{Graph, Position};
    let b = backend(options());
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &[1, 1, 4, 8]).unwrap();
    let new = g.input("new", DType::F32, &[1, 1, 1, 8]).unwrap();
    let updated = g.kv_write(cache, new, Position::Run).unwrap();
    let y = g.copy(updated).unwrap();
    g.output(y).unwrap();
    let mut s = Session::new(g, vec![b.clone() as Arc<dyn Backend>], Policy::strict()).unwrap();
    for position in [0usize, 2, 1, 3] {
        let row = Tensor::from_f32([1, 1, 1, 8], &[position as f32 + 0.5; 8]).unwrap();
        s.run_with(&[("new", &row)], &RunOptions { position, ..Default::default() }).unwrap();
    }
    let state = s.state("cache").unwrap();
    let rows: Vec<f32> = state.as_f32().unwrap().chunks(8).map(|r| r[0]).collect();
    assert_eq!(rows, vec![0.5, 1.5, 2.5, 3.5], "each run wrote the row of its position");
    let row = Tensor::from_f32([1, 1, 1, 8], &[9.0; 8]).unwrap();
    let err = s.run_with(&[("new", &row)], &RunOptions { position: 4, ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert_no_validation_messages(&b);
}
