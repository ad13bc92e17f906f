//! The attention family's modules: attention (flash prefill, split-KV decode and the merge of the
//! splits) and the KV-cache write.
//!
//! `attention.wgsl` ends with two sections holding the split kernel's entry point, one per
//! variant (`// ==== split: base`, `// ==== split: subgroup`); a module takes the shared part and
//! its variant's section. The flash kernel's key tile (`FC`) comes in two sizes: `attention.*`
//! fits WebGPU's default 16 KiB of workgroup memory, `attention.wide.*` takes 32 keys per tile.

use crate::{ModuleSpec, Variant};

const ATTENTION: &str = include_str!("../attention.wgsl");
const KV_CACHE: &str = include_str!("../kv_cache.wgsl");
const BASE_MARK: &str = "// ==== split: base\n";
const SUBGROUP_MARK: &str = "// ==== split: subgroup\n";

/// Flash query rows per tile and largest head dim (as in attention.wgsl).
const FLASH_ROWS: u32 = 16;
const FLASH_DIM: u32 = 128;
/// Split kernel: rows, largest head dim, keys per pass, threads per key (as in attention.wgsl).
const SPLIT_ROWS: u32 = 8;
const SPLIT_DIM: u32 = 256;
const SPLIT_KEYS: u32 = 16;
const SPLIT_LANES: u32 = 8;

/// Floats of workgroup memory the attention kernels need with `fc` keys per flash tile.
fn workgroup_floats(fc: u32) -> u32 {
    let flash = FLASH_ROWS * (FLASH_DIM + 1) + fc * (FLASH_DIM + 1) + FLASH_ROWS * fc + 4 * FLASH_ROWS;
    let split =
        SPLIT_ROWS * SPLIT_DIM + SPLIT_ROWS * SPLIT_KEYS * SPLIT_LANES + SPLIT_ROWS * SPLIT_KEYS + 4 * SPLIT_ROWS;
    flash.max(split)
}

/// The shared part of attention.wgsl and the section of `variant`'s split kernel.
fn attention_parts(variant: Variant) -> Vec<&'static str> {
    let (shared, sections) = ATTENTION.split_once(BASE_MARK).unwrap_or((ATTENTION, ""));
    let (base, subgroup) = sections.split_once(SUBGROUP_MARK).unwrap_or((sections, ""));
    match variant {
        Variant::Subgroup => vec![shared, subgroup],
        _ => vec![shared, base],
    }
}

fn attention(detail: Option<&str>, fc: u32, variant: Variant) -> ModuleSpec {
    ModuleSpec::new("attention", detail, variant, attention_parts(variant))
        .with_const("FC", format!("u32 = {fc}u"))
        .with_const("WSH", format!("u32 = {}u", workgroup_floats(fc)))
}

/// Every module of the family.
///
/// naga 30 accepts subgroup operations only without the `enable subgroups;` directive (it
/// rejects the directive as unsupported), so the subgroup modules are listed only while the
/// subgroup variant's directives leave it out.
pub(crate) fn modules() -> Vec<ModuleSpec> {
    let mut all = vec![
        attention(None, 8, Variant::Base),
        attention(Some("wide"), 32, Variant::Base),
        ModuleSpec::new("kv_cache", None, Variant::Base, vec![KV_CACHE]),
    ];
    if !Variant::Subgroup.directives().contains("enable subgroups") {
        all.push(attention(None, 8, Variant::Subgroup));
        all.push(attention(Some("wide"), 32, Variant::Subgroup));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_the_source_in_three() {
        assert!(ATTENTION.contains(BASE_MARK) && ATTENTION.contains(SUBGROUP_MARK));
        let base = attention_parts(Variant::Base).concat();
        let sub = attention_parts(Variant::Subgroup).concat();
        assert_eq!(base.matches("fn split(").count(), 1);
        assert_eq!(sub.matches("fn split(").count(), 1);
        assert!(!base.contains("subgroupShuffleXor") && sub.contains("subgroupShuffleXor"));
    }

    #[test]
    fn workgroup_memory_fits_the_limits_the_lowering_assumes() {
        // The base modules fit WebGPU's default 16 KiB; the wide ones 32 KiB.
        assert_eq!(workgroup_floats(8), 3288);
        assert_eq!(workgroup_floats(32), 6768);
        assert!(workgroup_floats(8) * 4 <= 16384 && workgroup_floats(32) * 4 <= 32768);
    }
}
