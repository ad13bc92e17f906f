//! Placement across several backends: a backend that takes only some ops gets those nodes, the
//! CPU the rest, values cross partitions through the host, and results stay bit-identical.

use edgehal::{
    Backend, CpuBackend, DType, DeviceBuffer, DeviceInfo, Error, Executable, Graph, NodeId, Partition, Peaks, Policy,
    Position, Result, RunOptions, Session, Support, Tensor, TensorDesc,
};
use std::sync::Arc;

/// A backend that runs only `op` (on an inner CPU backend), like a partial accelerator would.
struct OnlyOp {
    op: &'static str,
    inner: CpuBackend,
}

impl Backend for OnlyOp {
    fn name(&self) -> &str {
        self.op
    }
    fn device(&self) -> DeviceInfo {
        DeviceInfo { backend: self.op.into(), ..self.inner.device() }
    }
    fn measure_peaks(&self) -> Result<Peaks> {
        self.inner.measure_peaks()
    }
    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        if graph.node(node).op.name() == self.op { Support::Yes } else { Support::No(format!("only {}", self.op)) }
    }
    fn compile(&self, graph: &Graph, partition: &Partition) -> Result<Box<dyn Executable>> {
        self.inner.compile(graph, partition)
    }
    fn allocate(&self, desc: &TensorDesc) -> Result<Box<dyn DeviceBuffer>> {
        self.inner.allocate(desc)
    }
    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
        self.inner.upload(dst, src)
    }
    fn download(&self, src: &dyn DeviceBuffer) -> Result<Tensor> {
        self.inner.download(src)
    }
}

fn only(op: &'static str) -> Arc<dyn Backend> {
    Arc::new(OnlyOp { op, inner: CpuBackend::with_threads(2).unwrap() })
}

fn mlp() -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4, 64]).unwrap();
    let w1: Vec<f32> = (0..96 * 64).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let w2: Vec<f32> = (0..64 * 96).map(|i| ((i * 53 % 89) as f32 - 44.0) / 44.0).collect();
    let w1 = g.weight("w1", Tensor::from_f32_as(DType::Q4_0, [96, 64], &w1).unwrap());
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
fn nodes_split_across_backends_give_the_same_bits() {
    let x: Vec<f32> = (0..256).map(|i| ((i * 29 % 61) as f32 - 30.0) / 10.0).collect();
    let x = Tensor::from_f32([4, 64], &x).unwrap();
    let opts = RunOptions { profile: true, poison_outputs: true, ..Default::default() };

    let mut single =
        Session::new(mlp(), vec![Arc::new(CpuBackend::with_threads(2).unwrap())], Policy::default()).unwrap();
    let want = single.run_with(&[("x", &x)], &opts).unwrap();

    let mut split = Session::new(mlp(), vec![only("matmul")], Policy::default()).unwrap();
    let backends: Vec<&str> = split.plan().partitions.iter().map(|p| p.backend.as_str()).collect();
    assert_eq!(backends, ["cpu", "matmul", "cpu", "matmul", "cpu"]);
    let got = split.run_with(&[("x", &x)], &opts).unwrap();
    assert_eq!(got.get("y").unwrap().bytes(), want.get("y").unwrap().bytes());
    let profile = split.last_profile().unwrap();
    assert_eq!(profile.transfers.len(), 4, "each boundary crosses through the host once: {:?}", profile.transfers);
    assert_eq!(profile.records.iter().filter(|r| r.backend == "matmul").count(), 2);
}

#[test]
fn without_fallback_an_unsupported_node_names_every_backend() {
    let err = Session::new(mlp(), vec![only("matmul")], Policy::strict()).err().expect("rms_norm has no backend");
    match err {
        Error::Unsupported { op, why, .. } => {
            assert!(op.contains("rms_norm"), "{op}");
            assert!(why.contains("only matmul"), "{why}");
        }
        other => panic!("expected Unsupported, got {other}"),
    }
}

#[test]
fn a_state_used_from_two_backends_is_refused() {
    let mut g = Graph::new();
    let cache = g.state("k_cache", DType::F32, &[1, 1, 4, 8]).unwrap();
    let (q, k) = (g.input("q", DType::F32, &[1, 1, 1, 8]).unwrap(), g.input("k", DType::F32, &[1, 1, 1, 8]).unwrap());
    let cache = g.kv_write(cache, k, Position::Run).unwrap();
    let attn = edgehal::AttentionOp { past: Some(Position::Run), ..Default::default() };
    let o = g.attention(q, cache, cache, None, attn).unwrap();
    g.output(o).unwrap();
    let err = Session::new(g, vec![only("attention")], Policy::default()).err().expect("state split");
    assert!(matches!(err, Error::Graph(ref m) if m.contains("k_cache")), "{err}");
}
