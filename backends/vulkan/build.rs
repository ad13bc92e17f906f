//! Translates every WGSL module of `edgehal-shaders` to SPIR-V with naga, one binary per entry
//! point, and writes the module table the backend loads: name, variant, bindings, entry points with
//! their workgroup sizes and SPIR-V, and the SPIR-V capabilities/extensions the module declares (checked against the device at run
//! time). A module naga cannot translate fails the build with naga's message.

use std::fmt::Write as _;
use std::path::PathBuf;

/// What the table needs to know about one SPIR-V binary.
#[derive(Default)]
struct SpirvFacts {
    /// `(entry name, [x, y, z])` of every GLCompute entry point.
    entries: Vec<(String, [u32; 3])>,
    capabilities: Vec<u32>,
    extensions: Vec<String>,
    /// `(set, binding, storage class)` of every decorated resource variable.
    resources: Vec<(u32, u32, u32)>,
}

/// A SPIR-V literal string starting at `words[0]` (nul-terminated, packed little end first).
fn literal_string(words: &[u32]) -> (String, usize) {
    let mut bytes = Vec::new();
    for (i, w) in words.iter().enumerate() {
        for b in w.to_le_bytes() {
            if b == 0 {
                return (String::from_utf8_lossy(&bytes).into_owned(), i + 1);
            }
            bytes.push(b);
        }
    }
    (String::from_utf8_lossy(&bytes).into_owned(), words.len())
}

/// Reads entry points, local sizes, capabilities and extensions from a SPIR-V binary.
fn facts(name: &str, words: &[u32]) -> Result<SpirvFacts, String> {
    const OP_EXTENSION: u32 = 10;
    const OP_ENTRY_POINT: u32 = 15;
    const OP_EXECUTION_MODE: u32 = 16;
    const OP_CAPABILITY: u32 = 17;
    const GL_COMPUTE: u32 = 5;
    const LOCAL_SIZE: u32 = 17;
    const OP_VARIABLE: u32 = 59;
    const OP_DECORATE: u32 = 71;
    const BINDING: u32 = 33;
    const DESCRIPTOR_SET: u32 = 34;
    let mut bindings: Vec<(u32, u32)> = Vec::new();
    let mut sets: Vec<(u32, u32)> = Vec::new();
    let mut classes: Vec<(u32, u32)> = Vec::new();
    if words.len() < 5 || words[0] != 0x0723_0203 {
        return Err(format!("{name}: naga wrote no SPIR-V header"));
    }
    let mut out = SpirvFacts::default();
    let mut entry_ids: Vec<(u32, String)> = Vec::new();
    let mut sizes: Vec<(u32, [u32; 3])> = Vec::new();
    let mut at = 5;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        let op = words[at] & 0xffff;
        if count == 0 || at + count > words.len() {
            return Err(format!("{name}: malformed SPIR-V instruction at word {at}"));
        }
        let args = &words[at + 1..at + count];
        match op {
            OP_CAPABILITY => out.capabilities.push(args[0]),
            OP_EXTENSION => out.extensions.push(literal_string(args).0),
            OP_ENTRY_POINT if args[0] == GL_COMPUTE => entry_ids.push((args[1], literal_string(&args[2..]).0)),
            OP_DECORATE if args.len() >= 3 && args[1] == BINDING => bindings.push((args[0], args[2])),
            OP_DECORATE if args.len() >= 3 && args[1] == DESCRIPTOR_SET => sets.push((args[0], args[2])),
            OP_VARIABLE if args.len() >= 3 => classes.push((args[1], args[2])),
            OP_EXECUTION_MODE if args[1] == LOCAL_SIZE && args.len() >= 5 => {
                sizes.push((args[0], [args[2], args[3], args[4]]))
            }
            _ => {}
        }
        at += count;
    }
    for (id, entry) in entry_ids {
        let size = sizes
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| *s)
            .ok_or_else(|| format!("{name}: entry point {entry} has no LocalSize execution mode"))?;
        out.entries.push((entry, size));
    }
    for (id, binding) in bindings {
        let set = sets.iter().find(|(i, _)| *i == id).map_or(0, |s| s.1);
        let class = classes.iter().find(|(i, _)| *i == id).map_or(u32::MAX, |c| c.1);
        out.resources.push((set, binding, class));
    }
    out.capabilities.sort_unstable();
    out.capabilities.dedup();
    Ok(out)
}

/// Every resource an entry point's SPIR-V declares must be one of the module's declared bindings,
/// of the same kind (uniform / storage buffer), in set 0: the backend builds its layouts from the
/// declarations. (An entry point may leave some of the module's bindings unused.)
fn check_interface(
    name: &str,
    resources: &[(u32, u32, u32)],
    declared: &[(u32, edgehal_shaders::BindingKind)],
) -> Result<(), String> {
    const UNIFORM: u32 = 2;
    const STORAGE_BUFFER: u32 = 12;
    for &(set, binding, class) in resources {
        let kind = declared.iter().find(|(b, _)| *b == binding).map(|(_, k)| *k);
        let ok = set == 0
            && match kind {
                Some(edgehal_shaders::BindingKind::Uniform) => class == UNIFORM,
                Some(_) => class == STORAGE_BUFFER,
                None => false,
            };
        if !ok {
            return Err(format!(
                "{name}: SPIR-V resource at set {set} binding {binding} (storage class {class}) does not match the \
                 declared bindings {declared:?}"
            ));
        }
    }
    Ok(())
}

fn main() {
    let shaders = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../shaders");
    println!("cargo:rerun-if-changed={}", shaders.display());
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from("/// Every module of `edgehal_shaders::modules()`, translated at build time.\n");
    table.push_str("pub(crate) static MODULES: &[ModuleEntry] = &[\n");
    let mut failures = Vec::new();
    for spec in edgehal_shaders::modules() {
        let binaries = match edgehal_shaders::spirv(&spec) {
            Ok(b) => b,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let mut entries = Vec::new();
        let mut capabilities = Vec::new();
        let mut extensions = Vec::new();
        for (entry, words) in binaries {
            let label = format!("{}::{entry}", spec.name);
            let facts = match facts(&label, &words) {
                Ok(f) => f,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            if let Err(e) = check_interface(&label, &facts.resources, &spec.bindings()) {
                failures.push(e);
                continue;
            }
            let Some((_, size)) = facts.entries.iter().find(|(e, _)| *e == entry) else {
                failures.push(format!("{label}: the SPIR-V has no such entry point"));
                continue;
            };
            let path = out_dir.join(format!("{}.{entry}.spv", spec.name));
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            if let Err(e) = std::fs::write(&path, bytes) {
                panic!("writing {}: {e}", path.display());
            }
            entries.push(format!(
                "EntryPoint {{ name: {entry:?}, workgroup_size: {size:?}, spirv: &Spirv {{ _align: [], bytes: \
                 *include_bytes!({:?}) }} }}",
                path.display().to_string()
            ));
            capabilities.extend(facts.capabilities);
            extensions.extend(facts.extensions);
        }
        capabilities.sort_unstable();
        capabilities.dedup();
        extensions.sort();
        extensions.dedup();
        let bindings: Vec<String> =
            spec.bindings().iter().map(|(i, k)| format!("({i}, edgehal_shaders::BindingKind::{k:?})")).collect();
        let _ = writeln!(
            table,
            "    ModuleEntry {{\n        name: {:?},\n        variant: edgehal_shaders::Variant::{:?},\n        \
             bindings: &[{}],\n        entries: &[{}],\n        capabilities: &{:?},\n        extensions: &{:?},\n    }},",
            spec.name,
            spec.variant,
            bindings.join(", "),
            entries.join(", "),
            capabilities,
            extensions,
        );
    }
    if !failures.is_empty() {
        panic!("naga could not translate {} shader module(s) to SPIR-V:\n{}", failures.len(), failures.join("\n\n"));
    }
    table.push_str("];\n");
    let dest = out_dir.join("modules.rs");
    if let Err(e) = std::fs::write(&dest, table) {
        panic!("writing {}: {e}", dest.display());
    }
}
