//! The elementwise family's modules: activations and broadcast binary ops.

use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../elementwise.wgsl");

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![ModuleSpec::new("elementwise", None, Variant::Base, vec![SOURCE])]
}
