//! QNN tensors cross the API as client buffers in host memory: a device buffer is host bytes.

use edgehal::{DeviceBuffer, Error, Result, Tensor, TensorDesc};
use std::any::Any;

/// A tensor in host memory, handed to `graphExecute` as a client buffer.
pub struct QnnBuffer {
    pub(crate) desc: TensorDesc,
    pub(crate) bytes: Vec<u8>,
}

impl QnnBuffer {
    /// A buffer for `desc`, filled with NaN bytes (0xff) so a read of never-written memory shows.
    pub(crate) fn new(backend: &str, desc: &TensorDesc) -> Result<QnnBuffer> {
        let len = desc.byte_len("qnn buffer")?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(len).map_err(|_| Error::OutOfMemory { backend: backend.into(), bytes: len as u64 })?;
        bytes.resize(len, 0xff);
        Ok(QnnBuffer { desc: desc.clone(), bytes })
    }
}

impl DeviceBuffer for QnnBuffer {
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

fn foreign(backend: &str, b: &dyn DeviceBuffer) -> Error {
    Error::Backend {
        backend: backend.into(),
        why: format!("buffer of {:?} belongs to another backend", b.desc().shape),
    }
}

/// Downcasts a buffer that must belong to a QNN backend.
pub(crate) fn qnn_buffer<'a>(backend: &str, b: &'a dyn DeviceBuffer) -> Result<&'a QnnBuffer> {
    b.as_any().downcast_ref().ok_or_else(|| foreign(backend, b))
}

/// Downcasts a mutable buffer that must belong to a QNN backend.
pub(crate) fn qnn_buffer_mut<'a>(backend: &str, b: &'a mut dyn DeviceBuffer) -> Result<&'a mut QnnBuffer> {
    if b.as_any().is::<QnnBuffer>() {
        Ok(b.as_any_mut().downcast_mut().expect("checked above"))
    } else {
        Err(foreign(backend, b))
    }
}

/// Copies a host tensor into a buffer of the same dtype and shape.
pub(crate) fn upload(backend: &str, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
    let dst = qnn_buffer_mut(backend, dst)?;
    if dst.desc != *src.desc() {
        return Err(Error::Input(format!(
            "upload of {} {:?} into a {} {:?} buffer",
            src.dtype(),
            src.shape(),
            dst.desc.dtype,
            dst.desc.shape
        )));
    }
    dst.bytes.copy_from_slice(src.bytes());
    Ok(())
}

/// Copies a buffer back to the host.
pub(crate) fn download(backend: &str, src: &dyn DeviceBuffer) -> Result<Tensor> {
    let src = qnn_buffer(backend, src)?;
    Tensor::from_bytes(src.desc.dtype, src.desc.shape.clone(), &src.bytes)
}
