//! `VulkanBackend`: the `edgehal::Backend` over one Vulkan device.

use crate::VulkanOptions;
use crate::context::{Context, caps_of};
use crate::error::{BACKEND, backend_error};
use crate::executable::VulkanExecutable;
use crate::instance::Instance;
use crate::memory::{Use, VulkanBuffer};
use crate::physical::{self, Physical};
use crate::pipelines::PipelineCacheStats;
use ash::vk;
use edgehal::{
    Backend, DeviceBuffer, DeviceInfo, DeviceKind, Error, Executable, Graph, NodeId, Partition, Peaks, Support, Tensor,
    TensorDesc,
};
use edgehal_gpu::Caps;
use std::sync::Arc;

/// edgehal's native Vulkan backend: the shared WGSL kernels as SPIR-V (translated at build time),
/// run through ash with its own memory, pipeline, descriptor and synchronisation handling.
pub struct VulkanBackend {
    pub(crate) ctx: Arc<Context>,
    info: DeviceInfo,
}

impl VulkanBackend {
    /// The backend on the device chosen by `EDGEHAL_VULKAN_DEVICE` (index or name substring) or
    /// the best one, with validation if `EDGEHAL_VULKAN_VALIDATION=1`. A machine without a Vulkan
    /// loader or driver gives `Error::Backend` whose message starts with "unavailable:".
    pub fn new() -> edgehal::Result<Self> {
        Self::with_options(VulkanOptions::default())
    }

    /// The backend with explicit options (unset ones fall back to the environment variables).
    pub fn with_options(options: VulkanOptions) -> edgehal::Result<Self> {
        let options = options.with_env();
        let instance = Instance::new(options.validation_level())?;
        let devices = physical::enumerate(&instance.raw)?;
        let chosen = physical::choose(&devices, options.device.as_deref())?;
        let ctx = Arc::new(Context::new(instance, chosen, &options)?);
        let info = device_info(&ctx.physical, &ctx.caps, Some(&ctx));
        tracing::info!("vulkan: {} ({} features: {:?})", info.name, info.features.len(), info.features);
        Ok(VulkanBackend { ctx, info })
    }

    /// The warnings and errors the validation layer reported so far (always empty without
    /// validation). Tests assert it is empty.
    pub fn validation_messages(&self) -> Vec<String> {
        self.ctx.instance.validation_messages()
    }

    /// The capability table the lowering sees.
    pub fn caps(&self) -> &Caps {
        &self.ctx.caps
    }

    /// Whether the device was lost: every later call on this backend (and the sessions and
    /// buffers made with it) fails with `Error::DeviceLost`; create a new backend.
    pub fn is_device_lost(&self) -> bool {
        self.ctx.health.is_lost()
    }

    /// Fault-injection test hook: the next wait for the queue (a run, or a staged transfer) reports
    /// the device lost, as `VK_ERROR_DEVICE_LOST` from `vkWaitForFences` would, and the backend
    /// stays lost from then on. The submission itself completes, so no Vulkan object is left in
    /// use. For tests of error handling only.
    #[doc(hidden)]
    pub fn inject_device_lost(&self) {
        self.ctx.health.inject_loss();
    }

    /// The pipeline cache's file and counters.
    pub fn pipeline_cache_stats(&self) -> PipelineCacheStats {
        self.ctx.pipelines.stats()
    }

    /// Whether buffers live in host-visible device-local memory written without staging.
    pub fn unified_memory(&self) -> bool {
        self.ctx.enabled.unified_memory
    }

    /// Whether descriptors are pushed (VK_KHR_push_descriptor) rather than allocated from a pool.
    pub fn push_descriptors(&self) -> bool {
        self.ctx.enabled.push_descriptors
    }

    /// The device extensions the backend enabled.
    pub fn enabled_extensions(&self) -> Vec<String> {
        self.ctx.enabled.extensions.clone()
    }

    fn buffer<'a>(&self, b: &'a dyn DeviceBuffer) -> edgehal::Result<&'a VulkanBuffer> {
        b.as_any()
            .downcast_ref::<VulkanBuffer>()
            .filter(|vb| vb.is_on(&self.ctx))
            .ok_or_else(|| backend_error("the buffer does not belong to this Vulkan device"))
    }
}

impl Backend for VulkanBackend {
    fn name(&self) -> &str {
        BACKEND
    }

    fn device(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn measure_peaks(&self) -> edgehal::Result<Peaks> {
        crate::probe::measure_peaks(&self.ctx)
    }

    fn supports(&self, graph: &Graph, node: NodeId) -> Support {
        edgehal_gpu::supports(graph, node, &self.ctx.caps)
    }

    fn compile(&self, graph: &Graph, partition: &Partition) -> edgehal::Result<Box<dyn Executable>> {
        let program = edgehal_gpu::lower(graph, partition, &self.ctx.caps, BACKEND)?;
        Ok(Box::new(VulkanExecutable::for_partition(self.ctx.clone(), graph, partition, program)?))
    }

    fn allocate(&self, desc: &TensorDesc) -> edgehal::Result<Box<dyn DeviceBuffer>> {
        let bytes = desc.byte_len("buffer")? as u64;
        let raw = self.ctx.create_buffer(bytes, Use::Storage, &format!("{} {:?}", desc.dtype, desc.shape))?;
        Ok(Box::new(VulkanBuffer::new(desc.clone(), raw, self.ctx.clone())))
    }

    fn upload(&self, dst: &mut dyn DeviceBuffer, src: &Tensor) -> edgehal::Result<()> {
        let dst = self.buffer(dst)?;
        if dst.desc() != src.desc() {
            return Err(Error::Input(format!(
                "upload of a {} {:?} tensor into a {} {:?} buffer",
                src.dtype(),
                src.shape(),
                dst.desc().dtype,
                dst.desc().shape
            )));
        }
        self.ctx.write(dst.raw()?, src.bytes())
    }

    fn download(&self, src: &dyn DeviceBuffer) -> edgehal::Result<Tensor> {
        let src = self.buffer(src)?;
        let desc = src.desc();
        let mut bytes = vec![0u8; desc.byte_len("download")?];
        self.ctx.read(src.raw()?, &mut bytes)?;
        Tensor::from_bytes(desc.dtype, desc.shape.clone(), &bytes)
    }
}

/// Every physical device the loader reports, usable or not, with its features and limits.
pub fn devices() -> edgehal::Result<Vec<DeviceInfo>> {
    let instance = Instance::new(crate::instance::Validation::Off)?;
    let all = physical::enumerate(&instance.raw)?;
    Ok(all.iter().map(|p| device_info(p, &caps_of(p), None)).collect())
}

/// A device's report: kind, memory, the capability table's features and Vulkan specifics.
fn device_info(p: &Physical, caps: &Caps, ctx: Option<&Context>) -> DeviceInfo {
    let kind = if p.kind == vk::PhysicalDeviceType::CPU { DeviceKind::Cpu } else { DeviceKind::Gpu };
    let mut features = vec![format!("vulkan-{}", p.api_string()), format!("device-index={}", p.index)];
    if let Some(why) = &p.unusable {
        features.push(format!("unusable: {why}"));
    }
    features.extend(caps.feature_names());
    features.push(format!("max-allocation={}", p.max_allocation));
    features.push(format!("max-workgroups-per-dim={}", caps.max_workgroups_per_dim));
    if p.push_descriptors.is_some() {
        features.push("push-descriptors".into());
    }
    if p.subgroups.full_subgroups {
        features.push("subgroup-size-control".into());
    }
    if p.int_dot.0 {
        features.push(format!("integer-dot-product{}", if p.int_dot.1 { "(accelerated)" } else { "" }));
    }
    if p.unified_memory() {
        features.push("unified-memory".into());
    }
    if p.core.robust_buffer_access == vk::TRUE {
        features.push("robust-buffer-access".into());
    }
    if p.timestamps() {
        features.push(format!("timestamps({} ns/tick)", p.limits.timestamp_period));
    }
    if let Some(ctx) = ctx {
        features.extend(ctx.enabled.extensions.iter().map(|e| format!("enabled:{e}")));
    }
    DeviceInfo {
        backend: BACKEND.into(),
        name: p.name.clone(),
        kind,
        memory_bytes: p.memory_bytes(),
        features,
        workers: 1,
        device_timestamps: p.timestamps(),
    }
}
