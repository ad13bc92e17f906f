//! The lattice formats' WGSL parts (ggml IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M):
//! each decoder is `lattice.wgsl` (block reads, sign and shift helpers), the format's part
//! (`lat_point` or `lat_shifted8`, and `w_scale8`) and the tail shared by its kind
//! (`lattice_signed.wgsl` or `lattice_shifted.wgsl`). These formats have no quantizer anywhere in
//! edgehal (ggml's needs an importance matrix), so no encoder.
//!
//! The decoders read their code book (256 to 2048 points) from a storage buffer
//! ([`Format::needs_code_book`]) rather than from a WGSL array: a `const` array indexed at run time
//! is copied whole into a function variable before every read in naga's SPIR-V, and a
//! `var<private>` one is initialised per invocation by lavapipe (compiling IQ1_S's 4096-word table
//! into each pipeline took minutes).

use super::Format;

/// The formats of this group (all have a GPU decoder, none an encoder).
pub(crate) fn formats() -> Vec<Format> {
    macro_rules! decoder {
        ($name:literal, $tail:literal) => {
            Format {
                name: $name,
                decode: concat!(
                    include_str!("../../formats/lattice.wgsl"),
                    include_str!(concat!("../../formats/", $name, ".wgsl")),
                    include_str!(concat!("../../formats/", $tail, ".wgsl"))
                ),
                encode: None,
            }
        };
    }
    vec![
        decoder!("iq2_xxs", "lattice_signed"),
        decoder!("iq2_xs", "lattice_signed"),
        decoder!("iq2_s", "lattice_signed"),
        decoder!("iq3_xxs", "lattice_signed"),
        decoder!("iq3_s", "lattice_signed"),
        decoder!("iq1_s", "lattice_shifted"),
        decoder!("iq1_m", "lattice_shifted"),
    ]
}
