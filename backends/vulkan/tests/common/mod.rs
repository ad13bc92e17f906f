//! Helpers shared by the Vulkan backend's tests (run on lavapipe with validation on).

#![allow(dead_code)]

use edgehal::{Backend, DType, Graph, Policy, RunOptions, Session, Tensor};
use edgehal_vulkan::{VulkanBackend, VulkanOptions};
use std::sync::Arc;

/// Options for tests: validation on, pipeline cache in memory only.
pub fn options() -> VulkanOptions {
    VulkanOptions { validation: true, pipeline_cache: Some("".into()), ..Default::default() }
}

/// The backend with `opts`; Vulkan (lavapipe) must be installed for these tests.
pub fn backend(opts: VulkanOptions) -> Arc<VulkanBackend> {
    match VulkanBackend::with_options(opts) {
        Ok(b) => Arc::new(b),
        Err(e) => panic!("Vulkan backend unavailable (install mesa-vulkan-drivers, vulkan-validationlayers): {e}"),
    }
}

/// Panics with the messages if the validation layer reported anything.
pub fn assert_no_validation_messages(b: &VulkanBackend) {
    let m = b.validation_messages();
    assert!(m.is_empty(), "{} validation message(s):\n{}", m.len(), m.join("\n"));
}

/// Deterministic values in [-4, 4) with a few specials where `specials` is set.
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
        })
        .collect()
}

/// A graph `y = silu(x)` over `dtype` `shape`.
pub fn silu_graph(dtype: DType, shape: &[usize]) -> Graph {
    let mut g = Graph::new();
    let x = g.input("x", dtype, shape).unwrap();
    let y = g.silu(x).unwrap();
    g.output(y).unwrap();
    g
}

/// Runs `graph` on `backend` alone (no CPU fallback) with input `x`, returning output `silu_0`.
pub fn run_silu(backend: Arc<dyn Backend>, graph: Graph, x: &Tensor, opts: &RunOptions) -> Tensor {
    let mut s = Session::new(graph, vec![backend], Policy::strict()).expect("session");
    s.run_with(&[("x", x)], opts).expect("run").get("silu_0").expect("output").clone()
}
