//! Lowering of matmul (`matmul.<w dtype>.<variant>` modules): `gemv` for up to [`GEMV_MAX_M`] rows
//! of x (subgroup reduction where the device has subgroups), `tiled` otherwise (f16 tiles for f16
//! x and f16 w where the device has f16 arithmetic).

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
const TILE_F16: usize = 128;
/// Workgroup memory of the tiled kernels (two tiles of 32 k-columns) and of the gemv reduction.
const TILED_SHARED: u32 = 2 * (TILE * 32 * 4) as u32;
const TILED_F16_SHARED: u32 = 2 * (TILE_F16 * 32 * 2) as u32;
const GEMV_SHARED: u32 = 256 * 4;

/// Whether the weight dtype has a GPU decoder (plain floats always do).
fn weight_ok(w: DType) -> Result<(), String> {
    if w.is_float() || edgehal_shaders::formats::all().iter().any(|f| f.name == w.name()) {
        Ok(())
    } else {
        Err(format!("no GPU decoder for {w} weights"))
    }
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
    let m = x.elems() / k.max(1);
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
    let m = if k == 0 { cx.out_desc().elems() / n.max(1) } else { x.elems() / k };
    let x_f16 = x.dtype == DType::F16;
    let params = vec![u32_word("m", m)?, u32_word("n", n)?, u32_word("k", k)?, Word::U32(x_f16 as u32)];
    let bufs = vec![cx.input(0), cx.input(1), cx.out()];
    let wname = w.dtype.name();
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
    let (variant, tile) = if f16_tiles { (Variant::F16, TILE_F16) } else { (Variant::Base, TILE) };
    let module = format!("matmul.{wname}.{}", variant.name());
    cx.dispatch_1d(module, "tiled", bufs, params, (n.div_ceil(tile) * m.div_ceil(tile)) as u64);
    Ok(())
}
