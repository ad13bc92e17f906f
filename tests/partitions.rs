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

fn cache_graph() -> Graph {
    let mut g = Graph::new();
    let cache = g.state("k_cache", DType::F32, &[1, 1, 4, 8]).unwrap();
    let (q, k) = (g.input("q", DType::F32, &[1, 1, 1, 8]).unwrap(), g.input("k", DType::F32, &[1, 1, 1, 8]).unwrap());
    let cache = g.kv_write(cache, k, Position::Run).unwrap();
    let attn = edgehal::AttentionOp { past: Some(Position::Run), ..Default::default() };
    let o = g.attention(q, cache, cache, None, attn).unwrap();
    g.output(o).unwrap();
    g
}

#[test]
fn a_state_used_from_two_backends_gathers_on_one() {
    // The attention-only backend would take attention, the CPU kv_write: both move to the CPU,
    // where the cache lives, and the result is the CPU's.
    let mut split = Session::new(cache_graph(), vec![only("attention")], Policy::default()).unwrap();
    let placed: Vec<&str> = split.plan().placement.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(placed, ["cpu", "cpu"], "{:?}", split.plan().placement);
    let mut cpu = Session::new(cache_graph(), vec![Arc::new(CpuBackend::new().unwrap())], Policy::default()).unwrap();
    let q = Tensor::from_f32([1, 1, 1, 8], &[0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.1, -0.3]).unwrap();
    let k = Tensor::from_f32([1, 1, 1, 8], &[1.0, 0.5, -0.5, 0.25, 2.0, -1.0, 0.3, 0.7]).unwrap();
    let inputs = [("q", &q), ("k", &k)];
    assert_eq!(split.run(&inputs).unwrap().at(0).unwrap().bytes(), cpu.run(&inputs).unwrap().at(0).unwrap().bytes());
}

#[test]
fn a_state_split_with_no_common_backend_is_refused() {
    // Without fallback, and no backend taking both kv_write and attention, the session refuses.
    let backends = vec![only("attention"), only("kv_write")];
    let err = Session::new(cache_graph(), backends, Policy::strict()).err().expect("state split");
    assert!(matches!(err, Error::Graph(ref m) if m.contains("k_cache")), "{err}");
}
