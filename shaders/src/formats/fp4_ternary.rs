//! NVFP4 and the ternary formats TQ1_0 and TQ2_0. NVFP4's decoder is glued after the shared
//! `codebook4.wgsl` (its E2M1 table is a 4-bit code book, as MXFP4's) and has no encoder (casts to
//! it stay on the CPU); the ternary formats share `ternary.wgsl` (scale, decode to f32 and i8)
//! and `ternary_encode.wgsl` (rounding, amax, scale), and their encoders use `W_BLOCK` and
//! `W_BLOCK_BYTES` from the decoder they are glued after.

use super::Format;

/// The formats of this group that have a GPU decoder.
pub(crate) fn formats() -> Vec<Format> {
    vec![
        Format {
            name: "nvfp4",
            decode: concat!(include_str!("../../formats/codebook4.wgsl"), include_str!("../../formats/nvfp4.wgsl")),
            encode: None,
        },
        Format {
            name: "tq1_0",
            decode: concat!(include_str!("../../formats/ternary.wgsl"), include_str!("../../formats/tq1_0.wgsl")),
            encode: Some(concat!(
                include_str!("../../formats/ternary_encode.wgsl"),
                include_str!("../../formats/tq1_0_encode.wgsl")
            )),
        },
        Format {
            name: "tq2_0",
            decode: concat!(include_str!("../../formats/ternary.wgsl"), include_str!("../../formats/tq2_0.wgsl")),
            encode: Some(concat!(
                include_str!("../../formats/ternary_encode.wgsl"),
                include_str!("../../formats/tq2_0_encode.wgsl")
            )),
        },
    ]
}
