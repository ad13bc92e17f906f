//! cast, reshape, permute and copy.

use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::DType;

pub(super) fn infer_cast(x: &TensorDesc, to: DType) -> Result<TensorDesc> {
    let ok = match (x.dtype, to) {
        (a, b) if a.is_float() && b.is_float() => true,
        (DType::F32, q) if q.is_quantized() => edgehal_kernels::quant::can_quantize(q),
        (q, DType::F32) if q.is_quantized() => true,
        (DType::I32, DType::F32) | (DType::F32, DType::I32) => true,
        _ => false,
    };
    if !ok {
        return Err(Error::param("cast", "to", to, format!("cannot cast {} to {to}", x.dtype)));
    }
    let out = TensorDesc::new(to, x.shape.clone());
    out.byte_len("output")?;
    Ok(out)
}

pub(super) fn infer_reshape(x: &TensorDesc, shape: &[usize]) -> Result<TensorDesc> {
    let out = TensorDesc::new(x.dtype, shape.to_vec());
    // Checked: a product that wraps to the input's count must not pass (found by fuzzing).
    let elems =
        |s: &[usize]| if s.contains(&0) { Some(0) } else { s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) };
    if elems(shape).is_none()
        || elems(shape) != elems(&x.shape)
        || (x.dtype.is_quantized() && !out.last_dim().is_multiple_of(x.dtype.block_len()))
    {
        return Err(Error::shape(
            "reshape",
            format!("cannot reshape {} {:?} to {shape:?}: not the same number of elements", x.dtype, x.shape),
        ));
    }
    Ok(out)
}

pub(super) fn infer_permute(x: &TensorDesc, perm: &[usize]) -> Result<TensorDesc> {
    let mut seen = vec![false; x.rank()];
    let valid =
        perm.len() == x.rank() && perm.iter().all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(Error::param(
            "permute",
            "perm",
            format!("{perm:?}"),
            format!("must be a permutation of 0..{} for x {:?}", x.rank(), x.shape),
        ));
    }
    if x.dtype.is_quantized() {
        return Err(Error::dtype("permute", "x", x.dtype, "f32, f16, bf16 or i32"));
    }
    Ok(TensorDesc::new(x.dtype, perm.iter().map(|&p| x.shape[p]).collect::<Vec<_>>()))
}
