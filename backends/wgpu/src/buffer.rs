//! Device buffers: allocation within the device's limits, upload and download through staging.

use crate::backend_error;
use crate::context::Context;
use edgehal::{DeviceBuffer, Error, Result, Tensor, TensorDesc};
use std::any::Any;

/// A tensor in GPU memory (padded to whole 4-byte words).
pub struct WgpuBuffer {
    pub(crate) desc: TensorDesc,
    pub(crate) buffer: wgpu::Buffer,
    /// The tensor's bytes (the buffer may be up to 3 bytes longer).
    pub(crate) len: u64,
}

impl WgpuBuffer {
    pub(crate) fn new(cx: &Context, desc: &TensorDesc) -> Result<Self> {
        let len = desc.byte_len("buffer")? as u64;
        let buffer = storage_buffer(cx, len, "tensor")?;
        Ok(WgpuBuffer { desc: desc.clone(), buffer, len })
    }
}

/// A storage buffer of at least `len` bytes (rounded up to 4), checked against the device's limits.
pub(crate) fn storage_buffer(cx: &Context, len: u64, label: &str) -> Result<wgpu::Buffer> {
    let size = len.next_multiple_of(4).max(4);
    let limit = cx.caps.max_buffer.min(cx.caps.max_storage_binding);
    if size > limit {
        return Err(Error::DeviceLimit {
            backend: "wgpu".into(),
            what: format!("a {label} buffer (max storage buffer binding size)"),
            needed: size,
            limit,
        });
    }
    cx.scoped("creating a buffer", size, || {
        cx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })
}

impl DeviceBuffer for WgpuBuffer {
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

/// Downcasts a buffer that must belong to this backend.
pub(crate) fn wgpu_buffer(b: &dyn DeviceBuffer) -> Result<&WgpuBuffer> {
    b.as_any().downcast_ref().ok_or_else(|| {
        backend_error(format!("a {} {:?} buffer belongs to another backend", b.desc().dtype, b.desc().shape))
    })
}

/// Writes `bytes` at the start of `buffer` (padding the tail to a whole word).
pub(crate) fn write_padded(cx: &Context, buffer: &wgpu::Buffer, bytes: &[u8]) -> Result<()> {
    cx.scoped("uploading", bytes.len() as u64, || {
        let whole = bytes.len() / 4 * 4;
        if whole > 0 {
            cx.queue.write_buffer(buffer, 0, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            cx.queue.write_buffer(buffer, whole as u64, &tail);
        }
        cx.queue.submit([]);
    })
}

pub(crate) fn upload(cx: &Context, dst: &mut dyn DeviceBuffer, src: &Tensor) -> Result<()> {
    let dst = wgpu_buffer(dst)?;
    if dst.desc != *src.desc() {
        return Err(Error::Input(format!(
            "upload: tensor {} {:?} into a buffer of {} {:?}",
            src.dtype(),
            src.shape(),
            dst.desc.dtype,
            dst.desc.shape
        )));
    }
    write_padded(cx, &dst.buffer, src.bytes())?;
    cx.wait()
}

/// Reads the first `len` bytes of `buffer` back to the host.
pub(crate) fn read_back(cx: &Context, buffer: &wgpu::Buffer, len: u64) -> Result<Vec<u8>> {
    let size = len.next_multiple_of(4).max(4);
    let staging = cx.scoped("creating a staging buffer", size, || {
        cx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("download staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })?;
    cx.scoped("downloading", size, || {
        let mut enc = cx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("download") });
        enc.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        cx.queue.submit([enc.finish()]);
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    cx.wait()?;
    rx.recv()
        .map_err(|_| backend_error("download: the map callback never ran"))?
        .map_err(|e| backend_error(format!("download: mapping failed: {e}")))?;
    let view = staging.get_mapped_range(..).map_err(|e| backend_error(format!("download: {e}")))?;
    let out = view[..len as usize].to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}

pub(crate) fn download(cx: &Context, src: &dyn DeviceBuffer) -> Result<Tensor> {
    let src = wgpu_buffer(src)?;
    let bytes = read_back(cx, &src.buffer, src.len)?;
    Tensor::from_bytes(src.desc.dtype, src.desc.shape.clone(), &bytes)
}
