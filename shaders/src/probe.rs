//! The peak probes' modules: FMA rate (f32; f16 where the device has it) and copy bandwidth.

use crate::{ModuleSpec, Variant};

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![
        ModuleSpec::new("probe", None, Variant::Base, vec![include_str!("../probe.wgsl")]),
        ModuleSpec::new("probe", None, Variant::F16, vec![include_str!("../probe_f16.wgsl")]),
    ]
}
