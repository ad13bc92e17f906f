//! A session mixing the GPU with the CPU: the GPU takes what it supports, an op it declines runs on
//! the CPU, values cross through the host, and results match a CPU-only session.

use edgehal::{
    Backend, CpuBackend, DType, DeviceBuffer, DeviceInfo, Executable, Graph, NodeId, Partition, Peaks, Policy, Result,
    RunOptions, Session, Support, Tensor, TensorDesc,
};
use edgehal_wgpu::WgpuBackend;
use std::sync::Arc;

/// The real wgpu backend with one op declined, as a device without that kernel would.
struct Declining {
    op: &'static str,
    gpu: WgpuBackend,
}

impl Backend for Declining {
    fn name(&self) -> &str {
        self.gpu.name()
    }
    fn device(&self) -> DeviceInfo {
        self.gpu.device()
    }
    fn measure_peaks(&self) -> Result<Peaks> {
        self.gpu.measure_peaks()
    }
    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        if graph.node(node).op.name() == self.op {
            Support::No(format!("{} declined for this test", self.op))
        } else {
            self.gpu.supports(graph, node)
        }
    }
    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        self.gpu.compile(graph, partition)
    }
    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        self.gpu.allocate(desc)
    }
    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        self.gpu.upload(dst, src)
    }
    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        self.gpu.download(src)
    }
}

/// rms_norm → matmul (Q8_0) → silu → matmul (f16) → softmax.
fn mlp() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 64]).unwrap();
    let w1: Vec<f32> = (0..96 * 64).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let w2: Vec<f32> = (0..64 * 96).map(|i| ((i * 53 % 89) as f32 - 44.0) / 44.0).collect();
    let w1 = g.weight("w1", Tensor::from_f32_as(DType::Q8_0, [96, 64], &w1).unwrap());
    let w2 = g.weight("w2", Tensor::from_f32_as(DType::F16, [64, 96], &w2).unwrap());
    let h = g.rms_norm(x, None, 1e-6).unwrap();
    let h = g.matmul(h, w1).unwrap();
    let h = g.silu(h).unwrap();
    let h = g.matmul(h, w2).unwrap();
    let y = g.softmax(h).unwrap();
    let y = g.name(y, "y").unwrap();
    g.output(y).unwrap();
    g
}

#[test]
fn a_declined_op_falls_back_to_the_cpu_with_transfers() {
    let x: Vec<f32> = (0..256).map(|i| ((i * 29 % 61) as f32 - 30.0) / 10.0).collect();
    let x = Tensor::from_f32([4, 64], &x).unwrap();
    let opts = RunOptions { profile: true, poison_outputs: true, ..Default::default() };
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::with_threads(2).unwrap());

    // The GPU alone is the reference: the mixed session differs only in where silu ran (the CPU's
    // Q8_0 matmul quantizes activations to 8 bits, so a CPU-only run differs by more).
    let gpu_alone: Arc<dyn Backend> = Arc::new(WgpuBackend::new().unwrap());
    let mut reference = Session::new(mlp(), vec![gpu_alone], Policy::default()).unwrap();
    assert_eq!(reference.plan().partitions.len(), 1, "the GPU takes every node");
    let want = reference.run_with(&[("x", &x)], &opts).unwrap().get("y").unwrap().to_f32_vec().unwrap();

    let gpu: Arc<dyn Backend> = Arc::new(Declining { op: "silu", gpu: WgpuBackend::new().unwrap() });
    let mut mixed = Session::new(mlp(), vec![gpu, cpu], Policy::default()).unwrap();
    let placed: Vec<&str> = mixed.plan().partitions.iter().map(|p| p.backend.as_str()).collect();
    assert_eq!(placed, ["wgpu", "cpu", "wgpu"], "GPU first, the declined silu on the CPU");
    for _ in 0..2 {
        let got = mixed.run_with(&[("x", &x)], &opts).unwrap().get("y").unwrap().to_f32_vec().unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1e-3), "y[{i}]: gpu+cpu {g}, cpu {w}");
        }
    }
    let profile = mixed.last_profile().unwrap();
    assert_eq!(profile.transfers.len(), 2, "into the CPU and back: {:?}", profile.transfers);
    let gpu_ops: Vec<_> = profile.records.iter().filter(|r| r.backend == "wgpu").collect();
    assert_eq!(gpu_ops.len(), 4, "every GPU node has a record: {:?}", profile.records);
    assert!(gpu_ops.iter().all(|r| r.clock == "device"), "GPU nodes are timed with device timestamps");
}
