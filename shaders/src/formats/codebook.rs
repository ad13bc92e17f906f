//! The 4-bit code-book formats' WGSL parts (IQ4_NL, IQ4_XS, MXFP4): each decoder is glued after
//! the shared `codebook4.wgsl` (table lookup from registers, sub-block nibble order). IQ4_NL also
//! has an encoder; IQ4_XS and MXFP4 are decoded only (casts to them stay on the CPU).

use super::Format;

/// The formats of this group that have a GPU decoder.
pub(crate) fn formats() -> Vec<Format> {
    macro_rules! decoder {
        ($name:literal) => {
            concat!(
                include_str!("../../formats/codebook4.wgsl"),
                include_str!(concat!("../../formats/", $name, ".wgsl"))
            )
        };
    }
    vec![
        Format {
            name: "iq4_nl",
            decode: decoder!("iq4_nl"),
            encode: Some(include_str!("../../formats/iq4_nl_encode.wgsl")),
        },
        Format { name: "iq4_xs", decode: decoder!("iq4_xs"), encode: None },
        Format { name: "mxfp4", decode: decoder!("mxfp4"), encode: None },
    ]
}
