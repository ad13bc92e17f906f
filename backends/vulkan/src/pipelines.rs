//! Shader modules, layouts and compute pipelines, created lazily per (module, entry point) and
//! kept for the device's lifetime, with a `VkPipelineCache` persisted to disk.

use crate::context::Context;
use crate::error::{BACKEND, Check, backend_error};
use crate::modules::{EntryPoint, ModuleEntry, module};
use crate::physical::Physical;
use crate::pipeline_cache;
use ash::vk;
use edgehal::Error;
use edgehal_shaders::{BindingKind, Variant};
use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A module's descriptor set layout and pipeline layout (one set, bindings as declared).
#[derive(Copy, Clone)]
struct Layout {
    set_layout: vk::DescriptorSetLayout,
    pipeline_layout: vk::PipelineLayout,
    push: bool,
}

/// A ready pipeline and what recording needs to bind it.
#[derive(Copy, Clone)]
pub(crate) struct Resolved {
    /// The compute pipeline.
    pub pipeline: vk::Pipeline,
    /// Its layout.
    pub layout: vk::PipelineLayout,
    /// The set layout (for allocating sets when push descriptors are not used).
    pub set_layout: vk::DescriptorSetLayout,
    /// Whether descriptors are pushed (VK_KHR_push_descriptor) rather than allocated.
    pub push: bool,
    /// The module.
    pub module: &'static ModuleEntry,
}

#[derive(Default)]
struct State {
    layouts: HashMap<&'static str, Layout>,
    pipelines: HashMap<(&'static str, String), vk::Pipeline>,
    created: usize,
    cache_hits: usize,
}

/// Every pipeline of the device.
pub(crate) struct Pipelines {
    cache: vk::PipelineCache,
    file: Option<PathBuf>,
    loaded_bytes: usize,
    ignored: Option<String>,
    state: Mutex<State>,
}

/// Counters of the pipeline cache, for tests and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineCacheStats {
    /// The file the cache is loaded from and saved to (none: kept in memory only).
    pub file: Option<PathBuf>,
    /// Bytes of cache data accepted from the file at start-up (0: missing or ignored).
    pub loaded_bytes: usize,
    /// Why the file was ignored at start-up (unreadable, corrupt, truncated, written for another
    /// device or driver, refused by the driver); `None` when it was loaded or absent. The same
    /// reason is logged as a warning; the file is replaced by a valid one at shutdown.
    pub ignored: Option<String>,
    /// Pipelines created so far.
    pub pipelines_created: usize,
    /// Of those, how many the driver reported as served from the cache
    /// (VK_EXT_pipeline_creation_feedback; 0 where the driver does not say).
    pub cache_hits: usize,
}

impl Pipelines {
    /// An empty set with the cache loaded from `file` (or the default path; `Some("")` = none).
    pub fn new(device: &ash::Device, physical: &Physical, file: Option<&Path>) -> edgehal::Result<Pipelines> {
        let file = match file {
            Some(f) if f.as_os_str().is_empty() => None,
            Some(f) => Some(f.to_path_buf()),
            None => pipeline_cache::default_path(physical),
        };
        let (mut data, mut ignored) = file.as_deref().map(|f| pipeline_cache::load(f, physical)).unwrap_or_default();
        let info = vk::PipelineCacheCreateInfo::default().initial_data(&data);
        // SAFETY: `data` passed the header checks against this device (or is empty).
        let cache = match unsafe { device.create_pipeline_cache(&info, None) } {
            Ok(c) => c,
            Err(e) if !data.is_empty() => {
                tracing::warn!("the driver refused the pipeline cache file ({e}); starting empty");
                ignored = Some(format!("refused by the driver: {e}"));
                data.clear();
                let empty = vk::PipelineCacheCreateInfo::default();
                // SAFETY: as above, with no initial data.
                unsafe { device.create_pipeline_cache(&empty, None) }.check("vkCreatePipelineCache")?
            }
            Err(e) => return Err(crate::error::vk_error("vkCreatePipelineCache", e)),
        };
        Ok(Pipelines { cache, file, loaded_bytes: data.len(), ignored, state: Mutex::default() })
    }

    /// The cache counters.
    pub fn stats(&self) -> PipelineCacheStats {
        let (created, hits) = self.state.lock().map(|s| (s.created, s.cache_hits)).unwrap_or_default();
        PipelineCacheStats {
            file: self.file.clone(),
            loaded_bytes: self.loaded_bytes,
            ignored: self.ignored.clone(),
            pipelines_created: created,
            cache_hits: hits,
        }
    }

    /// Writes the cache to its file (when new pipelines were created and `save` is set: not after
    /// the device was lost, when the driver's data cannot be trusted) and destroys everything.
    pub fn destroy(self, device: &ash::Device, physical: &Physical, save: bool) {
        let state = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the device is idle; nothing references these objects any more.
        unsafe {
            if let Some(file) = &self.file
                && state.created > 0
                && save
            {
                match device.get_pipeline_cache_data(self.cache) {
                    Ok(data) => {
                        if let Err(e) = pipeline_cache::save(file, physical, &data) {
                            tracing::warn!("saving the pipeline cache to {}: {e}", file.display());
                        }
                    }
                    Err(e) => tracing::warn!("vkGetPipelineCacheData: {e}"),
                }
            }
            for p in state.pipelines.into_values() {
                device.destroy_pipeline(p, None);
            }
            for l in state.layouts.into_values() {
                device.destroy_pipeline_layout(l.pipeline_layout, None);
                device.destroy_descriptor_set_layout(l.set_layout, None);
            }
            device.destroy_pipeline_cache(self.cache, None);
        }
    }
}

impl Context {
    /// The pipeline for `entry` of module `name`, created on first use.
    pub fn pipeline(&self, name: &str, entry: &str) -> edgehal::Result<Resolved> {
        let m = module(name).ok_or_else(|| backend_error(format!("no shader module `{name}` was built")))?;
        if let Err(why) = self.physical.can_load(m) {
            return Err(Error::Unsupported { backend: BACKEND.into(), op: name.into(), why });
        }
        let ep = m.entry(entry).ok_or_else(|| backend_error(format!("{name} has no entry point `{entry}`")))?;
        let mut state = self.pipelines.state.lock().map_err(|_| backend_error("pipeline lock poisoned"))?;
        let layout = match state.layouts.get(m.name) {
            Some(l) => *l,
            None => {
                let l = self.create_layout(m)?;
                state.layouts.insert(m.name, l);
                l
            }
        };
        let resolved = |pipeline| Resolved {
            pipeline,
            layout: layout.pipeline_layout,
            set_layout: layout.set_layout,
            push: layout.push,
            module: m,
        };
        if let Some(&p) = state.pipelines.get(&(m.name, entry.to_string())) {
            return Ok(resolved(p));
        }
        let (pipeline, hit) = self.create_pipeline(m, layout, ep)?;
        state.created += 1;
        state.cache_hits += hit as usize;
        state.pipelines.insert((m.name, entry.to_string()), pipeline);
        Ok(resolved(pipeline))
    }

    fn create_layout(&self, m: &'static ModuleEntry) -> edgehal::Result<Layout> {
        let d = &self.device;
        let push =
            self.push.is_some() && self.physical.push_descriptors.is_some_and(|max| m.bindings.len() as u32 <= max);
        let bindings: Vec<_> = m
            .bindings
            .iter()
            .map(|&(i, kind)| {
                let ty = match kind {
                    BindingKind::Uniform => vk::DescriptorType::UNIFORM_BUFFER,
                    BindingKind::StorageRead | BindingKind::StorageReadWrite => vk::DescriptorType::STORAGE_BUFFER,
                };
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i)
                    .descriptor_type(ty)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let flags = if push {
            vk::DescriptorSetLayoutCreateFlags::PUSH_DESCRIPTOR_KHR
        } else {
            vk::DescriptorSetLayoutCreateFlags::empty()
        };
        // SAFETY: valid create infos; on failure the objects created so far are destroyed.
        unsafe {
            let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings).flags(flags);
            let set_layout = d.create_descriptor_set_layout(&info, None).check("vkCreateDescriptorSetLayout")?;
            let sets = [set_layout];
            let info = vk::PipelineLayoutCreateInfo::default().set_layouts(&sets);
            let pipeline_layout = match d.create_pipeline_layout(&info, None) {
                Ok(l) => l,
                Err(e) => {
                    d.destroy_descriptor_set_layout(set_layout, None);
                    return Err(crate::error::vk_error("vkCreatePipelineLayout", e));
                }
            };
            Ok(Layout { set_layout, pipeline_layout, push })
        }
    }

    /// Creates the pipeline of entry point `ep` (through a shader module that lives only as long
    /// as the creation); also says whether the driver served it from the cache.
    fn create_pipeline(
        &self,
        m: &ModuleEntry,
        layout: Layout,
        ep: &EntryPoint,
    ) -> edgehal::Result<(vk::Pipeline, bool)> {
        let entry = ep.name;
        let wg = ep.workgroup_size;
        let name = CString::new(entry).map_err(|_| backend_error(format!("entry point name `{entry}`")))?;
        let words = ep.words();
        // SAFETY: valid SPIR-V written by naga at build time.
        let shader =
            unsafe { self.device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None) }
                .check("vkCreateShaderModule")?;
        // Subgroup kernels may assume every subgroup is full (reductions through workgroup memory
        // indexed by subgroup id); the flag needs the x size to be a multiple of the largest size.
        let max_sg = self.physical.subgroups.range.1.max(1);
        let full = m.variant == Variant::Subgroup && self.enabled.full_subgroups && wg[0].is_multiple_of(max_sg);
        let flags = if full {
            vk::PipelineShaderStageCreateFlags::REQUIRE_FULL_SUBGROUPS_EXT
        } else {
            vk::PipelineShaderStageCreateFlags::empty()
        };
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(shader)
            .name(&name)
            .flags(flags);
        let mut feedback = vk::PipelineCreationFeedback::default();
        let mut feedback_info =
            vk::PipelineCreationFeedbackCreateInfo::default().pipeline_creation_feedback(&mut feedback);
        let mut info = vk::ComputePipelineCreateInfo::default().stage(stage).layout(layout.pipeline_layout);
        if self.enabled.creation_feedback {
            info = info.push_next(&mut feedback_info);
        }
        // SAFETY: a valid create info whose objects are alive.
        let created = unsafe { self.device.create_compute_pipelines(self.pipelines.cache, &[info], None) };
        // SAFETY: a pipeline keeps what it needs of its shader module.
        unsafe { self.device.destroy_shader_module(shader, None) };
        let pipeline = created
            .map_err(|(_, e)| crate::error::vk_error(&format!("creating the pipeline {}::{entry}", m.name), e))?;
        let pipeline =
            pipeline.first().copied().ok_or_else(|| backend_error("vkCreateComputePipelines returned nothing"))?;
        let hit = feedback.flags.contains(vk::PipelineCreationFeedbackFlags::VALID)
            && feedback.flags.contains(vk::PipelineCreationFeedbackFlags::APPLICATION_PIPELINE_CACHE_HIT);
        Ok((pipeline, hit))
    }
}
