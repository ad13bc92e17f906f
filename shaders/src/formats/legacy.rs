//! The legacy quant formats' WGSL parts: 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
//! Their encoders use the consts and helpers of the decoder they are always glued after.

use super::Format;

/// The formats of this group that have a GPU decoder.
pub(crate) fn formats() -> Vec<Format> {
    macro_rules! format {
        ($name:literal) => {
            Format {
                name: $name,
                decode: include_str!(concat!("../../formats/", $name, ".wgsl")),
                encode: Some(include_str!(concat!("../../formats/", $name, "_encode.wgsl"))),
            }
        };
    }
    vec![format!("q4_0"), format!("q4_1"), format!("q5_0"), format!("q5_1"), format!("q8_0")]
}
