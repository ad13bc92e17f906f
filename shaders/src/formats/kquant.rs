//! The K-quant formats' WGSL parts (ggml Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: 256-element blocks, byte layouts
//! as GGUF). Each encoder part uses `W_BLOCK` and `W_BLOCK_BYTES` from its decoder part, so a module
//! that encodes includes the decoder part first. Helper names carry the format (`q4k_word`), so a
//! decoder and its encoder can share a module.

use super::Format;

/// The formats of this group that have a GPU decoder (all of them also have an encoder).
pub(crate) fn formats() -> Vec<Format> {
    vec![
        Format {
            name: "q2_k",
            decode: include_str!("../../formats/q2_k.wgsl"),
            encode: Some(include_str!("../../formats/q2_k_encode.wgsl")),
        },
        Format {
            name: "q3_k",
            decode: include_str!("../../formats/q3_k.wgsl"),
            encode: Some(include_str!("../../formats/q3_k_encode.wgsl")),
        },
        Format {
            name: "q4_k",
            decode: include_str!("../../formats/q4_k.wgsl"),
            encode: Some(include_str!("../../formats/q4_k_encode.wgsl")),
        },
        Format {
            name: "q5_k",
            decode: include_str!("../../formats/q5_k.wgsl"),
            encode: Some(include_str!("../../formats/q5_k_encode.wgsl")),
        },
        Format {
            name: "q6_k",
            decode: include_str!("../../formats/q6_k.wgsl"),
            encode: Some(include_str!("../../formats/q6_k_encode.wgsl")),
        },
    ]
}
