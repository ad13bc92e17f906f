//! Tests of the executor on hand-built programs (lavapipe, validation with synchronization
//! validation and shader checks on): dependent dispatches and copies, the host-timed profiling
//! path, and proof that the validation log catches real mistakes. (The layer, 1.3.239 here, does
//! not track naga's storage-buffer accesses in dispatches; the hazard tracker that places the
//! barriers is tested on its own in `record.rs`.)

use crate::executable::VulkanExecutable;
use crate::{VulkanBackend, VulkanOptions};
use ash::vk;
use edgehal::{Backend, Bindings, DType, DeviceBuffer, Executable, Graph, NodeId, Partition, Tensor, TensorDesc};
use edgehal_gpu::{Buf, Command, Dispatch, Program};

fn backend() -> VulkanBackend {
    let opts = VulkanOptions {
        validation: true,
        validate_shaders: true,
        pipeline_cache: Some("".into()),
        ..Default::default()
    };
    VulkanBackend::with_options(opts).expect("lavapipe with the validation layer")
}

/// The lowering's dispatch for `silu` over `n` f32 values (so this test follows kernel changes),
/// with its scratch buffers (dummies for absent inputs).
fn silu_template(b: &VulkanBackend, n: usize) -> (Dispatch, Vec<u64>) {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[n]).unwrap();
    let y = g.silu(x).unwrap();
    g.output(y).unwrap();
    let part = Partition { nodes: vec![NodeId(0)], inputs: vec![x], outputs: vec![y], states: vec![] };
    let program = edgehal_gpu::lower(&g, &part, b.caps(), "vulkan").unwrap();
    match program.commands.as_slice() {
        [Command::Dispatch(d)] => (d.clone(), program.scratch_bytes),
        other => panic!("silu lowers to one dispatch, got {other:?}"),
    }
}

/// The template with its input and output replaced, its scratch buffers moved after `offset`.
fn silu(template: &Dispatch, node: usize, src: Buf, dst: Buf, offset: usize) -> Command {
    let map = |b: Buf| match b {
        Buf::Input(0) => src,
        Buf::Output(0) => dst,
        Buf::Scratch(i) => Buf::Scratch(i + offset),
        other => panic!("unexpected buffer {other:?} in the silu dispatch"),
    };
    Command::Dispatch(Dispatch {
        node: NodeId(node),
        buffers: template.buffers.iter().copied().map(map).collect(),
        ..template.clone()
    })
}

/// x → silu → s0 → silu → out0 → copy → out1, then s0 rewritten from x after it was read (WAR).
fn chain(b: &VulkanBackend, n: usize) -> Program {
    let (t, dummies) = silu_template(b, n);
    let mut scratch_bytes = vec![(n * 4) as u64];
    scratch_bytes.extend(dummies);
    Program {
        commands: vec![
            silu(&t, 0, Buf::Input(0), Buf::Scratch(0), 1),
            silu(&t, 1, Buf::Scratch(0), Buf::Output(0), 1),
            Command::Copy { node: NodeId(2), src: Buf::Output(0), dst: Buf::Output(1), bytes: (n * 4) as u64 },
            silu(&t, 3, Buf::Input(0), Buf::Scratch(0), 1),
        ],
        consts: Vec::new(),
        scratch_bytes,
        nodes: (0..4).map(NodeId).collect(),
        position_limit: None,
    }
}

/// Runs the chain, returning both outputs.
fn run_chain(
    b: &VulkanBackend,
    configure: impl FnOnce(&mut VulkanExecutable),
    profile: bool,
) -> (Vec<f32>, Vec<f32>, usize) {
    let n = 1000;
    let desc = TensorDesc::new(DType::F32, [n]);
    let mut exe =
        VulkanExecutable::new(b.ctx.clone(), chain(b, n), [vec![desc.clone()], vec![desc.clone(); 2], vec![]])
            .expect("compile");
    configure(&mut exe);
    let xs: Vec<f32> = (0..n).map(|i| (i as f32 - 500.0) / 50.0).collect();
    let mut x = b.allocate(&desc).unwrap();
    b.upload(x.as_mut(), &Tensor::from_f32([n], &xs).unwrap()).unwrap();
    let mut y0 = b.allocate(&desc).unwrap();
    let mut y1 = b.allocate(&desc).unwrap();
    let bindings = Bindings { inputs: vec![x.as_ref()], outputs: vec![y0.as_mut(), y1.as_mut()], states: vec![] };
    let timings = exe.run(bindings, 0, profile).expect("run");
    let get = |t: &dyn DeviceBuffer| b.download(t).unwrap().as_f32().unwrap().to_vec();
    let (a, c) = (get(y0.as_ref()), get(y1.as_ref()));
    for (i, v) in a.iter().enumerate() {
        let s = |v: f32| v / (1.0 + (-v).exp());
        let want = s(s(xs[i]));
        assert!((v - want).abs() <= 1e-5 * (1.0 + want.abs()), "element {i}: {v} vs {want}");
    }
    (a, c, timings.len())
}

#[test]
fn dependent_dispatches_and_copies_are_synchronised() {
    let b = backend();
    let (a, c, timings) = run_chain(&b, |_| {}, true);
    assert_eq!(a, c, "the copy saw the second dispatch's output");
    assert_eq!(timings, 4, "one timing per node from device timestamps");
    assert!(b.validation_messages().is_empty(), "{:#?}", b.validation_messages());
}

#[test]
fn host_timed_profiles_submit_node_by_node() {
    let b = backend();
    let (_, _, timings) = run_chain(&b, |e| e.host_timing = true, true);
    assert_eq!(timings, 4);
    assert!(b.validation_messages().is_empty(), "{:#?}", b.validation_messages());
}

/// The messenger really records: a deliberately invalid call (a zero-sized buffer) must show up,
/// so the integration tests' "no validation messages" assertions can fail.
#[test]
fn the_validation_log_records_a_deliberate_error() {
    let b = backend();
    assert!(b.validation_messages().is_empty(), "{:?}", b.validation_messages());
    let info = vk::BufferCreateInfo::default().size(0).usage(vk::BufferUsageFlags::STORAGE_BUFFER);
    // SAFETY: invalid on purpose; the validation layer reports it (and skips the driver call).
    if let Ok(buffer) = unsafe { b.ctx.device.create_buffer(&info, None) } {
        // SAFETY: destroying what was created.
        unsafe { b.ctx.device.destroy_buffer(buffer, None) };
    }
    let messages = b.validation_messages();
    assert!(messages.iter().any(|m| m.contains("VkBufferCreateInfo") && m.starts_with("error")), "{messages:?}");
}
