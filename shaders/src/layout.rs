//! The layout family's modules: float casts and permute.

use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../layout.wgsl");

/// Every module of the family: `layout.base` with entry points `convert` (casts between f32, f16, bf16, i32 to
/// each other) and `permute` (2- or 4-byte elements), one invocation per output word. Pure data
/// movement, so there are no other variants.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![ModuleSpec::new("layout", None, Variant::Base, vec![SOURCE])]
}
