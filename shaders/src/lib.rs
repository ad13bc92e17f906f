//! edgehal's GPU kernels: WGSL in naga's dialect, one file per op family, and the catalog of the
//! modules built from them.
//!
//! WGSL has no `#include`, so a *module* is a list of source parts glued together: `common.wgsl`
//! (pure helpers: f16/bf16 unpacking, byte extraction), optional per-module constants, optional
//! parts such as a weight format's decoder, then the family file with the entry points. Each
//! module is compiled for exactly one [`Variant`]: a module that uses f16 arithmetic declares
//! `enable f16;` and its SPIR-V declares the Float16 capability, which a device without it refuses
//! to load even for entry points that never touch f16, so variants never share a module.
//!
//! Both GPU backends use this catalog: wgpu takes [`ModuleSpec::source`] as is, the Vulkan backend
//! gets SPIR-V that naga writes at build time ([`spirv`], feature `spirv`).
//!
//! Binding convention of every kernel: `@group(0) @binding(0)` is a uniform `Params` struct of
//! 4-byte fields (at most 64 words), bindings 1.. are storage buffers in the order the host's
//! lowering lists them. Packed data (f16, bf16, quant blocks) is bound as `array<u32>`; a kernel
//! writing 16-bit outputs writes whole words (two elements per invocation) so no two invocations
//! share a word.

mod attention;
mod elementwise;
pub mod formats;
mod layout;
mod matmul;
mod norm;
mod probe;
mod quant;
mod rope;
mod softmax;

/// The helpers every module starts with.
pub const COMMON: &str = include_str!("../common.wgsl");

/// Which optional GPU capability a module relies on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// Nothing beyond core WGSL: runs everywhere.
    Base,
    /// f16 arithmetic (`enable f16;`, wgpu `SHADER_F16`, Vulkan `shaderFloat16`).
    F16,
    /// Subgroup operations (`enable subgroups;`, wgpu `SUBGROUP`, Vulkan subgroup arithmetic).
    Subgroup,
    /// `dot4I8Packed` (native `shaderIntegerDotProduct` where the device has it).
    Dot4,
}

impl Variant {
    /// Every variant, base first.
    pub const ALL: [Variant; 4] = [Variant::Base, Variant::F16, Variant::Subgroup, Variant::Dot4];

    /// The suffix used in module names (`matmul.q4_0.f16`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Base => "base",
            Variant::F16 => "f16",
            Variant::Subgroup => "subgroup",
            Variant::Dot4 => "dot4",
        }
    }

    /// The WGSL directives a module of this variant starts with.
    pub fn directives(self) -> &'static str {
        match self {
            Variant::F16 => "enable f16;\n",
            // naga 30 refuses `enable subgroups;` (not implemented yet) and gates subgroup builtins by
            // capability instead.
            Variant::Subgroup => "",
            Variant::Base | Variant::Dot4 => "",
        }
    }
}

/// One shader module: its name, variant and the parts its source is glued from.
#[derive(Clone, Debug)]
pub struct ModuleSpec {
    /// Unique name, `<family>[.<detail>].<variant>` (for example `matmul.q4_k.base`).
    pub name: String,
    /// The capability the module needs.
    pub variant: Variant,
    /// `const` declarations placed before the parts: `(name, "type = value")`, e.g.
    /// `("W_BLOCK_BYTES", "u32 = 18u")`.
    pub consts: Vec<(&'static str, String)>,
    /// WGSL sources after `common.wgsl`, in order.
    pub parts: Vec<&'static str>,
}

impl ModuleSpec {
    /// A module of `parts` named `<family>.<variant>` (or `<family>.<detail>.<variant>`).
    pub fn new(family: &str, detail: Option<&str>, variant: Variant, parts: Vec<&'static str>) -> Self {
        let name = match detail {
            Some(d) => format!("{family}.{d}.{}", variant.name()),
            None => format!("{family}.{}", variant.name()),
        };
        ModuleSpec { name, variant, consts: Vec::new(), parts }
    }

    /// Adds a `const` declaration.
    pub fn with_const(mut self, name: &'static str, typed_value: impl Into<String>) -> Self {
        self.consts.push((name, typed_value.into()));
        self
    }

    /// The full WGSL source.
    pub fn source(&self) -> String {
        let mut s = String::from(self.variant.directives());
        s.push_str(COMMON);
        s.push('\n');
        for (name, typed_value) in &self.consts {
            s.push_str(&format!("const {name}: {typed_value};\n"));
        }
        for part in &self.parts {
            s.push_str(part);
            s.push('\n');
        }
        s
    }
}

/// What a binding of a module's group 0 is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `var<uniform>`: the `Params` struct.
    Uniform,
    /// `var<storage, read>`.
    StorageRead,
    /// `var<storage, read_write>`.
    StorageReadWrite,
}

impl ModuleSpec {
    /// The module's group-0 bindings in binding order, read from its `@group(0) @binding(N) var<...>`
    /// declarations (one per line, as every family file writes them). Every entry point of a module
    /// is dispatched with all of them bound; the backends build their layouts from this list.
    pub fn bindings(&self) -> Vec<(u32, BindingKind)> {
        let mut out = Vec::new();
        for part in &self.parts {
            for line in part.lines() {
                let line = line.trim();
                let Some(rest) = line.strip_prefix("@group(0) @binding(") else { continue };
                let Some((index, decl)) = rest.split_once(')') else { continue };
                let Ok(index) = index.trim().parse::<u32>() else { continue };
                let decl = decl.replace(' ', "");
                let kind = if decl.starts_with("var<uniform>") {
                    BindingKind::Uniform
                } else if decl.starts_with("var<storage,read_write>") {
                    BindingKind::StorageReadWrite
                } else if decl.starts_with("var<storage,read>") || decl.starts_with("var<storage>") {
                    BindingKind::StorageRead
                } else {
                    continue;
                };
                out.push((index, kind));
            }
        }
        out.sort_by_key(|b| b.0);
        out
    }
}

/// Every module of every family, every variant.
pub fn modules() -> Vec<ModuleSpec> {
    let mut all = Vec::new();
    all.extend(matmul::modules());
    all.extend(quant::modules());
    all.extend(attention::modules());
    all.extend(norm::modules());
    all.extend(rope::modules());
    all.extend(softmax::modules());
    all.extend(elementwise::modules());
    all.extend(layout::modules());
    all.extend(probe::modules());
    all
}

/// The module called `name`, if it exists.
pub fn module(name: &str) -> Option<ModuleSpec> {
    modules().into_iter().find(|m| m.name == name)
}

#[cfg(any(feature = "spirv", feature = "validate", test))]
mod naga_tools;
#[cfg(feature = "spirv")]
pub use naga_tools::spirv;
#[cfg(any(feature = "validate", test))]
pub use naga_tools::validate;
