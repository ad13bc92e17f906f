//! Lowering of matmul (`matmul.<w dtype>.<variant>` modules): for up to [`GEMV_MAX_M`] rows of x,
//! quant weights with an integer decoder on a device with `dot4I8Packed` take the Dot4 variant
//! (`quantize_x` into a per-node scratch buffer, then `gemv`), others `gemv` (subgroup reduction
//! where the device has subgroups); otherwise `tiled` (64×64 tiles) or,
//! from [`LARGE_MIN_M`] rows, `tiled_large` (128×128), or the F16 variant's `tiled` (128×128 f16
//! tiles) for f16 x and f16 w where the device has f16 arithmetic.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Op, Result, TensorDesc};
use edgehal_shaders::Variant;

/// Rows of x up to which the matrix-vector kernel runs (once per x row, sharing weight reads
/// through the cache); more rows go to the tiled kernel.
const GEMV_MAX_M: usize = 4;
/// Rows of w per gemv workgroup (`GEMV_ROWS` in matmul.wgsl).
const GEMV_ROWS: usize = 2;
/// Edge of y's square tile per `tiled` workgroup: f32 tiles and f16 tiles (`TL`, `TH`).
const TILE: usize = 64;
const TILE_LARGE: usize = 128;
/// Rows of x from which the 128×128 tiles run (fewer would leave most of each tile empty).
const LARGE_MIN_M: usize = 128;
/// Workgroup memory of the tiled kernels (two tiles of 32 k-columns) and of the gemv reduction.
const TILED_SHARED: u32 = 2 * (TILE * 32 * 4) as u32;
const TILED_F16_SHARED: u32 = 2 * (TILE_LARGE * 32 * 2) as u32;
const GEMV_SHARED: u32 = 256 * 4;
/// Rows of w per dot4 gemv workgroup (`DOT4_ROWS` in matmul_dot4.wgsl), its reduction memory, and
/// the 32-blocks of x per `quantize_x` workgroup (`Q8X_WG`).
const DOT4_ROWS: usize = 4;
const DOT4_SHARED: u32 = 16 * 128 * 4;
const Q8X_WG: usize = 64;

/// Whether the weight dtype has a GPU decoder (plain floats always do).
fn weight_ok(w: DType) -> Result<(), String> {
    if w.is_float() || edgehal_shaders::formats::all().iter().any(|f| f.name == w.name()) {
        Ok(())
    } else {
        Err(format!("no GPU decoder for {w} weights"))
    }
}

/// Whether the node takes the dot4 GEMV: few rows of x, quant weights whose format has an integer
/// decoder, a device with `dot4I8Packed` and the reduction's workgroup memory.
fn dot4_gemv(w: DType, m: usize, caps: &Caps) -> bool {
    m <= GEMV_MAX_M
        && caps.has(Variant::Dot4)
        && caps.max_workgroup_storage >= DOT4_SHARED
        && edgehal_shaders::formats::all().iter().any(|f| f.name == w.name() && f.has_i8())
}

/// Rows of x: every axis but the last (k) folded together.
fn rows(x: &TensorDesc) -> usize {
    x.shape.iter().rev().skip(1).product()
}

/// Whether the matmul kernels take this node.
pub(crate) fn supports(_op: &Op, inputs: &[&TensorDesc], output: &TensorDesc, caps: &Caps) -> Result<(), String> {
    let (x, w) = (inputs[0], inputs[1]);
    if !matches!(x.dtype, DType::F32 | DType::F16) || output.dtype != DType::F32 {
        return Err(format!("matmul takes f32 or f16 x and gives f32 y; got x {}, y {}", x.dtype, output.dtype));
    }
    weight_ok(w.dtype)?;
    if w.shape.len() != 2 {
        return Err(format!("w must be [n, k]; got {:?}", w.shape));
    }
    let (n, k) = (w.shape[0], w.shape[1]);
    if !k.is_multiple_of(w.dtype.block_len()) {
        return Err(format!("k = {k} is not a multiple of the {} block length {}", w.dtype, w.dtype.block_len()));
    }
    for (what, v) in [("x elements", x.elems()), ("w elements", w.elems()), ("y elements", output.elems())] {
        if u32::try_from(v).is_err() {
            return Err(format!("{what} = {v} do not fit the kernels' 32-bit indices"));
        }
    }
    let m = rows(x);
    let shared = if m <= GEMV_MAX_M { GEMV_SHARED } else { TILED_SHARED };
    if caps.max_invocations < 256 || caps.max_workgroup_storage < shared {
        return Err(format!(
            "the matmul kernels need 256 invocations and {shared} bytes of workgroup memory per workgroup; the \
             device has {} and {}",
            caps.max_invocations, caps.max_workgroup_storage
        ));
    }
    let workgroups = if m <= GEMV_MAX_M { n.div_ceil(GEMV_ROWS) * m } else { n.div_ceil(TILE) * m.div_ceil(TILE) };
    let max_grid = u64::from(caps.max_workgroups_per_dim).pow(3);
    if workgroups as u64 > max_grid {
        return Err(format!("{workgroups} workgroups exceed the device's grid of {max_grid}"));
    }
    Ok(())
}

/// The dispatches for one node.
pub(crate) fn lower(cx: &mut Cx, _op: &Op) -> Result<()> {
    let (x, w) = (cx.input_desc(0).clone(), cx.input_desc(1).clone());
    let (n, k) = (w.shape[0], w.shape[1]);
    let m = rows(&x);
    let x_f16 = x.dtype == DType::F16;
    let params = vec![u32_word("m", m)?, u32_word("n", n)?, u32_word("k", k)?, Word::U32(x_f16 as u32)];
    let code_book = cx.code_book(w.dtype)?;
    let bufs: Vec<_> = [cx.input(0), cx.input(1), cx.out()].into_iter().chain(code_book).collect();
    let wname = w.dtype.name();
    if dot4_gemv(w.dtype, m, cx.caps) {
        // int8 quants (k bytes per row) then one f32 scale per 32 values.
        let xq = cx.scratch((m * k + m * (k / 32) * 4) as u64);
        let bufs: Vec<_> = [cx.input(0), cx.input(1), cx.out(), xq].into_iter().chain(code_book).collect();
        let module = format!("matmul.{wname}.dot4");
        let blocks = (m * (k / 32)).div_ceil(Q8X_WG) as u64;
        cx.dispatch_1d(module.clone(), "quantize_x", bufs.clone(), params.clone(), blocks);
        cx.dispatch_1d(module, "gemv", bufs, params, n.div_ceil(DOT4_ROWS) as u64);
        return Ok(());
    }
    if m <= GEMV_MAX_M {
        let variant = cx.caps.pick(&[Variant::Subgroup]);
        let module = format!("matmul.{wname}.{}", variant.name());
        cx.dispatch_1d(module, "gemv", bufs, params, (n.div_ceil(GEMV_ROWS) * m) as u64);
        return Ok(());
    }
    let f16_tiles = x_f16
        && w.dtype == DType::F16
        && k.is_multiple_of(8)
        && cx.caps.has(Variant::F16)
        && cx.caps.max_workgroup_storage >= TILED_F16_SHARED;
    let (variant, entry, tile) = if f16_tiles {
        (Variant::F16, "tiled", TILE_LARGE)
    } else if m >= LARGE_MIN_M {
        (Variant::Base, "tiled_large", TILE_LARGE)
    } else {
        (Variant::Base, "tiled", TILE)
    };
    let module = format!("matmul.{wname}.{}", variant.name());
    cx.dispatch_1d(module, entry, bufs, params, (n.div_ceil(tile) * m.div_ceil(tile)) as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Command;
    use edgehal::{Graph, NodeId, Partition, Support, Tensor};

    /// Caps with every optional feature.
    fn all_features() -> Caps {
        Caps { f16: true, subgroups: true, dot4: true, ..Caps::baseline() }
    }

    /// Lowers `x [m, k] · w [n, k]ᵀ` and returns the (module, entry) of every dispatch.
    fn lowered(w: DType, x: DType, m: usize, n: usize, k: usize, caps: &Caps) -> Vec<(String, &'static str)> {
        let mut g = Graph::new();
        let xi = g.input("x", x, &[m, k]).unwrap();
        let wt = Tensor::zeros(TensorDesc::new(w, vec![n, k])).unwrap();
        let wi = g.weight("w", wt);
        let y = g.matmul(xi, wi).unwrap();
        g.output(y).unwrap();
        let node = NodeId(g.nodes().len() - 1);
        let part = Partition { nodes: vec![node], inputs: vec![xi], outputs: vec![y], states: vec![] };
        assert_eq!(crate::supports(&g, node, caps), Support::Yes);
        let program = crate::lower(&g, &part, caps, "test").unwrap();
        program
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Dispatch(d) => Some((d.module.clone(), d.entry)),
                Command::Copy { .. } => None,
            })
            .collect()
    }

    #[test]
    fn every_dispatch_names_an_existing_module_and_entry_point() {
        let mut weights = vec![DType::F32, DType::F16, DType::BF16];
        weights.extend(DType::QUANTIZED.into_iter().filter(|&d| weight_ok(d).is_ok()));
        for caps in [Caps::baseline(), all_features()] {
            for &w in &weights {
                for x in [DType::F32, DType::F16] {
                    for m in [1, 4, 5, 130] {
                        let k = w.block_len().max(8) * 2;
                        for (module, entry) in lowered(w, x, m, 3, k, &caps) {
                            let spec = edgehal_shaders::module(&module).unwrap_or_else(|| panic!("no module {module}"));
                            assert!(spec.source().contains(&format!("fn {entry}(")), "{module} has no {entry}");
                            assert!(caps.has(spec.variant));
                        }
                    }
                }
            }
        }
    }

    /// Lattice weights bind their code book after the module's own buffers, one constant for all
    /// the nodes that read it, and every dispatch binds exactly the module's storage bindings.
    #[test]
    fn code_books_are_bound_last_and_shared() {
        for caps in [Caps::baseline(), all_features()] {
            let mut g = Graph::new();
            let xi = g.input("x", DType::F32, &[1, 256]).unwrap();
            let w1 = g.weight("w1", Tensor::zeros(TensorDesc::new(DType::IQ2_XXS, vec![3, 256])).unwrap());
            let w2 = g.weight("w2", Tensor::zeros(TensorDesc::new(DType::IQ2_XXS, vec![5, 256])).unwrap());
            let (y1, y2) = (g.matmul(xi, w1).unwrap(), g.matmul(xi, w2).unwrap());
            g.output(y1).unwrap();
            g.output(y2).unwrap();
            let part = Partition {
                nodes: vec![NodeId(0), NodeId(1)],
                inputs: vec![xi],
                outputs: vec![y1, y2],
                states: vec![],
            };
            let program = crate::lower(&g, &part, &caps, "test").unwrap();
            let book = edgehal::kernels::quant::code_book(DType::IQ2_XXS).unwrap();
            let books: Vec<usize> =
                (0..program.consts.len()).filter(|&i| program.consts[i].desc().elems() == book.len()).collect();
            assert_eq!(books.len(), 1, "one code-book constant");
            for c in &program.commands {
                let Command::Dispatch(d) = c else { continue };
                let spec = edgehal_shaders::module(&d.module).unwrap();
                assert_eq!(d.buffers.len() + 1, spec.bindings().len(), "{}", d.module);
                assert_eq!(*d.buffers.last().unwrap(), crate::program::Buf::Const(books[0]), "{}", d.module);
            }
        }
    }

    #[test]
    fn variants_follow_the_caps_and_shapes() {
        let caps = all_features();
        assert_eq!(
            lowered(DType::Q4_0, DType::F32, 1, 8, 64, &caps),
            [("matmul.q4_0.dot4".into(), "quantize_x"), ("matmul.q4_0.dot4".into(), "gemv")]
        );
        let no_dot4 = Caps { dot4: false, ..caps.clone() };
        assert_eq!(lowered(DType::Q4_0, DType::F32, 1, 8, 64, &no_dot4)[0].0, "matmul.q4_0.subgroup");
        assert_eq!(lowered(DType::F16, DType::F32, 1, 8, 64, &caps)[0].0, "matmul.f16.subgroup");
        assert_eq!(lowered(DType::Q4_K, DType::F16, 4, 8, 256, &caps)[1], ("matmul.q4_k.dot4".into(), "gemv"));
        assert_eq!(lowered(DType::Q4_K, DType::F32, 5, 8, 256, &caps)[0].0, "matmul.q4_k.base");
        assert_eq!(lowered(DType::Q4_0, DType::F32, 1, 8, 64, &Caps::baseline())[0].0, "matmul.q4_0.base");
        assert_eq!(lowered(DType::F16, DType::F16, 64, 8, 64, &caps)[0], ("matmul.f16.f16".into(), "tiled"));
        // f16 tiles need k a multiple of 8 and f16 x; otherwise the f32 tiles run.
        assert_eq!(lowered(DType::F16, DType::F16, 64, 8, 67, &caps)[0].0, "matmul.f16.base");
        assert_eq!(lowered(DType::F16, DType::F32, 64, 8, 64, &caps)[0], ("matmul.f16.base".into(), "tiled"));
        assert_eq!(lowered(DType::Q4_0, DType::F32, 128, 8, 256, &caps)[0].1, "tiled_large");
    }

    #[test]
    fn supports_refuses_with_a_reason() {
        let caps = Caps::baseline();
        let y = TensorDesc::new(DType::F32, vec![2, 3]);
        let x = TensorDesc::new(DType::F32, vec![2, 48]);
        let w = TensorDesc::new(DType::Q4_0, vec![3, 48]);
        let err = supports(&Op::MatMul, &[&x, &w], &y, &caps).unwrap_err();
        assert!(err.contains("not a multiple"), "{err}");
        let xb = TensorDesc::new(DType::BF16, vec![2, 64]);
        let w = TensorDesc::new(DType::F32, vec![3, 64]);
        assert!(supports(&Op::MatMul, &[&xb, &w], &y, &caps).unwrap_err().contains("f32 or f16 x"));
        let x = TensorDesc::new(DType::F32, vec![8, 64]);
        let small = Caps { max_workgroup_storage: 8192, ..caps };
        let y = TensorDesc::new(DType::F32, vec![8, 3]);
        assert!(supports(&Op::MatMul, &[&x, &w], &y, &small).unwrap_err().contains("workgroup memory"));
    }
}
