//! The ggml tensor types a GGUF file may name: their ids, names and block sizes, including the
//! ones edgehal cannot compute with yet (so their tensors can still be listed and skipped).

/// `(id, name, elements per block, bytes per block)` for every ggml type in use. Removed types
/// (Q4_2, Q4_3, the Q4_0_4_4 family, the IQ4_NL_4_4 family) are absent: files holding them are
/// refused. Sizes as in ggml's `type_traits` (and gguf-py's `GGML_QUANT_SIZES`, except Q8_1:
/// gguf-py says 40 bytes from an older layout, ggml's block has two f16 and 32 bytes: 36).
const TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

fn entry(id: u32) -> Option<&'static (u32, &'static str, u64, u64)> {
    TYPES.iter().find(|t| t.0 == id)
}

/// ggml's upper-case name of a type id (`"Q4_1"`, `"IQ2_XXS"`), or `None` for an id ggml does not
/// define (or has removed).
pub fn ggml_type_name(id: u32) -> Option<&'static str> {
    entry(id).map(|t| t.1)
}

/// `(elements per block, bytes per block)` of a ggml type id (`(1, 4)` for F32, `(32, 20)` for
/// Q4_1), or `None` for an id ggml does not define.
pub fn ggml_block_size(id: u32) -> Option<(u64, u64)> {
    entry(id).map(|t| (t.2, t.3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    fn gguf_types_agree_with_edgehal_dtypes() {
        for d in DType::ALL {
            let id = d.ggml_type_id();
            assert_eq!(ggml_type_name(id).map(str::to_ascii_lowercase).as_deref(), Some(d.name()), "{d}");
            assert_eq!(ggml_block_size(id), Some((d.block_len() as u64, d.block_bytes() as u64)), "{d}");
        }
        assert_eq!(ggml_type_name(16), Some("IQ2_XXS"));
        assert_eq!(ggml_type_name(4), None);
        assert_eq!(ggml_block_size(1000), None);
    }
}
