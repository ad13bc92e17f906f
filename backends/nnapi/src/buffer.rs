//! Tensors in host memory: NNAPI executions read inputs from and write outputs to host pointers
//! (`setInput`/`setOutput`), so a buffer is aligned host bytes.

use crate::error::backend_error;
use edgehal::{AlignedBytes, DeviceBuffer, Error, Result, Tensor, TensorDesc};
use std::any::Any;

/// One tensor's bytes, owned by the NNAPI backend.
pub struct NnapiBuffer {
    pub(crate) desc: TensorDesc,
    pub(crate) data: AlignedBytes,
}

impl NnapiBuffer {
    /// A zeroed buffer for `desc`, or a typed out-of-memory error.
    pub fn new(desc: &TensorDesc) -> Result<Self> {
        let len = desc.byte_len("buffer")?;
        let data = AlignedBytes::try_zeroed(len)
            .ok_or(Error::OutOfMemory { backend: crate::error::BACKEND.into(), bytes: len as u64 })?;
        Ok(NnapiBuffer { desc: desc.clone(), data })
    }
}

impl DeviceBuffer for NnapiBuffer {
    fn desc(&self) -> &TensorDesc {
        &self.desc
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn foreign(b: &dyn DeviceBuffer) -> Error {
    backend_error(format!("a {} {:?} buffer belongs to another backend", b.desc().dtype, b.desc().shape))
}

fn mismatch(b: &TensorDesc, want: &TensorDesc) -> Error {
    backend_error(format!(
        "a {} {:?} buffer is bound where the model takes {} {:?}",
        b.dtype, b.shape, want.dtype, want.shape
    ))
}

/// Downcasts a buffer of this backend holding a tensor of `want`.
pub(crate) fn nnapi_buffer<'a>(b: &'a dyn DeviceBuffer, want: &TensorDesc) -> Result<&'a NnapiBuffer> {
    let buf: &NnapiBuffer = b.as_any().downcast_ref().ok_or_else(|| foreign(b))?;
    if buf.desc != *want {
        return Err(mismatch(&buf.desc, want));
    }
    Ok(buf)
}

/// Downcasts a mutable buffer of this backend holding a tensor of `want`.
pub(crate) fn nnapi_buffer_mut<'a>(b: &'a mut dyn DeviceBuffer, want: &TensorDesc) -> Result<&'a mut NnapiBuffer> {
    if !b.as_any().is::<NnapiBuffer>() {
        return Err(foreign(b));
    }
    let buf: &mut NnapiBuffer = b.as_any_mut().downcast_mut().ok_or_else(|| backend_error("downcast failed"))?;
    if buf.desc != *want {
        return Err(mismatch(&buf.desc, want));
    }
    Ok(buf)
}

/// Copies a host tensor into a buffer of the same dtype and shape.
pub(crate) fn upload(dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
    let want = src.desc().clone();
    let dst = nnapi_buffer_mut(dst, &want)
        .map_err(|e| Error::Input(format!("upload of {} {:?}: {e}", src.dtype(), src.shape())))?;
    dst.data.as_mut_slice().copy_from_slice(src.bytes());
    Ok(())
}

/// Copies a buffer back to the host.
pub(crate) fn download(src: &dyn DeviceBuffer) -> Result<Tensor> {
    let src = nnapi_buffer(src, src.desc())?;
    Tensor::from_bytes(src.desc.dtype, src.desc.shape.clone(), src.data.as_slice())
}
