//! Buffers: creation through gpu-allocator with the device's limits checked first, the
//! `DeviceBuffer` the session holds, and uploads/downloads (mapped directly on unified memory,
//! through a reused staging buffer elsewhere).

use crate::context::{Context, Queue};
use crate::error::{BACKEND, Check, backend_error, vk_error};
use ash::vk;
use edgehal::{DeviceBuffer, Error, TensorDesc};
use gpu_allocator::MemoryLocation;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme, Allocator};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Largest staging transfer in one submission.
const STAGING_CHUNK: u64 = 64 << 20;

/// Buffers at least this large get their own `VkDeviceMemory` (weights, KV caches).
const DEDICATED_FROM: u64 = 32 << 20;

/// A buffer and its memory. Destroyed explicitly by its owner (it holds no device reference).
pub(crate) struct RawBuffer {
    /// The handle.
    pub buffer: vk::Buffer,
    allocation: Option<Allocation>,
    /// Bytes (at least 4, a multiple of 4).
    pub size: u64,
    /// Unique id (handles may be reused after destruction; ids are not).
    pub id: u64,
}

/// What a buffer is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Kernel data: device-local (mapped too on unified memory).
    Storage,
    /// Uniform parameters written by the host every run: host-visible.
    Uniform,
    /// Host → device staging.
    Upload,
    /// Device → host staging.
    Download,
}

impl Context {
    /// Creates a buffer of `bytes` (rounded up to a word) for `usage`, checking the device's
    /// limits first: over `maxStorageBufferRange` or `maxMemoryAllocationSize` is
    /// `Error::DeviceLimit`, a failed allocation `Error::OutOfMemory`.
    pub fn create_buffer(&self, bytes: u64, usage: Use, name: &str) -> edgehal::Result<RawBuffer> {
        self.health.check("allocating a buffer")?;
        let size = bytes.next_multiple_of(4).max(4);
        let limits = &self.physical.limits;
        let limit = |what: &str, limit: u64| Error::DeviceLimit {
            backend: BACKEND.into(),
            what: format!("{what} for `{name}`"),
            needed: size,
            limit,
        };
        if usage == Use::Storage && size > limits.max_storage_buffer_range as u64 {
            return Err(limit("storage buffer size (maxStorageBufferRange)", limits.max_storage_buffer_range as u64));
        }
        if size > self.physical.max_allocation {
            return Err(limit("allocation size (maxMemoryAllocationSize)", self.physical.max_allocation));
        }
        let (flags, location) = match usage {
            Use::Storage => {
                let flags = vk::BufferUsageFlags::STORAGE_BUFFER
                    | vk::BufferUsageFlags::TRANSFER_SRC
                    | vk::BufferUsageFlags::TRANSFER_DST;
                (flags, if self.enabled.unified_memory { MemoryLocation::CpuToGpu } else { MemoryLocation::GpuOnly })
            }
            Use::Uniform => (vk::BufferUsageFlags::UNIFORM_BUFFER, MemoryLocation::CpuToGpu),
            Use::Upload => (vk::BufferUsageFlags::TRANSFER_SRC, MemoryLocation::CpuToGpu),
            Use::Download => (vk::BufferUsageFlags::TRANSFER_DST, MemoryLocation::GpuToCpu),
        };
        let info = vk::BufferCreateInfo::default().size(size).usage(flags).sharing_mode(vk::SharingMode::EXCLUSIVE);
        let oom = || Error::OutOfMemory { backend: BACKEND.into(), bytes: size };
        // SAFETY: a valid create info; the buffer is destroyed on every failure path below.
        let buffer = unsafe { self.device.create_buffer(&info, None) }.map_err(|e| match e {
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY => oom(),
            other => vk_error("vkCreateBuffer", other),
        })?;
        // SAFETY: `buffer` is a live buffer of this device.
        let requirements = unsafe { self.device.get_buffer_memory_requirements(buffer) };
        let scheme = if size >= DEDICATED_FROM {
            AllocationScheme::DedicatedBuffer(buffer)
        } else {
            AllocationScheme::GpuAllocatorManaged
        };
        let desc = AllocationCreateDesc { name, requirements, location, linear: true, allocation_scheme: scheme };
        let allocated = self.allocator().and_then(|mut a| {
            a.allocate(&desc).map_err(|e| match e {
                gpu_allocator::AllocationError::OutOfMemory => oom(),
                other => backend_error(format!("allocating {size} bytes for `{name}`: {other}")),
            })
        });
        let allocation = match allocated {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: unused buffer.
                unsafe { self.device.destroy_buffer(buffer, None) };
                return Err(e);
            }
        };
        // SAFETY: the allocation was made for this buffer's requirements and is not bound elsewhere.
        let bound = unsafe { self.device.bind_buffer_memory(buffer, allocation.memory(), allocation.offset()) };
        let raw =
            RawBuffer { buffer, allocation: Some(allocation), size, id: self.next_id.fetch_add(1, Ordering::Relaxed) };
        if let Err(e) = bound {
            if let Ok(mut a) = self.allocator() {
                raw.destroy(&self.device, &mut a);
            }
            return Err(vk_error("vkBindBufferMemory", e));
        }
        Ok(raw)
    }

    /// Writes `data` at the start of `dst`: a plain copy when it is mapped, else through the
    /// staging buffer in chunks.
    pub fn write(&self, dst: &RawBuffer, data: &[u8]) -> edgehal::Result<()> {
        self.health.check("uploading")?;
        check_fits(dst, data.len())?;
        if let Some(ptr) = dst.mapped() {
            // SAFETY: the mapping covers `dst.size ≥ data.len()` bytes; the device is not using the
            // buffer (every submission is waited for before the call returns).
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
            return Ok(());
        }
        let mut q = self.queue()?;
        let mut at = 0usize;
        while at < data.len() {
            let n = (data.len() - at).min(STAGING_CHUNK as usize);
            let staging = self.staging(&mut q, n as u64, Use::Upload)?;
            let src = staging.mapped().ok_or_else(|| backend_error("upload staging buffer is not mapped"))?;
            let (sb, db) = (staging.buffer, dst.buffer);
            // SAFETY: the staging buffer holds at least `n` bytes and is idle.
            unsafe { std::ptr::copy_nonoverlapping(data[at..].as_ptr(), src, n) };
            let region = vk::BufferCopy { src_offset: 0, dst_offset: at as u64, size: n as u64 };
            self.one_shot(&q, |d, cmd| unsafe { d.cmd_copy_buffer(cmd, sb, db, &[region]) })?;
            at += n;
        }
        Ok(())
    }

    /// Reads the first `out.len()` bytes of `src`.
    pub fn read(&self, src: &RawBuffer, out: &mut [u8]) -> edgehal::Result<()> {
        self.health.check("downloading")?;
        check_fits(src, out.len())?;
        if let Some(ptr) = src.mapped() {
            // SAFETY: as in `write`; the executables end with a barrier making shader writes
            // visible to the host.
            unsafe { std::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), out.len()) };
            return Ok(());
        }
        let mut q = self.queue()?;
        let mut at = 0usize;
        while at < out.len() {
            let n = (out.len() - at).min(STAGING_CHUNK as usize);
            let staging = self.staging(&mut q, n as u64, Use::Download)?;
            let (sb, db) = (src.buffer, staging.buffer);
            let ptr = staging.mapped().ok_or_else(|| backend_error("download staging buffer is not mapped"))?;
            let region = vk::BufferCopy { src_offset: at as u64, dst_offset: 0, size: n as u64 };
            self.one_shot(&q, |d, cmd| unsafe { d.cmd_copy_buffer(cmd, sb, db, &[region]) })?;
            // SAFETY: the copy finished (one_shot waited) and made the bytes host-visible.
            unsafe { std::ptr::copy_nonoverlapping(ptr, out[at..].as_mut_ptr(), n) };
            at += n;
        }
        Ok(())
    }

    /// Zero-fills `dst` on the device (or through the mapping).
    pub fn zero(&self, dst: &RawBuffer) -> edgehal::Result<()> {
        self.health.check("zero-filling")?;
        if let Some(ptr) = dst.mapped() {
            // SAFETY: the mapping covers `dst.size` bytes and the device is not using it.
            unsafe { std::ptr::write_bytes(ptr, 0, dst.size as usize) };
            return Ok(());
        }
        let q = self.queue()?;
        let b = dst.buffer;
        self.one_shot(&q, |d, cmd| unsafe { d.cmd_fill_buffer(cmd, b, 0, vk::WHOLE_SIZE, 0) })
    }

    /// The staging buffer of `usage`, at least `bytes` large.
    fn staging<'q>(&self, q: &'q mut Queue, bytes: u64, usage: Use) -> edgehal::Result<&'q RawBuffer> {
        let slot = if usage == Use::Upload { &mut q.upload } else { &mut q.download };
        if slot.as_ref().is_none_or(|b| b.size < bytes) {
            if let Some(old) = slot.take() {
                old.destroy(&self.device, &mut *self.allocator()?);
            }
            // Grow geometrically so a series of small transfers does not reallocate each time.
            let size = bytes.next_power_of_two().clamp(1 << 20, STAGING_CHUNK);
            *slot = Some(self.create_buffer(size, usage, "staging")?);
        }
        slot.as_ref().ok_or_else(|| backend_error("staging buffer missing"))
    }

    /// Records `record` into the transfer command buffer between a barrier from earlier device
    /// work and one to the host, submits it and waits.
    pub fn one_shot(&self, q: &Queue, record: impl FnOnce(&ash::Device, vk::CommandBuffer)) -> edgehal::Result<()> {
        let d = &self.device;
        let cmd = q.cmd;
        // SAFETY: the caller holds the queue lock, so the transfer command buffer is idle.
        unsafe {
            d.reset_command_buffer(cmd, vk::CommandBufferResetFlags::empty()).check("vkResetCommandBuffer")?;
            let begin = vk::CommandBufferBeginInfo::default().flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            d.begin_command_buffer(cmd, &begin).check("vkBeginCommandBuffer")?;
            global_barrier(d, cmd, vk::PipelineStageFlags::ALL_COMMANDS, vk::PipelineStageFlags::TRANSFER);
            record(d, cmd);
            let to_host = vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(vk::AccessFlags::HOST_READ);
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &[to_host],
                &[],
                &[],
            );
            d.end_command_buffer(cmd).check("vkEndCommandBuffer")?;
        }
        self.submit_and_wait(q.raw, cmd, q.fence)
    }
}

/// A barrier making every earlier write from `src` stages visible to reads and writes in `dst`.
pub(crate) fn global_barrier(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    src: vk::PipelineStageFlags,
    dst: vk::PipelineStageFlags,
) {
    let all = vk::AccessFlags::MEMORY_READ | vk::AccessFlags::MEMORY_WRITE;
    let barrier = vk::MemoryBarrier::default().src_access_mask(vk::AccessFlags::MEMORY_WRITE).dst_access_mask(all);
    // SAFETY: `cmd` is recording.
    unsafe { d.cmd_pipeline_barrier(cmd, src, dst, vk::DependencyFlags::empty(), &[barrier], &[], &[]) };
}

fn check_fits(b: &RawBuffer, len: usize) -> edgehal::Result<()> {
    if len as u64 > b.size {
        return Err(backend_error(format!("{len} bytes do not fit a buffer of {} bytes", b.size)));
    }
    Ok(())
}

impl RawBuffer {
    /// The host address of the buffer's memory when it is mapped.
    pub fn mapped(&self) -> Option<*mut u8> {
        self.allocation.as_ref().and_then(|a| a.mapped_ptr()).map(|p| p.as_ptr().cast::<u8>())
    }

    /// Destroys the buffer and frees its memory.
    pub fn destroy(mut self, device: &ash::Device, allocator: &mut Allocator) {
        // SAFETY: the owner guarantees the device no longer uses the buffer.
        unsafe { device.destroy_buffer(self.buffer, None) };
        if let Some(a) = self.allocation.take()
            && let Err(e) = allocator.free(a)
        {
            tracing::warn!("freeing a buffer's memory: {e}");
        }
    }
}

/// A tensor's memory on the device, as the session holds it.
pub struct VulkanBuffer {
    desc: TensorDesc,
    pub(crate) raw: Option<RawBuffer>,
    ctx: Arc<Context>,
}

impl VulkanBuffer {
    /// Wraps a buffer created on `ctx`.
    pub(crate) fn new(desc: TensorDesc, raw: RawBuffer, ctx: Arc<Context>) -> Self {
        VulkanBuffer { desc, raw: Some(raw), ctx }
    }

    /// The buffer (present until drop).
    pub(crate) fn raw(&self) -> edgehal::Result<&RawBuffer> {
        self.raw.as_ref().ok_or_else(|| backend_error("buffer already released"))
    }

    /// Whether it belongs to the device of `ctx`.
    pub(crate) fn is_on(&self, ctx: &Arc<Context>) -> bool {
        Arc::ptr_eq(&self.ctx, ctx)
    }
}

impl Drop for VulkanBuffer {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            match self.ctx.allocator() {
                Ok(mut a) => raw.destroy(&self.ctx.device, &mut a),
                Err(e) => tracing::warn!("leaking a buffer: {e}"),
            }
        }
    }
}

impl DeviceBuffer for VulkanBuffer {
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
