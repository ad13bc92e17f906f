//! Placement by objective on a real mixed session (CPU + the wgpu GPU, lavapipe in CI): latency,
//! energy and energy within a latency bound choose differently, the plan says why, and every
//! placement computes the same result.

use edgehal::energy::EnergyModel;
use edgehal::{
    Backend, Cost, CostTable, CpuBackend, DType, DeviceCosts, Graph, Objective, Peaks, Policy, RooflineCosts, Session,
    Tensor,
};
use edgehal_wgpu::WgpuBackend;
use std::sync::Arc;

/// rms_norm → matmul (Q8_0, 8.5 MB) → silu → matmul (f32, 8 MB) → softmax at m = 4: the
/// matmuls are bandwidth-bound. Nodes are named by the builder (`matmul_1`, ...).
fn mlp() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 1024]).unwrap();
    let w1: Vec<f32> = (0..2048 * 1024).map(|i| ((i * 37 % 101) as f32 - 50.0) / 2000.0).collect();
    let w2: Vec<f32> = (0..1024 * 2048).map(|i| ((i * 53 % 89) as f32 - 44.0) / 1760.0).collect();
    let w1 = g.weight("w1", Tensor::from_f32_as(DType::Q8_0, [2048, 1024], &w1).unwrap());
    let w2 = g.weight("w2", Tensor::from_f32([1024, 2048], &w2).unwrap());
    let h = g.rms_norm(x, None, 1e-6).unwrap();
    let h = g.matmul(h, w1).unwrap();
    let h = g.silu(h).unwrap();
    let h = g.matmul(h, w2).unwrap();
    let y = g.softmax(h).unwrap();
    g.output(y).unwrap();
    g
}

fn input() -> Tensor {
    let x: Vec<f32> = (0..4 * 1024).map(|i| ((i * 13 % 59) as f32 - 29.0) / 7.0).collect();
    Tensor::from_f32([4, 1024], &x).unwrap()
}

fn backends() -> Vec<Arc<dyn Backend>> {
    let gpu = WgpuBackend::new().expect("a wgpu adapter (lavapipe in CI)");
    vec![Arc::new(CpuBackend::new().unwrap()), Arc::new(gpu)]
}

/// Places and runs the graph under `policy`; returns the backend of every node and the output.
fn run(policy: Policy) -> (Vec<(String, String)>, Vec<f32>, Session) {
    let mut s = Session::new(mlp(), backends(), policy).unwrap();
    let out = s.run(&[("x", &input())]).unwrap().at(0).unwrap().to_f32_vec().unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
    (s.plan().placement.clone(), out, s)
}

fn on(placement: &[(String, String)], backend: &str) -> Vec<String> {
    placement.iter().filter(|(_, b)| b == backend).map(|(n, _)| n.clone()).collect()
}

/// The CPU's Q8_0 matmul quantizes activations to 8 bits, the GPU's does not: the placements
/// agree to that rounding, not bit for bit.
fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 + 2e-2 * y.abs(), "{x} vs {y}");
    }
}

/// The GPU finishes matmuls sooner but burns more doing so; element-wise ops are cheaper and
/// quicker on the CPU (no dispatch).
fn table(graph: &Graph) -> CostTable {
    let mut t = CostTable::new();
    for n in graph.nodes() {
        let (cpu, gpu) = if n.op.name() == "matmul" {
            (Cost { seconds: 1e-3, joules: 3e-3 }, Cost { seconds: 0.4e-3, joules: 5e-3 })
        } else {
            (Cost { seconds: 10e-6, joules: 0.02e-3 }, Cost { seconds: 30e-6, joules: 0.1e-3 })
        };
        t.set(&n.name, "cpu", cpu).set(&n.name, "wgpu", gpu);
    }
    t
}

#[test]
fn placement_follows_the_objective_on_a_synthetic_cost_table() {
    let costs = Arc::new(table(&mlp()));
    let policy = |objective| Policy { fuse: false, ..Policy::optimise(objective, costs.clone()) };
    let (fast, fast_out, s) = run(policy(Objective::Latency));
    assert_eq!(on(&fast, "wgpu").len(), 2, "both matmuls on the GPU for latency: {fast:?}");
    let est = s.plan().estimate.unwrap();
    assert!((est.seconds - (0.8e-3 + 3.0 * 10e-6)).abs() < 1e-12, "{est:?}");
    assert!(s.plan().decisions.iter().all(|d| d.why.starts_with("fastest") && d.why.contains(" vs ")));

    let (green, green_out, s) = run(policy(Objective::Energy));
    assert!(on(&green, "wgpu").is_empty(), "everything on the CPU for energy: {green:?}");
    assert!(s.plan().estimate.unwrap().joules < est.joules);

    let (bounded, bounded_out, s) = run(policy(Objective::EnergyWithin { factor: 2.0 }));
    assert_eq!(on(&bounded, "wgpu").len(), 1, "one matmul moves to the GPU to meet 2x: {bounded:?}");
    assert!(s.plan().estimate.unwrap().seconds <= 2.0 * est.seconds);

    close(&fast_out, &green_out);
    close(&bounded_out, &green_out);
    let bad = Policy::optimise(Objective::EnergyWithin { factor: 0.5 }, costs.clone());
    assert!(Session::new(mlp(), backends(), bad).is_err());
}

#[test]
fn roofline_costs_of_a_phone_class_soc_choose_differently_for_latency_and_energy() {
    // A phone-class SoC's figures (not this VM's: here the "GPU" is lavapipe on the same CPU):
    // CPU cluster 100 GFLOP/s and 25 GB/s; GPU 1 TFLOP/s and 50 GB/s with a 10 µs dispatch and
    // the GPU energy model's 10 W static power. The GPU streams the weights twice as fast but
    // burns more than twice the power doing it: latency picks it for the matmuls, energy not.
    let cpu = DeviceCosts {
        peaks: Peaks { f32_gflops: 100.0, read_gbps: 25.0, f16_gflops: None, read_probe: None },
        energy: EnergyModel::for_kind(edgehal::DeviceKind::Cpu),
        launch_s: 1e-6,
        link_gbps: f64::INFINITY,
    };
    let gpu = DeviceCosts {
        peaks: Peaks { f32_gflops: 1000.0, read_gbps: 50.0, f16_gflops: None, read_probe: None },
        energy: EnergyModel::for_kind(edgehal::DeviceKind::Gpu),
        launch_s: 10e-6,
        link_gbps: 20.0,
    };
    let costs = Arc::new(RooflineCosts::new([("cpu".to_string(), cpu), ("wgpu".to_string(), gpu)]));
    let policy = |objective| Policy { fuse: false, ..Policy::optimise(objective, costs.clone()) };
    let (fast, fast_out, s_fast) = run(policy(Objective::Latency));
    let (green, green_out, s_green) = run(policy(Objective::Energy));
    for d in s_fast.plan().decisions.iter().chain(&s_green.plan().decisions) {
        println!("{:<12} {:<5} {}", d.node, d.backend, d.why);
    }
    assert_ne!(fast, green, "latency and energy should place this graph differently");
    assert!(!on(&fast, "wgpu").is_empty());
    let (f, g) = (s_fast.plan().estimate.unwrap(), s_green.plan().estimate.unwrap());
    assert!(f.seconds < g.seconds && g.joules < f.joules, "fast {f:?} green {g:?}");
    close(&fast_out, &green_out);
}
