//! The logical device and what every compiled partition shares: the queue, the memory allocator,
//! the pipelines, the capability table. Dropped last (buffers and executables hold an `Arc`).

use crate::error::{Check, backend_error};
use crate::instance::Instance;
use crate::memory::RawBuffer;
use crate::physical::Physical;
use crate::pipelines::Pipelines;
use crate::{VulkanOptions, modules::MODULES};
use ash::vk;
use edgehal_gpu::Caps;
use edgehal_gpu::health::{DeviceHealth, INJECTED};
use edgehal_shaders::Variant;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};
use std::collections::BTreeSet;
use std::mem::ManuallyDrop;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};

/// The queue and the one-shot command buffer used for transfers, guarded together.
pub(crate) struct Queue {
    /// The queue (submissions must be externally synchronised, hence the mutex around this).
    pub raw: vk::Queue,
    pool: vk::CommandPool,
    /// Command buffer for uploads, downloads and fills.
    pub cmd: vk::CommandBuffer,
    /// Fence for `cmd`.
    pub fence: vk::Fence,
    /// Host-visible staging buffer for uploads (grown on demand up to the chunk size).
    pub upload: Option<RawBuffer>,
    /// Host-cached staging buffer for downloads.
    pub download: Option<RawBuffer>,
}

/// What the device was created with.
#[derive(Clone, Debug, Default)]
pub(crate) struct Enabled {
    /// Subgroup size control with `computeFullSubgroups` is on.
    pub full_subgroups: bool,
    /// Push descriptors are used.
    pub push_descriptors: bool,
    /// Pipeline creation feedback (cache hits) is available.
    pub creation_feedback: bool,
    /// Device-local memory is mapped directly (no staging).
    pub unified_memory: bool,
    /// Device extensions enabled.
    pub extensions: Vec<String>,
}

/// A logical device and its shared state.
pub(crate) struct Context {
    /// The physical device's facts.
    pub physical: Physical,
    /// The logical device.
    pub device: ash::Device,
    /// VK_KHR_push_descriptor's functions, when used.
    pub push: Option<ash::khr::push_descriptor::Device>,
    /// Capability table handed to the lowering.
    pub caps: Caps,
    /// What was enabled.
    pub enabled: Enabled,
    /// Queue, transfer command buffer and staging buffers.
    queue: ManuallyDrop<Mutex<Queue>>,
    /// The memory allocator (dropped before the device).
    pub allocator: ManuallyDrop<Mutex<Allocator>>,
    /// Pipelines, their layouts and the pipeline cache.
    pub pipelines: ManuallyDrop<Pipelines>,
    /// Source of unique buffer ids (never reused, unlike handles).
    pub next_id: AtomicU64,
    /// Lost or not (sticky), and the device-lost test hook.
    pub health: DeviceHealth,
    /// The instance (dropped after the device, in field order after `Drop::drop` ran).
    pub instance: Instance,
}

impl Context {
    /// Creates the logical device on `physical` with exactly the features the usable shader
    /// variants need.
    pub fn new(instance: Instance, physical: Physical, options: &VulkanOptions) -> edgehal::Result<Context> {
        let mut caps = caps_of(&physical);
        if options.base_only {
            caps = caps.base_only();
        }
        if options.f32_activations {
            caps = caps.f32_activations();
        }
        let used: BTreeSet<u32> = MODULES
            .iter()
            .filter(|m| caps.has(m.variant) && physical.can_load(m).is_ok())
            .flat_map(|m| m.capabilities.iter().copied())
            .collect();
        let uses = |c: u32| used.contains(&c);
        let (family, _) = physical.queue.ok_or_else(|| backend_error("no compute queue"))?;
        let mut extensions: Vec<&'static std::ffi::CStr> = Vec::new();
        // Robust buffer access: kernels validated under wgpu (which enables it) may read past a
        // buffer's end in their last workgroup.
        let core = vk::PhysicalDeviceFeatures::default()
            .robust_buffer_access(physical.core.robust_buffer_access == vk::TRUE)
            .shader_int16(uses(22))
            .shader_int64(uses(11))
            .shader_float64(uses(10));
        let mut storage16 = vk::PhysicalDevice16BitStorageFeatures::default()
            .storage_buffer16_bit_access(uses(4433))
            .uniform_and_storage_buffer16_bit_access(uses(4434));
        let mut f16 =
            vk::PhysicalDeviceShaderFloat16Int8Features::default().shader_float16(uses(9)).shader_int8(uses(39));
        let full_subgroups = caps.subgroups && physical.subgroups.full_subgroups;
        let mut size_control = vk::PhysicalDeviceSubgroupSizeControlFeatures::default()
            .subgroup_size_control(full_subgroups)
            .compute_full_subgroups(full_subgroups);
        let int_dot = (6016..=6019).any(uses);
        let mut dot = vk::PhysicalDeviceShaderIntegerDotProductFeatures::default().shader_integer_dot_product(int_dot);
        let priorities = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default().queue_family_index(family).queue_priorities(&priorities)];
        let mut info = vk::DeviceCreateInfo::default().queue_create_infos(&queues).enabled_features(&core);
        info = info.push_next(&mut storage16);
        if uses(9) || uses(39) {
            extensions.extend(physical.ext_for(vk::API_VERSION_1_2, ash::khr::shader_float16_int8::NAME));
            info = info.push_next(&mut f16);
        }
        if full_subgroups {
            extensions.extend(physical.ext_for(vk::API_VERSION_1_3, ash::ext::subgroup_size_control::NAME));
            info = info.push_next(&mut size_control);
        }
        if int_dot {
            extensions.extend(physical.ext_for(vk::API_VERSION_1_3, ash::khr::shader_integer_dot_product::NAME));
            info = info.push_next(&mut dot);
        }
        let push_descriptors = options.push_descriptors && physical.push_descriptors.is_some();
        if push_descriptors {
            extensions.push(ash::khr::push_descriptor::NAME);
        }
        let creation_feedback = physical.has(vk::API_VERSION_1_3, ash::ext::pipeline_creation_feedback::NAME);
        if creation_feedback {
            extensions.extend(physical.ext_for(vk::API_VERSION_1_3, ash::ext::pipeline_creation_feedback::NAME));
        }
        // The spec requires enabling it wherever it is advertised (MoltenVK).
        if physical.has_ext(c"VK_KHR_portability_subset") {
            extensions.push(c"VK_KHR_portability_subset");
        }
        let ext_ptrs: Vec<_> = extensions.iter().map(|e| e.as_ptr()).collect();
        info = info.enabled_extension_names(&ext_ptrs);
        // SAFETY: every chained struct is supported (checked when the device was probed) and
        // outlives the call.
        let device = unsafe { instance.raw.create_device(physical.raw, &info, None) }.check("vkCreateDevice")?;
        let enabled = Enabled {
            full_subgroups,
            push_descriptors,
            creation_feedback,
            unified_memory: options.unified_memory && physical.unified_memory(),
            extensions: extensions.iter().map(|e| e.to_string_lossy().into_owned()).collect(),
        };
        let push = push_descriptors.then(|| ash::khr::push_descriptor::Device::new(&instance.raw, &device));
        // From here on, a failure must destroy the device: build the rest in a closure.
        let rest = || -> edgehal::Result<(Queue, Allocator, Pipelines)> {
            let allocator = Allocator::new(&AllocatorCreateDesc {
                instance: instance.raw.clone(),
                device: device.clone(),
                physical_device: physical.raw,
                debug_settings: Default::default(),
                buffer_device_address: false,
                allocation_sizes: Default::default(),
            })
            .map_err(|e| backend_error(format!("memory allocator: {e}")))?;
            let queue = Queue::new(&device, family)?;
            let pipelines = Pipelines::new(&device, &physical, options.pipeline_cache.as_deref())?;
            Ok((queue, allocator, pipelines))
        };
        let (queue, allocator, pipelines) = match rest() {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: nothing was created on the device that outlives this point.
                unsafe { device.destroy_device(None) };
                return Err(e);
            }
        };
        Ok(Context {
            physical,
            device,
            push,
            caps,
            enabled,
            queue: ManuallyDrop::new(Mutex::new(queue)),
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            pipelines: ManuallyDrop::new(pipelines),
            next_id: AtomicU64::new(1),
            health: DeviceHealth::new(crate::error::BACKEND),
            instance,
        })
    }

    /// The queue state (locks it).
    pub fn queue(&self) -> edgehal::Result<MutexGuard<'_, Queue>> {
        self.queue.lock().map_err(|_| backend_error("queue lock poisoned by an earlier panic"))
    }

    /// The allocator (locks it).
    pub fn allocator(&self) -> edgehal::Result<MutexGuard<'_, Allocator>> {
        self.allocator.lock().map_err(|_| backend_error("allocator lock poisoned by an earlier panic"))
    }

    /// Submits `cmd` on the queue, signals `fence`, waits for it and resets it. On a lost device
    /// (now or earlier, or injected by [`DeviceHealth::inject_loss`]) it is `Error::DeviceLost`
    /// and nothing is submitted any more.
    pub fn submit_and_wait(&self, queue: vk::Queue, cmd: vk::CommandBuffer, fence: vk::Fence) -> edgehal::Result<()> {
        self.health.check("vkQueueSubmit")?;
        let cmds = [cmd];
        let submit = [vk::SubmitInfo::default().command_buffers(&cmds)];
        let lost = |what: &str, r: vk::Result| match r {
            vk::Result::ERROR_DEVICE_LOST => self.lost(what, "VK_ERROR_DEVICE_LOST"),
            other => crate::error::vk_error(what, other),
        };
        // SAFETY: the caller holds the queue lock (it passes the queue out of the guard) and `cmd`
        // is fully recorded; the fence is unsignalled.
        unsafe {
            self.device.queue_submit(queue, &submit, fence).map_err(|r| lost("vkQueueSubmit", r))?;
            self.device.wait_for_fences(&[fence], true, u64::MAX).map_err(|r| lost("vkWaitForFences", r))?;
            self.device.reset_fences(&[fence]).map_err(|r| lost("vkResetFences", r))?;
        }
        // The injected loss comes after a real, completed submission, so every Vulkan object is
        // left in a valid state (idle command buffer, unsignalled fence) for the drops that follow.
        if self.health.take_injected() {
            return Err(self.lost("vkWaitForFences", INJECTED));
        }
        Ok(())
    }

    /// Records the device as lost (sticky) and returns the typed error for `what`.
    pub fn lost(&self, what: &str, why: &str) -> edgehal::Error {
        tracing::error!("vulkan: device lost during {what}: {why}");
        self.health.mark_lost(what, why)
    }
}

impl Queue {
    fn new(device: &ash::Device, family: u32) -> edgehal::Result<Queue> {
        // SAFETY: the family was created with one queue; objects are destroyed in `destroy`.
        unsafe {
            let raw = device.get_device_queue(family, 0);
            let pool = device
                .create_command_pool(
                    &vk::CommandPoolCreateInfo::default()
                        .queue_family_index(family)
                        .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                    None,
                )
                .check("vkCreateCommandPool")?;
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .level(vk::CommandBufferLevel::PRIMARY)
                .command_buffer_count(1);
            let cmd = match device.allocate_command_buffers(&alloc).check("vkAllocateCommandBuffers") {
                Ok(c) => c[0],
                Err(e) => {
                    device.destroy_command_pool(pool, None);
                    return Err(e);
                }
            };
            let fence = match device.create_fence(&vk::FenceCreateInfo::default(), None).check("vkCreateFence") {
                Ok(f) => f,
                Err(e) => {
                    device.destroy_command_pool(pool, None);
                    return Err(e);
                }
            };
            Ok(Queue { raw, pool, cmd, fence, upload: None, download: None })
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every buffer and executable holding an `Arc<Context>` is gone, so nothing else
        // uses the device; objects are destroyed children first.
        unsafe {
            if let Err(e) = self.device.device_wait_idle() {
                tracing::warn!("vkDeviceWaitIdle at shutdown: {e}");
            }
            let pipelines = ManuallyDrop::take(&mut self.pipelines);
            pipelines.destroy(&self.device, &self.physical, !self.health.is_lost());
            let queue = ManuallyDrop::take(&mut self.queue).into_inner().unwrap_or_else(|p| p.into_inner());
            let mut allocator = ManuallyDrop::take(&mut self.allocator).into_inner().unwrap_or_else(|p| p.into_inner());
            for b in [queue.upload, queue.download].into_iter().flatten() {
                b.destroy(&self.device, &mut allocator);
            }
            self.device.destroy_fence(queue.fence, None);
            self.device.destroy_command_pool(queue.pool, None);
            drop(allocator);
            self.device.destroy_device(None);
        }
    }
}

/// The capability table of a device: a variant counts only where every one of its modules loads.
pub(crate) fn caps_of(p: &Physical) -> Caps {
    let l = &p.limits;
    let dot4_any = std::env::var("EDGEHAL_VULKAN_DOT4").is_ok_and(|v| v == "1");
    Caps {
        f16: p.float16 && p.storage16.0 && p.variant_loads(Variant::F16),
        subgroups: p.subgroups_usable() && p.variant_loads(Variant::Subgroup),
        subgroup_size: p.subgroups.range,
        dot4: p.int_dot.0 && (p.int_dot.1 || dot4_any) && p.variant_loads(Variant::Dot4),
        max_storage_binding: l.max_storage_buffer_range as u64,
        max_buffer: p.max_allocation.min(p.memory_bytes().max(1)),
        max_workgroup_storage: l.max_compute_shared_memory_size,
        max_invocations: l.max_compute_work_group_invocations,
        max_workgroups_per_dim: l.max_compute_work_group_count.iter().copied().min().unwrap_or(65535),
        uniform_offset_alignment: l.min_uniform_buffer_offset_alignment.max(4) as u32,
    }
}
