//! The matmul family's modules (`matmul.wgsl`), one set per weight dtype (`f32`, `f16`, `bf16` and
//! every format of [`formats::all`]):
//! - `matmul.<w>.base`: entry points `gemv` (few x rows) and `tiled` (64×64 tiles);
//! - `matmul.<w>.subgroup`: `gemv` reduced with subgroup operations;
//! - `matmul.f16.f16`: `tiled` for f16 x and f16 w with f16 tiles (128×128), k a multiple of 8.
//!
//! All have the same bindings: params, x, w, y.

use crate::quant::{FLOATS, section};
use crate::{ModuleSpec, Variant, formats};

const SOURCE: &str = include_str!("../matmul.wgsl");

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    let common = section(SOURCE, "common");
    // Each weight dtype's parts that define `w_load8`.
    let mut weights: Vec<(&'static str, Vec<&'static str>)> =
        FLOATS.iter().map(|&(name, part)| (name, vec![part])).collect();
    for f in formats::all() {
        weights.push((f.name, vec![f.decode, section(SOURCE, "quant_w")]));
    }
    let mut out = Vec::new();
    for (name, w) in weights {
        let with = |kernels: &[&str]| {
            let mut parts = w.clone();
            parts.push(common);
            parts.extend(kernels.iter().map(|k| section(SOURCE, k)));
            parts
        };
        out.push(ModuleSpec::new("matmul", Some(name), Variant::Base, with(&["gemv", "tiled"])));
        out.push(ModuleSpec::new("matmul", Some(name), Variant::Subgroup, with(&["gemv_subgroup"])));
        if name == "f16" {
            out.push(ModuleSpec::new("matmul", Some(name), Variant::F16, with(&["tiled_f16"])));
        }
    }
    out
}
