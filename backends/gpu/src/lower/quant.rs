//! Lowering of the quant family (`quant.<dtype>.base` modules): dequantize, get_rows, and casts
//! from a quant format to f32 (decoding) or from f32 to a quant format (encoding).
//!
//! get_rows with an id outside the table: the CPU backend fails the run, which a GPU kernel
//! cannot do; the kernel writes a row of NaN instead (never reading outside the table), so the
//! bad id shows in the result rather than as a plausible row.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Op, Result, TensorDesc};
use edgehal_shaders::formats::{self, Format};

/// Invocations per workgroup of every quant kernel.
const WG: u64 = 64;

/// The GPU parts of a quant format, if any.
fn format(dtype: DType) -> Option<Format> {
    formats::all().into_iter().find(|f| f.name == dtype.name())
}

/// Whether the source dtype can be decoded: a plain float or a format with a decoder.
fn decodable(dtype: DType) -> Result<(), String> {
    if dtype.is_float() || format(dtype).is_some() { Ok(()) } else { Err(format!("no GPU decoder for {dtype}")) }
}

/// Whether the quant kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let src = inputs[0];
    let block = src.dtype.block_len();
    let fits = |what: &str, v: usize| {
        u32::try_from(v).map(|_| ()).map_err(|_| format!("{what} = {v} does not fit the kernels' 32-bit indices"))
    };
    match op {
        Op::Dequantize { to: DType::F32 | DType::F16 } => {
            decodable(src.dtype)?;
            fits("elements", src.elems())
        }
        Op::GetRows => {
            decodable(src.dtype)?;
            if src.shape.len() != 2 || !src.shape[1].is_multiple_of(block) {
                return Err(format!("get_rows needs a [rows, cols] table with cols a multiple of {block}"));
            }
            fits("table elements", src.elems())?;
            fits("output elements", output.elems())
        }
        Op::Cast { to: DType::F32 } if src.dtype.is_quantized() => {
            decodable(src.dtype)?;
            fits("elements", src.elems())
        }
        Op::Cast { to } if to.is_quantized() && src.dtype == DType::F32 => {
            if format(*to).and_then(|f| f.encode).is_none() {
                return Err(format!("no GPU encoder for {to}"));
            }
            if !src.elems().is_multiple_of(to.block_len()) {
                return Err(format!("{} elements are not whole {to} blocks", src.elems()));
            }
            fits("elements", src.elems())
        }
        _ => Err(format!(
            "{} from {} to {} is not a quant-family operation the GPU kernels implement",
            op.name(),
            src.dtype,
            output.dtype
        )),
    }
}

/// The dispatches for one node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let src = cx.input_desc(0).clone();
    let module = format!("quant.{}.base", src.dtype.name());
    match op {
        Op::Dequantize { .. } | Op::Cast { .. } if cx.out_desc().dtype.is_quantized() => quantize(cx, &src),
        Op::Dequantize { .. } | Op::Cast { .. } => {
            let elems = src.elems();
            let out_f16 = cx.out_desc().dtype == DType::F16;
            // Block formats: one invocation per 8 elements; floats: one per output word.
            let count = match (src.dtype.is_quantized(), out_f16) {
                (true, _) => elems / 8,
                (false, true) => elems.div_ceil(2),
                (false, false) => elems,
            };
            let params = vec![
                u32_word("invocations", count)?,
                u32_word("elements", elems)?,
                Word::U32(0),
                Word::U32(0),
                Word::U32(out_f16 as u32),
            ];
            let dummy = cx.dummy();
            let code_book = cx.code_book(src.dtype)?;
            let bufs = [cx.input(0), dummy, dummy, cx.out()].into_iter().chain(code_book).collect();
            cx.dispatch_1d(module, "dequantize", bufs, params, (count as u64).div_ceil(WG));
            Ok(())
        }
        Op::GetRows => {
            let (rows, cols) = (src.shape[0], src.shape[1]);
            let n = cx.input_desc(1).elems();
            let count = if src.dtype.is_quantized() { n * cols / 8 } else { n * cols };
            let params = vec![
                u32_word("invocations", count)?,
                u32_word("elements", src.elems())?,
                u32_word("columns", cols)?,
                u32_word("rows", rows)?,
                Word::U32(0),
            ];
            let dummy = cx.dummy();
            let code_book = cx.code_book(src.dtype)?;
            let bufs = [cx.input(0), cx.input(1), dummy, cx.out()].into_iter().chain(code_book).collect();
            cx.dispatch_1d(module, "get_rows", bufs, params, (count as u64).div_ceil(WG));
            Ok(())
        }
        _ => unreachable!("supports() refused it"),
    }
}

/// f32 to a quant format: one invocation per group of blocks that ends on a word boundary.
fn quantize(cx: &mut Cx, src: &TensorDesc) -> Result<()> {
    let to = cx.out_desc().dtype;
    let blocks = src.elems() / to.block_len();
    let group = match to.block_bytes() % 4 {
        0 => 1,
        2 => 2,
        _ => 4,
    };
    let count = blocks.div_ceil(group);
    let params =
        vec![u32_word("invocations", count)?, u32_word("blocks", blocks)?, Word::U32(0), Word::U32(0), Word::U32(0)];
    let dummy = cx.dummy();
    let bufs = vec![dummy, dummy, cx.input(0), cx.out()];
    cx.dispatch_1d(format!("quant.{}.base", to.name()), "quantize", bufs, params, (count as u64).div_ceil(WG));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Command;
    use edgehal::{Graph, NodeId, Partition, Support, Tensor};

    /// Lowers one node built by `op` on an input `x` and returns its (module, entry) pairs, or
    /// `supports`' reason.
    fn lowered(
        x: TensorDesc,
        op: impl FnOnce(&mut Graph, edgehal::ValueId) -> edgehal::Result<edgehal::ValueId>,
    ) -> Result<Vec<(String, &'static str)>, String> {
        let mut g = Graph::new();
        let xi = g.input("x", x.dtype, &x.shape).unwrap();
        let y = op(&mut g, xi).unwrap();
        g.output(y).unwrap();
        let inputs = g.inputs();
        let node = NodeId(g.nodes().len() - 1);
        if let Support::No(why) = crate::supports(&g, node, &Caps::baseline()) {
            return Err(why);
        }
        let part = Partition { nodes: vec![node], inputs, outputs: vec![y], states: vec![] };
        let program = crate::lower(&g, &part, &Caps::baseline(), "test").unwrap();
        Ok(program
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Dispatch(d) => Some((d.module.clone(), d.entry)),
                Command::Copy { .. } => None,
            })
            .collect())
    }

    fn assert_exists(dispatches: &[(String, &'static str)]) {
        for (module, entry) in dispatches {
            let spec = edgehal_shaders::module(module).unwrap_or_else(|| panic!("no module {module}"));
            assert!(spec.source().contains(&format!("fn {entry}(")), "{module} has no {entry}");
        }
    }

    #[test]
    fn every_decodable_dtype_lowers_to_existing_modules() {
        let mut dtypes = vec![DType::F32, DType::F16, DType::BF16];
        dtypes.extend(DType::QUANTIZED.into_iter().filter(|&d| format(d).is_some()));
        for d in dtypes {
            let shape = vec![3, d.block_len().max(5) * 2];
            for to in [DType::F32, DType::F16] {
                assert_exists(&lowered(TensorDesc::new(d, shape.clone()), |g, x| g.dequantize(x, to)).unwrap());
            }
            let table = Tensor::zeros(TensorDesc::new(d, shape.clone())).unwrap();
            let rows = lowered(TensorDesc::new(DType::I32, vec![4]), |g, ids| {
                let t = g.weight("table", table);
                g.get_rows(t, ids)
            });
            assert_exists(&rows.unwrap());
            if d.is_quantized() {
                assert_exists(&lowered(TensorDesc::new(d, shape.clone()), |g, x| g.cast(x, DType::F32)).unwrap());
                if format(d).and_then(|f| f.encode).is_some() {
                    let src = TensorDesc::new(DType::F32, shape.clone());
                    assert_exists(&lowered(src, |g, x| g.cast(x, d)).unwrap());
                }
            }
        }
    }

    #[test]
    fn casts_outside_the_family_are_refused_with_a_reason() {
        let desc = TensorDesc::new(DType::F16, vec![2, 32]);
        let out = TensorDesc::new(DType::Q8_0, vec![2, 32]);
        let err = supports(&Op::Cast { to: DType::Q8_0 }, &[&desc], &out, &Caps::baseline()).unwrap_err();
        assert!(err.contains("f16"), "{err}");
    }
}
