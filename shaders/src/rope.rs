//! The rope family's modules.

use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../rope.wgsl");

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![ModuleSpec::new("rope", None, Variant::Base, vec![SOURCE])]
}
