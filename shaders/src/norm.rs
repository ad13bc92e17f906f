//! The norm family's modules: rms_norm and layer_norm (`norm.base`, `norm.subgroup`), and the
//! section splitter the families with per-variant reductions share.

use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../norm.wgsl");

/// Every module of the family: entry points `rms_norm` and `layer_norm`, one workgroup of 256 per
/// row; the subgroup variant reduces with `subgroupAdd` (it needs subgroups of at least 4).
pub(crate) fn modules() -> Vec<ModuleSpec> {
    [Variant::Base, Variant::Subgroup]
        .into_iter()
        .map(|v| {
            let reduce = if v == Variant::Base { "reduce.base" } else { "reduce.subgroup" };
            let parts = vec![section(SOURCE, "head"), section(SOURCE, reduce), section(SOURCE, "kernels")];
            ModuleSpec::new("norm", None, v, parts)
        })
        .collect()
}

/// The lines of `source` after the marker line `//! section <name>` up to the next marker (empty
/// when there is no such section, which makes the module fail validation in the tests).
///
/// A family file keeps its variant-specific pieces (a workgroup reduction with or without
/// subgroup operations) as sections, so one file serves every variant.
pub(crate) fn section(source: &'static str, name: &str) -> &'static str {
    let marker = format!("//! section {name}\n");
    let Some(start) = source.find(&marker).map(|i| i + marker.len()) else { return "" };
    let rest = &source[start..];
    let end = rest.find("//! section ").unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn sections_split_at_markers() {
        let src = "// head comment\n//! section a\nfn a() {}\n//! section b\nfn b() {}\n";
        assert_eq!(section(src, "a"), "fn a() {}\n");
        assert_eq!(section(src, "b"), "fn b() {}\n");
        assert_eq!(section(src, "c"), "");
    }
}
