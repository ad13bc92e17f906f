//! Inputs found by the fuzz targets in `fuzz/` (see docs/FUZZING.md), each once a panic with
//! overflow checks on, or a wrapped size without them. They must now give typed errors, or read
//! correctly where the input is valid.

use edgehal::gguf::GgufFile;
use edgehal::{DType, Error, Graph, Tensor, TensorDesc};

/// `graph` target: a state of `usize::MAX` f32 elements overflowed the byte count (in release it
/// wrapped to `usize::MAX - 3` and was accepted); `[2⁶², 4]` wrapped to 0 elements.
#[test]
fn fuzz_graph_huge_shapes_are_refused_at_build_time() {
    let mut g = Graph::new();
    for shape in [&[usize::MAX][..], &[1 << 62, 4], &[1 << 32, 1 << 32], &[usize::MAX / 2, 2, 2], &[1 << 61]] {
        assert!(matches!(g.state("s", DType::F32, shape), Err(Error::Shape { .. })), "{shape:?}");
        assert!(matches!(g.input("x", DType::F32, shape), Err(Error::Shape { .. })), "{shape:?}");
    }
    assert!(matches!(g.input("q", DType::Q8_0, &[usize::MAX / 32 * 32]), Err(Error::Shape { .. })));
    assert!(g.input("fits", DType::F32, &[1 << 20, 1 << 10]).is_ok(), "4 GiB is a valid declaration");
    assert!(g.input("empty", DType::F32, &[usize::MAX, 0]).is_ok(), "a zero dimension takes no bytes");
}

/// The byte count of every shape is exact or an error, never wrapped.
#[test]
fn fuzz_byte_len_is_checked() {
    let len = |dtype, shape: &[usize]| TensorDesc::new(dtype, shape).byte_len("t").ok();
    assert_eq!(len(DType::F32, &[1 << 62, 0]), Some(0));
    assert_eq!(len(DType::Q4_0, &[3, 64]), Some(3 * 2 * 18));
    assert_eq!(len(DType::F16, &[]), Some(2));
    assert_eq!(len(DType::F32, &[(1 << 62) + 1, 1]), None, "(2⁶²+1)·4 wraps to 4");
    assert_eq!(len(DType::I32, &[usize::MAX]), None);
    assert!(Tensor::from_bytes(DType::I32, [(1 << 62) + 1, 1], &[0; 4]).is_err());
}

/// `gguf` target: an empty f32 tensor (dims `[2⁶², 0]`, which the reader accepts) overflowed
/// the row size when made into a `Tensor`.
#[test]
fn fuzz_gguf_empty_tensor_with_a_huge_dimension() {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes()); // version
    b.extend(1u64.to_le_bytes()); // tensors
    b.extend(0u64.to_le_bytes()); // metadata entries
    b.extend(1u64.to_le_bytes()); // name length
    b.push(b'q');
    b.extend(2u32.to_le_bytes()); // n_dims
    b.extend((1u64 << 62).to_le_bytes()); // ne[0]
    b.extend(0u64.to_le_bytes()); // ne[1]
    b.extend(0u32.to_le_bytes()); // F32
    b.extend(0u64.to_le_bytes()); // offset
    b.resize(b.len().next_multiple_of(32), 0);
    let file = GgufFile::from_bytes(b).unwrap();
    let t = file.tensor("q").unwrap();
    assert_eq!(t.shape(), &[0, 1 << 62]);
    assert!(t.to_f32_vec().unwrap().is_empty());
}

/// `graph` target: a state that no node uses, marked as an output, indexed a map of the states
/// the session holds and panicked at run time.
#[test]
fn fuzz_graph_unused_state_as_output() {
    use edgehal::{CpuBackend, Policy, Session};
    let mut g = Graph::new();
    let s = g.state("s", DType::BF16, &[]).unwrap();
    g.output(s).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(1).unwrap())];
    if let Ok(mut session) = Session::new(g, cpu, Policy::default()) {
        let err = session.run(&[]).unwrap_err();
        assert!(matches!(err, Error::Graph(_)), "{err}");
    }
}

/// `graph` target: the element count of a reshape's target shape overflowed (in release,
/// `[2⁶²+1, 4]` wrapped to 4 elements and a 4-element tensor "reshaped" to it).
#[test]
fn fuzz_graph_reshape_to_an_overflowing_shape() {
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[4]).unwrap();
    assert!(matches!(g.reshape(x, &[(1 << 62) + 1, 4]), Err(Error::Shape { .. })));
    assert!(matches!(g.reshape(x, &[usize::MAX, 255, 42]), Err(Error::Shape { .. })));
    let empty = g.input("e", DType::F32, &[usize::MAX, usize::MAX, 0]).unwrap();
    assert!(g.reshape(empty, &[0]).is_ok(), "an empty tensor reshapes to another empty shape");
    assert!(g.reshape(empty, &[]).is_err());
    let y = g.reshape(x, &[2, 2]).unwrap();
    assert_eq!(g.value(y).desc.shape, [2, 2]);
}

/// `graph` target: attention with a fixed past of `usize::MAX` overflowed `past + s` in the shape
/// check.
#[test]
fn fuzz_graph_attention_past_overflow() {
    use edgehal::{AttentionOp, Position};
    let mut g = Graph::new();
    let q = g.input("q", DType::F32, &[1, 2, 2, 8]).unwrap();
    let k = g.input("k", DType::F32, &[1, 2, 4, 8]).unwrap();
    let v = g.input("v", DType::F32, &[1, 2, 4, 8]).unwrap();
    let params = AttentionOp { past: Some(Position::Fixed(usize::MAX)), ..Default::default() };
    assert!(matches!(g.attention(q, k, v, None, params), Err(Error::Shape { .. })));
}

/// `graph` target: a kv_write at a fixed position of `usize::MAX` overflowed `p + s`; the same
/// at run time through `RunOptions::position`.
#[test]
fn fuzz_graph_kv_write_position_overflow() {
    use edgehal::Position;
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &[1, 2, 4, 8]).unwrap();
    let new = g.input("new", DType::F32, &[1, 2, 1, 8]).unwrap();
    assert!(matches!(g.kv_write(cache, new, Position::Fixed(usize::MAX)), Err(Error::Shape { .. })));
}

/// A run position of `usize::MAX` for a `Position::Run` cache write is a typed error, and the
/// session still runs at a valid position afterwards.
#[test]
fn run_position_past_the_cache_is_an_error() {
    use edgehal::{CpuBackend, Policy, Position, RunOptions, Session};
    let mut g = Graph::new();
    let cache = g.state("cache", DType::F32, &[1, 1, 4, 8]).unwrap();
    let new = g.input("new", DType::F32, &[1, 1, 1, 8]).unwrap();
    let written = g.kv_write(cache, new, Position::Run).unwrap();
    g.output(written).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(1).unwrap())];
    let mut s = Session::new(g, cpu, Policy::default()).unwrap();
    let x = Tensor::from_f32([1, 1, 1, 8], &[0.5; 8]).unwrap();
    let far = RunOptions { position: usize::MAX, ..Default::default() };
    assert!(s.run_with(&[("new", &x)], &far).is_err());
    let ok = RunOptions { position: 3, ..Default::default() };
    assert!(s.run_with(&[("new", &x)], &ok).is_ok());
}

/// `graph` target: softmax over an empty tensor with a huge last dimension overflowed the CPU
/// kernels' work estimate (`3 · d`; a panic with overflow checks, as in a debug `cargo test`).
#[test]
fn empty_rows_with_a_huge_last_dimension_run() {
    use edgehal::{CpuBackend, Policy, Session};
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[0, 1 << 63]).unwrap();
    let y = g.softmax(x).unwrap();
    g.output(y).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(2).unwrap())];
    let mut s = Session::new(g, cpu, Policy::default()).unwrap();
    let empty = Tensor::from_f32([0, 1 << 63], &[]).unwrap();
    s.run(&[("x", &empty)]).unwrap();
}

/// `graph` target: rope at a fixed offset near `usize::MAX` overflowed `offset + row` in the CPU
/// kernel's position table; a `Position::Run` rope at such a run position is refused at run time,
/// and the session runs at a valid position afterwards.
#[test]
fn fuzz_graph_rope_position_overflow() {
    use edgehal::{CpuBackend, Policy, Position, RopeMode, RunOptions, Session};
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[1, 1, 3, 4]).unwrap();
    assert!(matches!(g.rope(x, 10000.0, RopeMode::Normal, Position::Fixed(usize::MAX - 1)), Err(Error::Param { .. })));
    assert!(g.rope(x, 10000.0, RopeMode::Normal, Position::Fixed(usize::MAX - 3)).is_ok(), "the last row fits");
    let y = g.rope(x, 10000.0, RopeMode::Neox, Position::Run).unwrap();
    g.output(y).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(2).unwrap())];
    let mut s = Session::new(g, cpu, Policy::default()).unwrap();
    let input = Tensor::from_f32([1, 1, 3, 4], &[0.25; 12]).unwrap();
    let far = RunOptions { position: usize::MAX - 1, ..Default::default() };
    assert!(s.run_with(&[("x", &input)], &far).is_err());
    let ok = RunOptions { position: 7, ..Default::default() };
    assert!(s.run_with(&[("x", &input)], &ok).is_ok());
}

/// `graph` target: permuting an empty tensor whose other axes are huge (`[2⁶², 4, 0]`)
/// overflowed the CPU executor's input strides.
#[test]
fn fuzz_graph_permute_of_an_empty_tensor_with_huge_axes() {
    use edgehal::{CpuBackend, Policy, Session};
    let shape = [1 << 62, 4, 0];
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &shape).unwrap();
    let y = g.permute(x, &[2, 0, 1]).unwrap();
    g.output(y).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(1).unwrap())];
    let mut s = Session::new(g, cpu, Policy::default()).unwrap();
    let empty = Tensor::from_f32(shape, &[]).unwrap();
    let out = s.run(&[("x", &empty)]).unwrap();
    assert_eq!(out.at(0).unwrap().shape(), &[0, 1 << 62, 4]);
}

/// `graph` target, after 5,093,443 executions: a matmul against an f32 weight of no rows and
/// `2⁶⁰` columns (0 bytes, so its byte count checked out) overflowed the padded panel size
/// while the CPU packed it. The packing now refuses rows whose padded panel passes
/// `isize::MAX` bytes, as a typed kernel error when the session compiles.
#[test]
fn fuzz_graph_matmul_against_an_empty_weight_with_huge_rows() {
    use edgehal::{CpuBackend, KernelError, Policy, Session};
    let k = 1usize << 60;
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[0, k]).unwrap();
    let w = g.weight("w", Tensor::from_f32([0, k], &[]).unwrap());
    let y = g.matmul(x, w).unwrap();
    g.output(y).unwrap();
    let cpu: Vec<std::sync::Arc<dyn edgehal::Backend>> =
        vec![std::sync::Arc::new(CpuBackend::with_threads(1).unwrap())];
    match Session::new(g, cpu, Policy::default()) {
        Err(Error::Kernel(KernelError::RowTooLong { dtype: DType::F32, elems, .. })) => assert_eq!(elems, k),
        Err(other) => panic!("expected RowTooLong, got {other}"),
        Ok(_) => panic!("a weight whose padded panel passes isize::MAX bytes was packed"),
    }
}
