//! Physical devices: properties, features, limits and queues, read once, and the choice of the
//! device to run on.

use crate::error::{Check, unavailable};
use crate::modules::{MODULES, ModuleEntry};
use ash::vk;
use std::ffi::CStr;

/// The subgroup operations a Subgroup-variant module may use (what WGSL's `subgroups` covers).
const SUBGROUP_OPS: vk::SubgroupFeatureFlags = vk::SubgroupFeatureFlags::from_raw(
    vk::SubgroupFeatureFlags::BASIC.as_raw()
        | vk::SubgroupFeatureFlags::VOTE.as_raw()
        | vk::SubgroupFeatureFlags::ARITHMETIC.as_raw()
        | vk::SubgroupFeatureFlags::BALLOT.as_raw()
        | vk::SubgroupFeatureFlags::SHUFFLE.as_raw()
        | vk::SubgroupFeatureFlags::SHUFFLE_RELATIVE.as_raw(),
);

/// Subgroup facts of a device.
#[derive(Clone, Debug, Default)]
pub(crate) struct Subgroups {
    /// The default subgroup size.
    pub size: u32,
    /// Operations available in compute shaders (empty when compute has none).
    pub ops: vk::SubgroupFeatureFlags,
    /// Smallest and largest size (both `size` without subgroup size control).
    pub range: (u32, u32),
    /// `computeFullSubgroups` (VK_EXT_subgroup_size_control / Vulkan 1.3).
    pub full_subgroups: bool,
}

/// Everything edgehal reads from a physical device.
#[derive(Clone)]
pub(crate) struct Physical {
    /// The handle.
    pub raw: vk::PhysicalDevice,
    /// Position in the instance's enumeration.
    pub index: usize,
    /// `deviceName`.
    pub name: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub kind: vk::PhysicalDeviceType,
    /// `apiVersion`.
    pub api_version: u32,
    /// `driverVersion`.
    pub driver_version: u32,
    /// `vendorID`, `deviceID`.
    pub ids: (u32, u32),
    /// `deviceUUID` (zeros on a Vulkan 1.0 device).
    pub device_uuid: [u8; 16],
    /// `pipelineCacheUUID`.
    pub pipeline_cache_uuid: [u8; 16],
    /// Core limits.
    pub limits: vk::PhysicalDeviceLimits,
    /// `maxMemoryAllocationSize`.
    pub max_allocation: u64,
    /// Subgroup facts.
    pub subgroups: Subgroups,
    /// `maxPushDescriptors` when VK_KHR_push_descriptor is present.
    pub push_descriptors: Option<u32>,
    /// `shaderFloat16`.
    pub float16: bool,
    /// `storageBuffer16BitAccess`, `uniformAndStorageBuffer16BitAccess`.
    pub storage16: (bool, bool),
    /// `shaderInt8`.
    pub int8: bool,
    /// Core `shaderInt16`, `shaderInt64`, `shaderFloat64`, `robustBufferAccess`.
    pub core: vk::PhysicalDeviceFeatures,
    /// `shaderIntegerDotProduct`, and whether signed 4×8-bit packed dot products are accelerated.
    pub int_dot: (bool, bool),
    /// Device extensions.
    pub extensions: Vec<String>,
    /// Memory heaps and types.
    pub memory: vk::PhysicalDeviceMemoryProperties,
    /// The compute queue family and its `timestampValidBits`.
    pub queue: Option<(u32, u32)>,
    /// Why the device cannot be used, if it cannot.
    pub unusable: Option<String>,
}

impl Physical {
    /// Reads a device's properties and features.
    pub fn probe(instance: &ash::Instance, raw: vk::PhysicalDevice, index: usize) -> edgehal::Result<Physical> {
        // SAFETY: `raw` was enumerated from `instance`; every query below only writes the structs.
        let props = unsafe { instance.get_physical_device_properties(raw) };
        let extensions: Vec<String> = unsafe { instance.enumerate_device_extension_properties(raw) }
            .check("vkEnumerateDeviceExtensionProperties")?
            .iter()
            .filter_map(|e| e.extension_name_as_c_str().ok().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let memory = unsafe { instance.get_physical_device_memory_properties(raw) };
        let families = unsafe { instance.get_physical_device_queue_family_properties(raw) };
        let name = props.device_name_as_c_str().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut p = Physical {
            raw,
            index,
            name,
            kind: props.device_type,
            api_version: props.api_version,
            driver_version: props.driver_version,
            ids: (props.vendor_id, props.device_id),
            device_uuid: [0; 16],
            pipeline_cache_uuid: props.pipeline_cache_uuid,
            limits: props.limits,
            max_allocation: u64::MAX,
            subgroups: Subgroups::default(),
            push_descriptors: None,
            float16: false,
            storage16: (false, false),
            int8: false,
            core: vk::PhysicalDeviceFeatures::default(),
            int_dot: (false, false),
            extensions,
            memory,
            queue: pick_queue(&families),
            unusable: None,
        };
        if p.api_version < vk::API_VERSION_1_1 {
            p.unusable = Some("Vulkan 1.0 device (edgehal needs 1.1 for SPIR-V 1.3)".into());
            return Ok(p);
        }
        if p.queue.is_none() {
            p.unusable = Some("no compute queue".into());
        }
        p.read_properties2(instance);
        p.read_features2(instance);
        Ok(p)
    }

    fn read_properties2(&mut self, instance: &ash::Instance) {
        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut id = vk::PhysicalDeviceIDProperties::default();
        let mut maint3 = vk::PhysicalDeviceMaintenance3Properties::default();
        let mut size_control = vk::PhysicalDeviceSubgroupSizeControlProperties::default();
        let mut push = vk::PhysicalDevicePushDescriptorPropertiesKHR::default();
        let mut dot = vk::PhysicalDeviceShaderIntegerDotProductProperties::default();
        let has_size_control = self.has(vk::API_VERSION_1_3, ash::ext::subgroup_size_control::NAME);
        let has_push = self.has_ext(ash::khr::push_descriptor::NAME);
        let has_dot = self.has(vk::API_VERSION_1_3, ash::khr::shader_integer_dot_product::NAME);
        let mut props2 =
            vk::PhysicalDeviceProperties2::default().push_next(&mut subgroup).push_next(&mut id).push_next(&mut maint3);
        if has_size_control {
            props2 = props2.push_next(&mut size_control);
        }
        if has_push {
            props2 = props2.push_next(&mut push);
        }
        if has_dot {
            props2 = props2.push_next(&mut dot);
        }
        // SAFETY: every chained struct is supported by the device's version or extensions.
        unsafe { instance.get_physical_device_properties2(self.raw, &mut props2) };
        self.device_uuid = id.device_uuid;
        self.max_allocation = maint3.max_memory_allocation_size;
        let compute = subgroup.supported_stages.contains(vk::ShaderStageFlags::COMPUTE);
        self.subgroups.size = subgroup.subgroup_size;
        self.subgroups.ops = if compute { subgroup.supported_operations } else { vk::SubgroupFeatureFlags::empty() };
        self.subgroups.range = (subgroup.subgroup_size, subgroup.subgroup_size);
        if has_size_control && size_control.min_subgroup_size > 0 {
            self.subgroups.range = (size_control.min_subgroup_size, size_control.max_subgroup_size);
        }
        self.push_descriptors = has_push.then_some(push.max_push_descriptors);
        self.int_dot.1 = has_dot && dot.integer_dot_product4x8_bit_packed_signed_accelerated == vk::TRUE;
    }

    fn read_features2(&mut self, instance: &ash::Instance) {
        let mut storage16 = vk::PhysicalDevice16BitStorageFeatures::default();
        let mut f16 = vk::PhysicalDeviceShaderFloat16Int8Features::default();
        let mut size_control = vk::PhysicalDeviceSubgroupSizeControlFeatures::default();
        let mut dot = vk::PhysicalDeviceShaderIntegerDotProductFeatures::default();
        let has_f16 = self.has(vk::API_VERSION_1_2, ash::khr::shader_float16_int8::NAME);
        let has_size_control = self.has(vk::API_VERSION_1_3, ash::ext::subgroup_size_control::NAME);
        let has_dot = self.has(vk::API_VERSION_1_3, ash::khr::shader_integer_dot_product::NAME);
        let mut features2 = vk::PhysicalDeviceFeatures2::default().push_next(&mut storage16);
        if has_f16 {
            features2 = features2.push_next(&mut f16);
        }
        if has_size_control {
            features2 = features2.push_next(&mut size_control);
        }
        if has_dot {
            features2 = features2.push_next(&mut dot);
        }
        // SAFETY: as in `read_properties2`.
        unsafe { instance.get_physical_device_features2(self.raw, &mut features2) };
        self.core = features2.features;
        self.storage16 = (
            storage16.storage_buffer16_bit_access == vk::TRUE,
            storage16.uniform_and_storage_buffer16_bit_access == vk::TRUE,
        );
        self.float16 = f16.shader_float16 == vk::TRUE;
        self.int8 = f16.shader_int8 == vk::TRUE;
        self.subgroups.full_subgroups = has_size_control
            && size_control.subgroup_size_control == vk::TRUE
            && size_control.compute_full_subgroups == vk::TRUE;
        self.int_dot.0 = dot.shader_integer_dot_product == vk::TRUE;
    }

    /// Whether the device has the extension `name`.
    pub fn has_ext(&self, name: &CStr) -> bool {
        let name = name.to_string_lossy();
        self.extensions.iter().any(|e| *e == name)
    }

    /// Whether the device has a feature that is core in `core` or comes with extension `name`.
    pub fn has(&self, core: u32, name: &CStr) -> bool {
        self.api_version >= core || self.has_ext(name)
    }

    /// The extension to enable for a feature core in `core`, if the device needs it.
    pub fn ext_for(&self, core: u32, name: &'static CStr) -> Option<&'static CStr> {
        (self.api_version < core && self.has_ext(name)).then_some(name)
    }

    /// Whether shaders may declare SPIR-V capability `cap` once its feature is enabled.
    pub fn capability(&self, cap: u32) -> bool {
        let ops = self.subgroups.ops;
        match cap {
            0 | 1 => true, // Matrix, Shader
            9 => self.float16,
            10 => self.core.shader_float64 == vk::TRUE,
            11 => self.core.shader_int64 == vk::TRUE,
            22 => self.core.shader_int16 == vk::TRUE,
            39 => self.int8,
            4433 => self.storage16.0,
            4434 => self.storage16.1,
            61 => ops.contains(vk::SubgroupFeatureFlags::BASIC),
            62 => ops.contains(vk::SubgroupFeatureFlags::VOTE),
            63 => ops.contains(vk::SubgroupFeatureFlags::ARITHMETIC),
            64 => ops.contains(vk::SubgroupFeatureFlags::BALLOT),
            65 => ops.contains(vk::SubgroupFeatureFlags::SHUFFLE),
            66 => ops.contains(vk::SubgroupFeatureFlags::SHUFFLE_RELATIVE),
            67 => ops.contains(vk::SubgroupFeatureFlags::CLUSTERED),
            68 => ops.contains(vk::SubgroupFeatureFlags::QUAD),
            6016..=6019 => self.int_dot.0,
            _ => false,
        }
    }

    /// Whether the device can load `module` (every capability and extension it declares).
    pub fn can_load(&self, module: &ModuleEntry) -> Result<(), String> {
        if let Some(c) = module.capabilities.iter().find(|&&c| !self.capability(c)) {
            return Err(format!("{}: the device lacks SPIR-V capability {c}", module.name));
        }
        for ext in module.extensions {
            let ok = match *ext {
                "SPV_KHR_integer_dot_product" => self.int_dot.0,
                "SPV_KHR_16bit_storage" => self.storage16.0,
                "SPV_KHR_storage_buffer_storage_class" => true,
                _ => false,
            };
            if !ok {
                return Err(format!("{}: the device lacks SPIR-V extension {ext}", module.name));
            }
        }
        Ok(())
    }

    /// Whether every module of `variant` loads on the device (base: always expected to).
    pub fn variant_loads(&self, variant: edgehal_shaders::Variant) -> bool {
        MODULES.iter().filter(|m| m.variant == variant).all(|m| self.can_load(m).is_ok())
    }

    /// Whether device-local memory is also host-visible and coherent on the main heap (integrated
    /// GPUs, CPUs, resizable BAR covering all of VRAM), so buffers can be mapped directly.
    pub fn unified_memory(&self) -> bool {
        let heaps = &self.memory.memory_heaps[..self.memory.memory_heap_count as usize];
        let types = &self.memory.memory_types[..self.memory.memory_type_count as usize];
        let Some(main) = (0..heaps.len())
            .filter(|&h| heaps[h].flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL))
            .max_by_key(|&h| heaps[h].size)
        else {
            return false;
        };
        let wanted = vk::MemoryPropertyFlags::DEVICE_LOCAL
            | vk::MemoryPropertyFlags::HOST_VISIBLE
            | vk::MemoryPropertyFlags::HOST_COHERENT;
        let integrated = matches!(self.kind, vk::PhysicalDeviceType::INTEGRATED_GPU | vk::PhysicalDeviceType::CPU);
        integrated && types.iter().any(|t| t.heap_index as usize == main && t.property_flags.contains(wanted))
    }

    /// Bytes of device-local memory (the largest device-local heap).
    pub fn memory_bytes(&self) -> u64 {
        let heaps = &self.memory.memory_heaps[..self.memory.memory_heap_count as usize];
        heaps.iter().filter(|h| h.flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL)).map(|h| h.size).max().unwrap_or(0)
    }

    /// Whether the chosen queue writes timestamps.
    pub fn timestamps(&self) -> bool {
        self.queue.is_some_and(|(_, bits)| bits > 0) && self.limits.timestamp_period > 0.0
    }

    /// The subgroup operations Subgroup-variant modules may rely on are all present in compute.
    pub fn subgroups_usable(&self) -> bool {
        self.subgroups.ops.contains(SUBGROUP_OPS)
    }

    /// Preference rank: discrete first, CPU last.
    fn rank(&self) -> u32 {
        match self.kind {
            vk::PhysicalDeviceType::DISCRETE_GPU => 0,
            vk::PhysicalDeviceType::INTEGRATED_GPU => 1,
            vk::PhysicalDeviceType::VIRTUAL_GPU => 2,
            vk::PhysicalDeviceType::CPU => 3,
            _ => 4,
        }
    }

    /// `major.minor.patch` of the API version.
    pub fn api_string(&self) -> String {
        let v = self.api_version;
        format!("{}.{}.{}", vk::api_version_major(v), vk::api_version_minor(v), vk::api_version_patch(v))
    }
}

/// The queue family to use: compute with timestamps first, then any compute family.
fn pick_queue(families: &[vk::QueueFamilyProperties]) -> Option<(u32, u32)> {
    let compute = |f: &&vk::QueueFamilyProperties| f.queue_flags.contains(vk::QueueFlags::COMPUTE) && f.queue_count > 0;
    let indexed = || families.iter().enumerate().filter(|(_, f)| compute(f));
    indexed()
        .find(|(_, f)| f.timestamp_valid_bits > 0)
        .or_else(|| indexed().next())
        .map(|(i, f)| (i as u32, f.timestamp_valid_bits))
}

/// Every physical device of the instance, in enumeration order.
pub(crate) fn enumerate(instance: &ash::Instance) -> edgehal::Result<Vec<Physical>> {
    // SAFETY: plain query on a live instance.
    let raw = unsafe { instance.enumerate_physical_devices() }
        .map_err(|e| unavailable(format!("vkEnumeratePhysicalDevices failed: {e}")))?;
    raw.into_iter().enumerate().map(|(i, d)| Physical::probe(instance, d, i)).collect()
}

/// The device to use: `wanted` (an index or a case-insensitive name substring) when given, else
/// the best usable kind (discrete > integrated > virtual > CPU).
pub(crate) fn choose(devices: &[Physical], wanted: Option<&str>) -> edgehal::Result<Physical> {
    let listing = || {
        devices
            .iter()
            .map(|d| format!("{}: {}{}", d.index, d.name, d.unusable.as_ref().map(|u| format!(" ({u})")).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if devices.is_empty() {
        return Err(unavailable("no Vulkan device (is a driver/ICD installed?)"));
    }
    let pick = match wanted.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => {
            let by_index = w.parse::<usize>().ok().and_then(|i| devices.get(i));
            let lower = w.to_lowercase();
            by_index
                .or_else(|| devices.iter().find(|d| d.name.to_lowercase().contains(&lower)))
                .ok_or_else(|| unavailable(format!("no Vulkan device matches `{w}`; devices: {}", listing())))?
        }
        None => devices
            .iter()
            .filter(|d| d.unusable.is_none())
            .min_by_key(|d| (d.rank(), d.index))
            .ok_or_else(|| unavailable(format!("no usable Vulkan device; devices: {}", listing())))?,
    };
    if let Some(why) = &pick.unusable {
        return Err(unavailable(format!("device {} ({}) cannot be used: {why}", pick.index, pick.name)));
    }
    Ok(pick.clone())
}
