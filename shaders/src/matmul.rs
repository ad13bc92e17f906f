//! The matmul family's modules (`matmul.wgsl`), one set per weight dtype (`f32`, `f16`, `bf16` and
//! every format of [`formats::all`]):
//! - `matmul.<w>.base`: entry points `gemv` (few x rows), `tiled` (64×64 tiles) and `tiled_large`
//!   (128×128 tiles, for many x rows);
//! - `matmul.<w>.subgroup`: `gemv` reduced with subgroup operations;
//! - `matmul.f16.f16`: `tiled` for f16 x and f16 w with f16 tiles (128×128), k a multiple of 8;
//! - `matmul.<format>.dot4` (`matmul_dot4.wgsl`), for every quant format with an integer decoder
//!   ([`formats::Format::has_i8`]): `quantize_x` (x to int8 per 32 values, into a scratch buffer)
//!   then `gemv` (up to 4 rows of x) with `dot4I8Packed`.
//!
//! All have the same bindings: params, x, w, y; the dot4 modules add the scratch buffer `xq`.

use crate::quant::{FLOATS, section};
use crate::{ModuleSpec, Variant, formats};

const SOURCE: &str = include_str!("../matmul.wgsl");
const DOT4: &str = include_str!("../matmul_dot4.wgsl");

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    let common = section(SOURCE, "common");
    // Each weight dtype's parts that define `w_load8`.
    let mut weights: Vec<(&'static str, Vec<&'static str>, Option<formats::Format>)> =
        FLOATS.iter().map(|&(name, part)| (name, vec![part], None)).collect();
    for f in formats::all() {
        weights.push((f.name, vec![f.decode, section(SOURCE, "quant_w")], Some(f)));
    }
    let mut out = Vec::new();
    for (name, w, format) in weights {
        let with = |kernels: &[&str]| {
            let mut parts = w.clone();
            parts.push(common);
            parts.extend(kernels.iter().map(|k| section(SOURCE, k)));
            parts
        };
        let push = |out: &mut Vec<ModuleSpec>, spec: ModuleSpec| match &format {
            Some(f) => out.push(formats::with_code_book(spec, f)),
            None => out.push(spec),
        };
        push(&mut out, ModuleSpec::new("matmul", Some(name), Variant::Base, with(&["gemv", "tiled", "tiled_large"])));
        push(&mut out, ModuleSpec::new("matmul", Some(name), Variant::Subgroup, with(&["gemv_subgroup"])));
        if name == "f16" {
            push(&mut out, ModuleSpec::new("matmul", Some(name), Variant::F16, with(&["tiled_f16"])));
        }
    }
    for f in formats::all().into_iter().filter(|f| f.has_i8()) {
        let parts = vec![f.decode, common, section(DOT4, "gemv_dot4")];
        out.push(formats::with_code_book(ModuleSpec::new("matmul", Some(f.name), Variant::Dot4, parts), &f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quant_format_has_a_dot4_gemv() {
        let names: Vec<String> = modules().into_iter().filter(|m| m.variant == Variant::Dot4).map(|m| m.name).collect();
        for f in formats::all() {
            assert!(f.has_i8(), "{} has no integer decoder", f.name);
            assert!(names.contains(&format!("matmul.{}.dot4", f.name)), "no dot4 module for {}", f.name);
        }
        for m in modules().into_iter().filter(|m| m.variant == Variant::Dot4) {
            let src = m.source();
            assert!(src.contains("fn quantize_x(") && src.contains("fn gemv(") && src.contains("dot4I8Packed"));
        }
    }
}
