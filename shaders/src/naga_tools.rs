//! Parsing, validation and SPIR-V output with naga (no device needed).

use crate::{ModuleSpec, Variant};

/// Parses and validates a module; on failure, the module's name and naga's report with the
/// offending source lines.
fn parse_and_validate(spec: &ModuleSpec) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    let source = spec.source();
    let module = naga::front::wgsl::parse_str(&source)
        .map_err(|e| format!("{}: {}", spec.name, e.emit_to_string_with_path(&source, &spec.name)))?;
    // unpack2x16float/pack2x16float are core WGSL; naga gates them behind this capability, which
    // wgpu grants on every Vulkan, Metal and DX12 adapter.
    let mut caps = Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    match spec.variant {
        Variant::Base | Variant::Dot4 => {}
        Variant::F16 => caps |= Capabilities::SHADER_FLOAT16,
        Variant::Subgroup => caps |= Capabilities::SUBGROUP,
    }
    let info = Validator::new(ValidationFlags::all(), caps)
        .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
        .subgroup_operations(naga::valid::SubgroupOperationSet::all())
        .validate(&module)
        .map_err(|e| format!("{}: {}", spec.name, e.emit_to_string_with_path(&source, &spec.name)))?;
    Ok((module, info))
}

/// Validates a module with naga, granting only the capability its variant names: a base module
/// that uses f16 or subgroups fails here.
#[cfg_attr(not(any(feature = "validate", test)), allow(dead_code))]
pub fn validate(spec: &ModuleSpec) -> Result<(), String> {
    parse_and_validate(spec).map(|_| ())
}

/// SPIR-V 1.3 for each compute entry point of a module, as `(entry point, words)`, `override`
/// constants replaced by their defaults first, 16-bit storage inputs/outputs off
/// (`use_storage_input_output_16: false`), as the Vulkan backend loads it.
///
/// One binary per entry point rather than one per module: a SPIR-V 1.3 entry point does not list
/// the workgroup variables it uses, so drivers and the validation layer count every workgroup
/// variable of the module against `maxComputeSharedMemorySize`. naga writes only the globals an
/// entry point uses when asked for that entry point, so each binary declares exactly its own.
#[cfg(feature = "spirv")]
pub fn spirv(spec: &ModuleSpec) -> Result<Vec<(String, Vec<u32>)>, String> {
    let (module, info) = parse_and_validate(spec)?;
    let (module, info) = naga::back::pipeline_constants::process_overrides(&module, &info, None, &Default::default())
        .map_err(|e| format!("{}: overrides: {e}", spec.name))?;
    let options = naga::back::spv::Options {
        lang_version: (1, 3),
        use_storage_input_output_16: false,
        flags: naga::back::spv::WriterFlags::empty(),
        // Kernels never read workgroup memory before writing it; naga's zero-fill prologue makes
        // lavapipe's LLVM take minutes on the large attention tiles (wgpu still zero-fills, so a
        // kernel that relied on it would fail conformance on Vulkan only).
        zero_initialize_workgroup_memory: naga::back::spv::ZeroInitializeWorkgroupMemoryMode::None,
        // Our own kernels: every loop is bounded by its parameters.
        force_loop_bounding: false,
        ..Default::default()
    };
    module
        .entry_points
        .iter()
        .filter(|ep| ep.stage == naga::ShaderStage::Compute)
        .map(|ep| {
            let pipeline = naga::back::spv::PipelineOptions { shader_stage: ep.stage, entry_point: ep.name.clone() };
            naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
                .map(|words| (ep.name.clone(), words))
                .map_err(|e| format!("{}::{}: SPIR-V: {e}", spec.name, ep.name))
        })
        .collect()
}
