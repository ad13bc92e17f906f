//! Bad requests get typed errors, never panics: buffers over the device's binding limit, an unknown
//! adapter, foreign buffers.

use edgehal::{Backend, DType, Error, TensorDesc};
use edgehal_wgpu::{WgpuBackend, WgpuOptions};

#[test]
fn a_buffer_over_the_binding_limit_is_a_device_limit_error() {
    let gpu = WgpuBackend::new().unwrap();
    let limit = gpu.caps().max_storage_binding;
    let elems = (limit / 4 + 1024) as usize;
    let desc = TensorDesc { dtype: DType::F32, shape: vec![elems] };
    match gpu.allocate(&desc) {
        Err(Error::DeviceLimit { needed, limit: l, .. }) => assert!(needed > l),
        Err(e) => panic!("expected DeviceLimit, got {e}"),
        Ok(_) => panic!("a {elems}-element buffer over the {limit}-byte limit was allocated"),
    }
}

#[test]
fn an_unknown_adapter_is_named_in_the_error() {
    let options = WgpuOptions { adapter: Some("no-such-gpu-xyz".into()), ..WgpuOptions::from_env() };
    match WgpuBackend::with_options(options) {
        Err(Error::Unknown { name, known, .. }) => {
            assert_eq!(name, "no-such-gpu-xyz");
            assert!(!known.is_empty());
        }
        Err(e) => panic!("expected Unknown, got {e}"),
        Ok(_) => panic!("picked an adapter that does not exist"),
    }
}

#[test]
fn a_cpu_buffer_is_refused_not_misread() {
    let gpu = WgpuBackend::new().unwrap();
    let cpu = edgehal::CpuBackend::with_threads(1).unwrap();
    let desc = TensorDesc { dtype: DType::F32, shape: vec![8] };
    let foreign = cpu.allocate(&desc).unwrap();
    assert!(matches!(gpu.download(foreign.as_ref()), Err(Error::Backend { .. })));
}

#[test]
fn odd_sized_tensors_round_trip() {
    let gpu = WgpuBackend::new().unwrap();
    for (dtype, shape) in [(DType::F16, vec![3]), (DType::Q4_0, vec![1, 32]), (DType::F32, vec![0])] {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0).collect();
        let t = edgehal::Tensor::from_f32_as(dtype, shape.clone(), &values).unwrap();
        let mut buf = gpu.allocate(t.desc()).unwrap();
        gpu.upload(buf.as_mut(), &t).unwrap();
        assert_eq!(gpu.download(buf.as_ref()).unwrap().bytes(), t.bytes(), "{dtype} {shape:?}");
    }
}

#[test]
fn a_kv_write_past_the_cache_capacity_is_an_input_error() {
    use edgehal::{Graph, Policy, Position, RunOptions, Session, Tensor};
    use std::sync::Arc;
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &[1, 1, 4, 8]).unwrap();
    let new = g.input("new", DType::F32, &[1, 1, 1, 8]).unwrap();
    let updated = g.kv_write(cache, new, Position::Run).unwrap();
    let y = g.copy(updated).unwrap();
    g.output(y).unwrap();
    let gpu = Arc::new(WgpuBackend::new().unwrap());
    let mut s = Session::new(g, vec![gpu], Policy::strict()).unwrap();
    let row = Tensor::from_f32([1, 1, 1, 8], &[1.5; 8]).unwrap();
    for position in 0..4 {
        s.run_with(&[("new", &row)], &RunOptions { position, ..Default::default() }).unwrap();
    }
    let err = s.run_with(&[("new", &row)], &RunOptions { position: 4, ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert!(err.to_string().contains("4-row cache"), "{err}");
}
