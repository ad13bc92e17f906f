//! The capability table: what a device offers, filled from wgpu's adapter features and limits or
//! from Vulkan's device properties, and read by the lowering to pick kernel variants and to refuse
//! what exceeds the device's limits.

use edgehal_shaders::Variant;

/// What a GPU offers the kernels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caps {
    /// f16 arithmetic in shaders.
    pub f16: bool,
    /// Subgroup arithmetic (add/max) and shuffles in compute shaders.
    pub subgroups: bool,
    /// Smallest and largest subgroup size the device may use.
    pub subgroup_size: (u32, u32),
    /// `dot4I8Packed` runs natively (not emulated with shifts).
    pub dot4: bool,
    /// Largest storage-buffer binding, in bytes.
    pub max_storage_binding: u64,
    /// Largest buffer, in bytes.
    pub max_buffer: u64,
    /// Workgroup memory per workgroup, in bytes.
    pub max_workgroup_storage: u32,
    /// Invocations per workgroup.
    pub max_invocations: u32,
    /// Workgroups per dispatch dimension.
    pub max_workgroups_per_dim: u32,
    /// Alignment of uniform-buffer binding offsets, in bytes.
    pub uniform_offset_alignment: u32,
}

impl Caps {
    /// Whether the device can run modules of `variant`.
    pub fn has(&self, variant: Variant) -> bool {
        match variant {
            Variant::Base => true,
            Variant::F16 => self.f16,
            Variant::Subgroup => self.subgroups,
            Variant::Dot4 => self.dot4,
        }
    }

    /// The first of `preferred` the device can run, else [`Variant::Base`].
    pub fn pick(&self, preferred: &[Variant]) -> Variant {
        preferred.iter().copied().find(|&v| self.has(v)).unwrap_or(Variant::Base)
    }

    /// The flags as feature names (for `edgehal devices`).
    pub fn feature_names(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.f16 {
            f.push("shader-f16".to_string());
        }
        if self.subgroups {
            f.push(format!("subgroups({}..{})", self.subgroup_size.0, self.subgroup_size.1));
        }
        if self.dot4 {
            f.push("dot4-i8-packed".to_string());
        }
        f.push(format!("max-storage-binding={}", self.max_storage_binding));
        f.push(format!("max-workgroup-storage={}", self.max_workgroup_storage));
        f.push(format!("max-invocations={}", self.max_invocations));
        f
    }

    /// A baseline table with none of the optional features and WebGPU's default limits (for tests
    /// and for forcing the base kernels).
    pub fn baseline() -> Self {
        Caps {
            f16: false,
            subgroups: false,
            subgroup_size: (4, 128),
            dot4: false,
            max_storage_binding: 128 << 20,
            max_buffer: 256 << 20,
            max_workgroup_storage: 16384,
            max_invocations: 256,
            max_workgroups_per_dim: 65535,
            uniform_offset_alignment: 256,
        }
    }

    /// The table without the int8 dot-product kernels, so matmuls keep activations in f32
    /// (`f32_activations` in the backends' options, `EDGEHAL_F32_ACTIVATIONS=1`).
    pub fn f32_activations(&self) -> Self {
        Caps { dot4: false, ..self.clone() }
    }

    /// The table with the optional features switched off (`EDGEHAL_GPU_BASE_ONLY=1` in backends).
    pub fn base_only(&self) -> Self {
        Caps { f16: false, subgroups: false, dot4: false, ..self.clone() }
    }
}
