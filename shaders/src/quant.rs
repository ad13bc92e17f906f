//! The quant family's modules (`quant.wgsl`): per weight format, `quant.<format>.base` with entry
//! points `dequantize` and `get_rows` (and `quantize` where the format has an encoder); per plain
//! float dtype, `quant.<f32|f16|bf16>.base` with `dequantize` and `get_rows`.

use crate::{ModuleSpec, Variant, formats};

const SOURCE: &str = include_str!("../quant.wgsl");

/// The plain float weight parts (`w_elem`, `w_load8` over a `w: array<u32>`), by dtype name.
pub(crate) const FLOATS: [(&str, &str); 3] = [
    ("f32", include_str!("../formats/f32.wgsl")),
    ("f16", include_str!("../formats/f16.wgsl")),
    ("bf16", include_str!("../formats/bf16.wgsl")),
];

/// The text of `source` between the line `// @section <name>` and the next section line (or the
/// end). Family files are split this way because WGSL has no conditional compilation and every
/// entry point of a module needs the functions it calls.
pub(crate) fn section(source: &'static str, name: &str) -> &'static str {
    let marker = format!("// @section {name}\n");
    let Some(at) = source.find(&marker) else {
        panic!("edgehal-shaders: no section `{name}` in a family file (a bug in this crate)")
    };
    let body = &source[at + marker.len()..];
    match body.find("// @section ") {
        Some(end) => &body[..end],
        None => body,
    }
}

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    let common = section(SOURCE, "common");
    let mut out = Vec::new();
    for (name, part) in FLOATS {
        out.push(ModuleSpec::new("quant", Some(name), Variant::Base, vec![part, common, section(SOURCE, "floats")]));
    }
    for f in formats::all() {
        let mut parts = vec![f.decode];
        parts.extend(f.encode);
        parts.extend([common, section(SOURCE, "blocks")]);
        if f.encode.is_some() {
            parts.push(section(SOURCE, "encode"));
        }
        out.push(formats::with_code_book(ModuleSpec::new("quant", Some(f.name), Variant::Base, parts), &f));
    }
    out
}
