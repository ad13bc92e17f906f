//! The attention family's modules: attention (flash prefill, split-KV decode and the merge of the
//! splits) and the KV-cache write.

use crate::{ModuleSpec, Variant};

const ATTENTION: &str = include_str!("../attention.wgsl");
const KV_CACHE: &str = include_str!("../kv_cache.wgsl");

/// Every module of the family.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    vec![
        ModuleSpec::new("attention", None, Variant::Base, vec![ATTENTION]),
        ModuleSpec::new("kv_cache", None, Variant::Base, vec![KV_CACHE]),
    ]
}
