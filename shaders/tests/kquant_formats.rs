//! Every K-quant format's decoder and encoder part, glued into a small test module (bindings `w`,
//! `x` as the families declare them, entry points that decode and encode whole blocks), parses and
//! validates with naga in every variant.

#![cfg(feature = "validate")]

use edgehal_shaders::{ModuleSpec, Variant, formats};

/// Bindings and entry points around a format's parts: `decode` writes block `b`'s 256 values to
/// `y[256 b ..]`, `encode` writes block `b`'s bytes, one per word, to `y_bytes[W_BLOCK_BYTES b ..]`.
const HARNESS_HEAD: &str = "
struct Params { blocks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> y_bytes: array<u32>;
";

const HARNESS_DECODE: &str = "
@compute @workgroup_size(32)
fn decode(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x / 32u;
    let j = gid.x % 32u;
    if (b >= p.blocks) {
        return;
    }
    let v = w_decode8(b * W_BLOCK_BYTES, j);
    for (var i = 0u; i < 4u; i++) {
        y[8u * gid.x + i] = v[0][i];
        y[8u * gid.x + 4u + i] = v[1][i];
    }
}
";

const HARNESS_ENCODE: &str = "
@compute @workgroup_size(64)
fn encode(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if (b >= p.blocks) {
        return;
    }
    let bytes = w_encode(b * W_BLOCK);
    for (var i = 0u; i < W_BLOCK_BYTES; i++) {
        y_bytes[b * W_BLOCK_BYTES + i] = bytes[i];
    }
}
";

const K_QUANTS: [&str; 5] = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k"];

#[test]
fn every_k_quant_is_registered_with_an_encoder() {
    let all = formats::all();
    for name in K_QUANTS {
        let f = all.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name} is not registered"));
        assert!(f.encode.is_some(), "{name} has no encoder");
        assert!(f.decode.contains("fn w_decode8("), "{name}: no w_decode8");
    }
}

#[test]
fn k_quant_parts_validate_in_every_variant() {
    let mut failures = Vec::new();
    for f in formats::all().into_iter().filter(|f| K_QUANTS.contains(&f.name)) {
        let encode = f.encode.expect("checked by every_k_quant_is_registered_with_an_encoder");
        for variant in Variant::ALL {
            // A variant whose directive this naga does not parse (`enable subgroups;` in naga 30) is
            // the catalog's concern, not the formats'.
            let empty = ModuleSpec::new("kq_empty", None, variant, vec![HARNESS_HEAD]);
            if edgehal_shaders::validate(&empty).is_err() {
                continue;
            }
            // Decoder alone, and decoder + encoder in one module (helper names must not collide).
            let alone = ModuleSpec::new("kq_test", Some(f.name), variant, vec![HARNESS_HEAD, f.decode, HARNESS_DECODE]);
            let both = ModuleSpec::new(
                "kq_test_enc",
                Some(f.name),
                variant,
                vec![HARNESS_HEAD, f.decode, encode, HARNESS_DECODE, HARNESS_ENCODE],
            );
            for m in [alone, both] {
                if let Err(e) = edgehal_shaders::validate(&m) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
