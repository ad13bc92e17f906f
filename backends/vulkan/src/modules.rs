//! The SPIR-V module table written by the build script from `edgehal_shaders::modules()`.

use edgehal_shaders::{BindingKind, Variant};
use std::borrow::Cow;

/// SPIR-V bytes aligned to 4 so they can be read as words without a copy.
#[repr(C)]
pub(crate) struct Spirv<B: ?Sized> {
    pub(crate) _align: [u32; 0],
    pub(crate) bytes: B,
}

/// One compute entry point of a module, with its own SPIR-V (declaring only the globals it
/// uses, so its workgroup memory is counted alone against the device's limit).
pub(crate) struct EntryPoint {
    /// The entry point's name.
    pub name: &'static str,
    /// Its workgroup size.
    pub workgroup_size: [u32; 3],
    /// SPIR-V, little-endian words.
    pub spirv: &'static Spirv<[u8]>,
}

/// One shader module as the backend loads it.
pub(crate) struct ModuleEntry {
    /// `edgehal_shaders` module name, e.g. `elementwise.base`.
    pub name: &'static str,
    /// The optional capability it needs.
    pub variant: Variant,
    /// Group-0 bindings in binding order (0 = the uniform params).
    pub bindings: &'static [(u32, BindingKind)],
    /// Compute entry points.
    pub entries: &'static [EntryPoint],
    /// SPIR-V capabilities (`OpCapability` operands) its entry points declare.
    pub capabilities: &'static [u32],
    /// SPIR-V extensions (`OpExtension`) its entry points declare.
    pub extensions: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/modules.rs"));

impl EntryPoint {
    /// The entry point's SPIR-V words.
    pub fn words(&self) -> Cow<'static, [u32]> {
        let bytes = &self.spirv.bytes;
        if cfg!(target_endian = "little")
            && let Ok(words) = bytemuck::try_cast_slice::<u8, u32>(bytes)
        {
            return Cow::Borrowed(words);
        }
        Cow::Owned(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

impl ModuleEntry {
    /// The entry point called `entry`, if the module has it.
    pub fn entry(&self, entry: &str) -> Option<&'static EntryPoint> {
        self.entries.iter().find(|e| e.name == entry)
    }

    /// Number of storage-buffer bindings (bindings 1..).
    pub fn storage_bindings(&self) -> usize {
        self.bindings.iter().filter(|(_, k)| *k != BindingKind::Uniform).count()
    }
}

/// The module called `name`.
pub(crate) fn module(name: &str) -> Option<&'static ModuleEntry> {
    MODULES.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_module_is_in_the_table() {
        for spec in edgehal_shaders::modules() {
            let m = module(&spec.name).expect("module translated at build time");
            assert_eq!(m.variant, spec.variant);
            assert_eq!(m.bindings, spec.bindings().as_slice());
            assert!(!m.entries.is_empty(), "{}: no compute entry point", m.name);
            for e in m.entries {
                assert_eq!(e.words()[0], 0x0723_0203, "{}::{}: SPIR-V magic", m.name, e.name);
            }
        }
    }
}
