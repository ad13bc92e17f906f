//! The elementwise family's modules: activations and broadcast binary ops.

use crate::{ModuleSpec, Variant};

const SOURCE: &str = include_str!("../elementwise.wgsl");

/// Every module of the family: `elementwise.base` with entry points `silu`, `gelu_tanh`,
/// `gelu_erf`, `swiglu`, `add` and `mul` (one invocation per output word). Memory bound, so no
/// f16 or subgroup variant would be faster.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![ModuleSpec::new("elementwise", None, Variant::Base, vec![SOURCE])]
}
