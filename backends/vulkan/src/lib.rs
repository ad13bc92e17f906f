//! edgehal's native Vulkan backend, for users who want the last bit of speed and control on
//! Android and Linux.
//!
//! It runs the same lowered programs as the wgpu backend (`edgehal_gpu::lower` over the WGSL
//! kernels of `edgehal-shaders`), but owns every Vulkan decision:
//!
//! - SPIR-V is written by naga at build time (`build.rs`), one module per catalog entry, with the
//!   capabilities each declares checked against the device before it is loaded;
//! - the loader is opened at run time (`ash::Entry::load`): no loader or driver is a typed
//!   `Error::Backend { why: "unavailable: ..." }`;
//! - device choice: discrete > integrated > virtual > CPU, or `EDGEHAL_VULKAN_DEVICE` (index or
//!   name substring); features enabled are exactly those the usable kernel variants declare;
//! - memory through gpu-allocator, mapped directly on unified-memory devices, staged elsewhere;
//! - descriptors pushed (VK_KHR_push_descriptor) where available, else from a pool; pipelines
//!   created lazily with a `VkPipelineCache` persisted to disk per device UUID and driver version
//!   (`EDGEHAL_VULKAN_PIPELINE_CACHE` = file path);
//! - one command buffer per compiled partition, buffer barriers only between dependent
//!   commands, re-recorded only when the bound buffers change; parameters in one uniform buffer
//!   rewritten only when the run position changes;
//! - device timestamps per node when profiling;
//! - `EDGEHAL_VULKAN_VALIDATION=1` turns on the Khronos validation layer and records its
//!   messages ([`VulkanBackend::validation_messages`]); `EDGEHAL_GPU_BASE_ONLY=1` forces the base
//!   kernels.

mod backend;
mod context;
mod error;
mod executable;
mod instance;
mod memory;
mod modules;
mod physical;
mod pipeline_cache;
mod pipelines;
mod probe;
mod record;
#[cfg(test)]
mod tests;

pub use backend::{VulkanBackend, devices};
pub use memory::VulkanBuffer;
pub use pipelines::PipelineCacheStats;
use std::path::PathBuf;

/// How to create a [`VulkanBackend`].
#[derive(Clone, Debug)]
pub struct VulkanOptions {
    /// The device: an index in the enumeration or a case-insensitive substring of its name.
    /// `None`: `EDGEHAL_VULKAN_DEVICE`, else the best device.
    pub device: Option<String>,
    /// Enable the Khronos validation layer and record its messages (also on with
    /// `EDGEHAL_VULKAN_VALIDATION=1`). It checks API usage; shader modules are not re-validated
    /// (naga validated them at build time, and the layer's spirv-val takes minutes on large kernels)
    /// unless [`validate_shaders`](Self::validate_shaders) is set too.
    pub validation: bool,
    /// With `validation`, also run every shader module through the layer's spirv-val (also on
    /// with `EDGEHAL_VULKAN_VALIDATION=full`).
    pub validate_shaders: bool,
    /// The pipeline cache file. `None`: `EDGEHAL_VULKAN_PIPELINE_CACHE`, else
    /// `<user cache dir>/edgehal/vulkan/<device UUID>-<driver version>.bin`; an empty path keeps the
    /// cache in memory only.
    pub pipeline_cache: Option<PathBuf>,
    /// Push descriptors where the device has VK_KHR_push_descriptor (else a descriptor pool).
    pub push_descriptors: bool,
    /// Map device-local memory directly on unified-memory devices (else always stage transfers).
    pub unified_memory: bool,
    /// Only the base kernel variants (also on with `EDGEHAL_GPU_BASE_ONLY=1`).
    pub base_only: bool,
    /// Keep matmul activations in f32 (no 8-bit dot4 GEMV; also on with
    /// `EDGEHAL_F32_ACTIVATIONS=1`).
    pub f32_activations: bool,
}

impl Default for VulkanOptions {
    fn default() -> Self {
        VulkanOptions {
            device: None,
            validation: false,
            validate_shaders: false,
            pipeline_cache: None,
            push_descriptors: true,
            unified_memory: true,
            base_only: false,
            f32_activations: false,
        }
    }
}

impl VulkanOptions {
    /// The validation level.
    fn validation_level(&self) -> instance::Validation {
        match (self.validation, self.validate_shaders) {
            (false, _) => instance::Validation::Off,
            (true, false) => instance::Validation::Api,
            (true, true) => instance::Validation::Full,
        }
    }

    /// The options with unset fields taken from the environment.
    fn with_env(mut self) -> Self {
        let var = |k: &str| std::env::var(k).ok();
        if self.device.is_none() {
            self.device = var("EDGEHAL_VULKAN_DEVICE").filter(|v| !v.trim().is_empty());
        }
        let validation = var("EDGEHAL_VULKAN_VALIDATION");
        self.validation |= validation.as_deref().is_some_and(|v| v == "1" || v == "full");
        self.validate_shaders |= validation.as_deref() == Some("full");
        self.base_only |= var("EDGEHAL_GPU_BASE_ONLY").is_some_and(|v| v == "1");
        self.f32_activations |= var("EDGEHAL_F32_ACTIVATIONS").is_some_and(|v| v == "1");
        if self.pipeline_cache.is_none() {
            self.pipeline_cache = std::env::var_os("EDGEHAL_VULKAN_PIPELINE_CACHE").map(PathBuf::from);
        }
        self
    }
}
