//! One node on the CPU: the op's inputs as byte views, dispatched to the kernels crate.

use crate::error::{Error, Result};
use crate::ops::Op;
use crate::tensor::TensorDesc;
use edgehal_kernels::cpu::matmul::{self, PackedWeights};
use edgehal_kernels::cpu::ops::{self as k, KvCache};
use edgehal_kernels::{BinaryKind, DType, quant};
use half::{bf16, f16};
use rayon::prelude::*;

/// A read-only view of one input.
pub(crate) struct View<'a> {
    pub desc: &'a TensorDesc,
    pub bytes: &'a [u8],
}

impl View<'_> {
    fn f32(&self) -> &[f32] {
        bytemuck::cast_slice(self.bytes)
    }
}

fn f32_out(out: &mut [u8]) -> &mut [f32] {
    bytemuck::cast_slice_mut(out)
}

/// Runs `op` on `inputs`, writing `out` (which has the output's exact byte length).
pub(crate) fn run_node(
    op: &Op,
    inputs: &[View],
    out_desc: &TensorDesc,
    out: &mut [u8],
    packed: Option<&PackedWeights>,
    position: usize,
    f32_activations: bool,
) -> Result<()> {
    match op {
        Op::MatMul => run_matmul(&inputs[0], &inputs[1], packed, f32_out(out), f32_activations),
        Op::Attention(a) => {
            let (q, kk, v) = (&inputs[0], &inputs[1], &inputs[2]);
            let shape = a.shape(q.desc, kk.desc, position);
            if shape.kv_len > shape.kv_capacity {
                return Err(Error::Input(format!(
                    "attention at position {position}: {} positions exceed the cache capacity {}",
                    shape.kv_len, shape.kv_capacity
                )));
            }
            let mask = inputs.get(3).map(|m| m.f32());
            k::attention(q.f32(), kv_view(kk), kv_view(v), mask, &shape, &a.params(shape.head_dim), f32_out(out))?;
            Ok(())
        }
        Op::Dequantize { to } => dequantize_into(&inputs[0], *to, out),
        Op::GetRows => get_rows(&inputs[0], &inputs[1], f32_out(out)),
        Op::RmsNorm { eps } => {
            let w = inputs.get(1).map(|w| w.f32());
            Ok(k::rms_norm(inputs[0].f32(), inputs[0].desc.last_dim(), *eps, w, f32_out(out))?)
        }
        Op::LayerNorm { eps } => {
            let w = inputs.get(1).map(|w| w.f32());
            let b = inputs.get(2).map(|b| b.f32());
            Ok(k::layer_norm(inputs[0].f32(), inputs[0].desc.last_dim(), *eps, w, b, f32_out(out))?)
        }
        Op::Rope(r) => {
            let s = &inputs[0].desc.shape;
            Ok(k::rope(inputs[0].f32(), s[0], s[1], s[2], s[3], &r.params(position), f32_out(out))?)
        }
        Op::Softmax => Ok(k::softmax(inputs[0].f32(), inputs[0].desc.last_dim(), f32_out(out))?),
        Op::Silu => Ok(k::silu(inputs[0].f32(), f32_out(out))?),
        Op::Gelu(kind) => Ok(k::gelu(inputs[0].f32(), *kind, f32_out(out))?),
        Op::SwiGlu => Ok(k::swiglu(inputs[0].f32(), inputs[1].f32(), f32_out(out))?),
        Op::Add | Op::Mul => {
            let kind = if *op == Op::Add { BinaryKind::Add } else { BinaryKind::Mul };
            let (a, b) = (&inputs[0], &inputs[1]);
            Ok(k::binary(kind, a.f32(), &a.desc.shape, b.f32(), &b.desc.shape, f32_out(out))?)
        }
        Op::Cast { to } => cast_into(&inputs[0], *to, out),
        Op::Reshape { .. } | Op::Copy => {
            out.copy_from_slice(inputs[0].bytes);
            Ok(())
        }
        Op::Permute { perm } => {
            permute_into(&inputs[0], perm, out_desc, out);
            Ok(())
        }
        Op::KvWrite { pos } => kv_write(out_desc, out, &inputs[1], pos.resolve(position)),
    }
}

fn kv_view<'a>(v: &View<'a>) -> KvCache<'a> {
    match v.desc.dtype {
        DType::F16 => KvCache::F16(bytemuck::cast_slice(v.bytes)),
        _ => KvCache::F32(bytemuck::cast_slice(v.bytes)),
    }
}

fn run_matmul(x: &View, w: &View, packed: Option<&PackedWeights>, y: &mut [f32], f32_acts: bool) -> Result<()> {
    let k = x.desc.last_dim();
    let m = x.desc.elems() / k.max(1);
    let owned;
    let w = match packed {
        Some(p) => p,
        None => {
            owned = PackedWeights::new(w.desc.dtype, w.desc.shape[0], w.desc.shape[1], w.bytes)?;
            &owned
        }
    };
    let kernel = if f32_acts { matmul::matmul_f32_activations } else { matmul::matmul };
    match x.desc.dtype {
        DType::F16 => {
            let xs: Vec<f32> = bytemuck::cast_slice::<u8, f16>(x.bytes).iter().map(|v| v.to_f32()).collect();
            kernel(&xs, m, w, y)?
        }
        _ => kernel(x.f32(), m, w, y)?,
    }
    Ok(())
}

/// Rows of `row_elems` elements decoded in parallel chunks.
fn dequantize_rows(dtype: DType, src: &[u8], dst: &mut [f32], row_elems: usize) -> Result<()> {
    let row_bytes = dtype.bytes_for(row_elems).unwrap_or(0);
    if row_elems == 0 {
        return Ok(());
    }
    dst.par_chunks_mut(row_elems)
        .zip(src.par_chunks(row_bytes.max(1)))
        .try_for_each(|(d, s)| quant::dequantize_row(dtype, s, d))?;
    Ok(())
}

fn dequantize_into(w: &View, to: DType, out: &mut [u8]) -> Result<()> {
    let cols = w.desc.last_dim();
    match to {
        DType::F32 => dequantize_rows(w.desc.dtype, w.bytes, bytemuck::cast_slice_mut(out), cols),
        _ => {
            let mut tmp = vec![0f32; w.desc.elems()];
            dequantize_rows(w.desc.dtype, w.bytes, &mut tmp, cols)?;
            write_floats(&tmp, to, out);
            Ok(())
        }
    }
}

fn get_rows(table: &View, ids: &View, out: &mut [f32]) -> Result<()> {
    let (rows, cols) = (table.desc.shape[0], table.desc.shape[1]);
    let row_bytes = table.desc.dtype.bytes_for(cols).unwrap_or(0);
    let ids: &[i32] = bytemuck::cast_slice(ids.bytes);
    if let Some(bad) = ids.iter().find(|&&id| id < 0 || id as usize >= rows) {
        return Err(Error::Input(format!("get_rows: id {bad} is outside the table's {rows} rows")));
    }
    if cols == 0 {
        return Ok(());
    }
    out.par_chunks_mut(cols).zip(ids.par_iter()).try_for_each(|(dst, &id)| {
        let start = id as usize * row_bytes;
        quant::dequantize_row(table.desc.dtype, &table.bytes[start..start + row_bytes], dst)
    })?;
    Ok(())
}

/// Writes f32 values as f32/f16/bf16 bytes.
fn write_floats(src: &[f32], to: DType, out: &mut [u8]) {
    match to {
        DType::F16 => {
            let o: &mut [f16] = bytemuck::cast_slice_mut(out);
            o.par_iter_mut().zip(src.par_iter()).for_each(|(o, v)| *o = f16::from_f32(*v));
        }
        DType::BF16 => {
            let o: &mut [bf16] = bytemuck::cast_slice_mut(out);
            o.par_iter_mut().zip(src.par_iter()).for_each(|(o, v)| *o = bf16::from_f32(*v));
        }
        _ => bytemuck::cast_slice_mut::<u8, f32>(out).copy_from_slice(src),
    }
}

fn cast_into(x: &View, to: DType, out: &mut [u8]) -> Result<()> {
    let from = x.desc.dtype;
    if from == to {
        out.copy_from_slice(x.bytes);
        return Ok(());
    }
    let values: Vec<f32> = match from {
        DType::I32 => bytemuck::cast_slice::<u8, i32>(x.bytes).iter().map(|&v| v as f32).collect(),
        DType::F32 => x.f32().to_vec(),
        _ => {
            let mut v = vec![0f32; x.desc.elems()];
            dequantize_rows(from, x.bytes, &mut v, x.desc.last_dim())?;
            v
        }
    };
    match to {
        DType::I32 => {
            let o: &mut [i32] = bytemuck::cast_slice_mut(out);
            for (o, v) in o.iter_mut().zip(&values) {
                *o = *v as i32;
            }
        }
        q if q.is_quantized() => {
            let cols = x.desc.last_dim();
            let row_bytes = q.bytes_for(cols).unwrap_or(0);
            if cols > 0 {
                out.par_chunks_mut(row_bytes)
                    .zip(values.par_chunks(cols))
                    .try_for_each(|(o, v)| quant::quantize_row(q, v, o))?;
            }
        }
        _ => write_floats(&values, to, out),
    }
    Ok(())
}

/// Copies `x` into `out` with axes permuted. Trailing axes that stay in place are copied as whole
/// contiguous runs, so the common head-split permutes (`[0, 2, 1, 3]`) move rows, not elements.
fn permute_into(x: &View, perm: &[usize], out_desc: &TensorDesc, out: &mut [u8]) {
    let es = x.desc.dtype.block_bytes();
    let shape = &x.desc.shape;
    // Nothing to copy; the strides of an empty tensor's other axes may not fit a usize.
    if shape.contains(&0) {
        return;
    }
    let mut in_strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let kept = perm.iter().enumerate().rev().take_while(|&(i, &p)| i == p).count();
    let outer = perm.len() - kept;
    let run = shape[outer..].iter().product::<usize>() * es;
    let strides: Vec<usize> = perm[..outer].iter().map(|&p| in_strides[p] * es).collect();
    let oshape = &out_desc.shape[..outer];
    let mut idx = vec![0usize; outer];
    if run == 0 {
        return;
    }
    for dst in out.chunks_exact_mut(run) {
        let src: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        dst.copy_from_slice(&x.bytes[src..src + run]);
        for d in (0..outer).rev() {
            idx[d] += 1;
            if idx[d] < oshape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

fn kv_write(cache: &TensorDesc, out: &mut [u8], new: &View, pos: usize) -> Result<()> {
    let [b, h, cap, d] = [cache.shape[0], cache.shape[1], cache.shape[2], cache.shape[3]];
    let s = new.desc.shape[2];
    if pos.checked_add(s).is_none_or(|end| end > cap) {
        return Err(Error::Input(format!("kv_write at position {pos}: {s} rows do not fit the cache capacity {cap}")));
    }
    let src = new.f32();
    for bh in 0..b * h {
        let rows = &src[bh * s * d..(bh + 1) * s * d];
        let dst_start = (bh * cap + pos) * d;
        match cache.dtype {
            DType::F16 => {
                let o: &mut [f16] = bytemuck::cast_slice_mut(out);
                for (o, v) in o[dst_start..dst_start + s * d].iter_mut().zip(rows) {
                    *o = f16::from_f32(*v);
                }
            }
            _ => bytemuck::cast_slice_mut::<u8, f32>(out)[dst_start..dst_start + s * d].copy_from_slice(rows),
        }
    }
    Ok(())
}
