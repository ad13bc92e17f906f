//! The softmax family's modules: `softmax.base` and `softmax.subgroup`, entry point `softmax`.

use crate::norm::section;
use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../softmax.wgsl");

/// Every module of the family: one workgroup of 256 per row; the subgroup variant merges the
/// per-invocation (max, sum) states with `subgroupMax`/`subgroupAdd` (subgroups of at least 4).
pub(crate) fn modules() -> Vec<ModuleSpec> {
    [Variant::Base, Variant::Subgroup]
        .into_iter()
        .map(|v| {
            let reduce = if v == Variant::Base { "reduce.base" } else { "reduce.subgroup" };
            let parts = vec![section(SOURCE, "head"), section(SOURCE, reduce), section(SOURCE, "kernels")];
            ModuleSpec::new("softmax", None, v, parts)
        })
        .collect()
}
