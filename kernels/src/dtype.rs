//! Element types: plain floats, integers and the ggml/GGUF quantization block formats.

use std::fmt;

/// The element type of a tensor.
///
/// Quantized types store elements in fixed-size blocks whose byte layout is identical to
/// ggml's (and so to a GGUF file's): the same bytes go to every backend unchanged.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16 (the upper half of an f32).
    BF16,
    /// 32-bit signed integer (token ids, positions).
    I32,
    /// ggml Q4_0: 32 elements, f16 scale, 4-bit unsigned quants offset by 8.
    Q4_0,
    /// ggml Q4_1: 32 elements, f16 scale and minimum, 4-bit quants.
    Q4_1,
    /// ggml Q5_0: 32 elements, f16 scale, 5-bit quants offset by 16.
    Q5_0,
    /// ggml Q5_1: 32 elements, f16 scale and minimum, 5-bit quants.
    Q5_1,
    /// ggml Q8_0: 32 elements, f16 scale, 8-bit signed quants.
    Q8_0,
    /// ggml Q2_K: 256-element super-block of 16×16, 4-bit scales and mins.
    Q2_K,
    /// ggml Q3_K: 256-element super-block of 16×16, 6-bit scales, high-bit mask.
    Q3_K,
    /// ggml Q4_K: 256-element super-block of 8×32, 6-bit scales and mins.
    Q4_K,
    /// ggml Q5_K: 256-element super-block of 8×32, 6-bit scales and mins, high bits.
    Q5_K,
    /// ggml Q6_K: 256-element super-block of 16×16, 8-bit scales.
    Q6_K,
    /// ggml IQ4_NL: 32 elements, f16 scale, 4-bit indices into a non-linear table.
    IQ4_NL,
    /// ggml IQ4_XS: 256-element super-block of 8×32, f16 scale, 6-bit sub-block scales,
    /// 4-bit indices into IQ4_NL's table.
    IQ4_XS,
    /// ggml MXFP4 (OCP microscaling): 32 elements, E8M0 power-of-two scale, 4-bit E2M1 values.
    MXFP4,
    /// ggml NVFP4: 64 elements in four sub-blocks of 16, UE4M3 scales, 4-bit E2M1 values.
    NVFP4,
    /// ggml TQ1_0: 256 ternary elements, five base-3 digits per byte, f16 scale.
    TQ1_0,
    /// ggml TQ2_0: 256 ternary elements at 2 bits each, f16 scale.
    TQ2_0,
    /// ggml IQ2_XXS: 256 elements as points of an 8-dimensional lattice code book, 2.06 bits.
    IQ2_XXS,
    /// ggml IQ2_XS: lattice code book, 2.31 bits.
    IQ2_XS,
    /// ggml IQ2_S: lattice code book, 2.56 bits.
    IQ2_S,
    /// ggml IQ3_XXS: lattice code book of 4-element points, 3.06 bits.
    IQ3_XXS,
    /// ggml IQ3_S: lattice code book of 4-element points, 3.44 bits.
    IQ3_S,
    /// ggml IQ1_S: ternary lattice code book with a ±1/8 shift, 1.56 bits.
    IQ1_S,
    /// ggml IQ1_M: ternary lattice code book, per-16 scales, 1.75 bits.
    IQ1_M,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 27] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::I32,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q2_K,
        DType::Q3_K,
        DType::Q4_K,
        DType::Q5_K,
        DType::Q6_K,
        DType::IQ4_NL,
        DType::IQ4_XS,
        DType::MXFP4,
        DType::NVFP4,
        DType::TQ1_0,
        DType::TQ2_0,
        DType::IQ2_XXS,
        DType::IQ2_XS,
        DType::IQ2_S,
        DType::IQ3_XXS,
        DType::IQ3_S,
        DType::IQ1_S,
        DType::IQ1_M,
    ];

    /// The quantized block formats.
    pub const QUANTIZED: [DType; 23] = [
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q2_K,
        DType::Q3_K,
        DType::Q4_K,
        DType::Q5_K,
        DType::Q6_K,
        DType::IQ4_NL,
        DType::IQ4_XS,
        DType::MXFP4,
        DType::NVFP4,
        DType::TQ1_0,
        DType::TQ2_0,
        DType::IQ2_XXS,
        DType::IQ2_XS,
        DType::IQ2_S,
        DType::IQ3_XXS,
        DType::IQ3_S,
        DType::IQ1_S,
        DType::IQ1_M,
    ];

    /// Elements per block (1 for plain types).
    pub const fn block_len(self) -> usize {
        match self {
            DType::F32 | DType::F16 | DType::BF16 | DType::I32 => 1,
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 | DType::IQ4_NL | DType::MXFP4 => 32,
            DType::NVFP4 => 64,
            DType::Q2_K
            | DType::Q3_K
            | DType::Q4_K
            | DType::Q5_K
            | DType::Q6_K
            | DType::IQ4_XS
            | DType::TQ1_0
            | DType::TQ2_0
            | DType::IQ2_XXS
            | DType::IQ2_XS
            | DType::IQ2_S
            | DType::IQ3_XXS
            | DType::IQ3_S
            | DType::IQ1_S
            | DType::IQ1_M => 256,
        }
    }

    /// Bytes per block (the element size for plain types).
    pub const fn block_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Q4_0 => 18,
            DType::Q4_1 => 20,
            DType::Q5_0 => 22,
            DType::Q5_1 => 24,
            DType::Q8_0 => 34,
            DType::Q2_K => 84,
            DType::Q3_K => 110,
            DType::Q4_K => 144,
            DType::Q5_K => 176,
            DType::Q6_K => 210,
            DType::IQ4_NL => 18,
            DType::IQ4_XS => 136,
            DType::MXFP4 => 17,
            DType::NVFP4 => 36,
            DType::TQ1_0 => 54,
            DType::TQ2_0 => 66,
            DType::IQ2_XXS => 66,
            DType::IQ2_XS => 74,
            DType::IQ2_S => 82,
            DType::IQ3_XXS => 98,
            DType::IQ3_S => 110,
            DType::IQ1_S => 50,
            DType::IQ1_M => 56,
        }
    }

    /// True for the ggml block formats.
    pub const fn is_quantized(self) -> bool {
        self.block_len() > 1
    }

    /// True for f32, f16 and bf16.
    pub const fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16)
    }

    /// Bytes taken by `elems` elements, or `None` when `elems` is not a whole number of blocks
    /// or the byte count overflows `usize`.
    pub const fn bytes_for(self, elems: usize) -> Option<usize> {
        if !elems.is_multiple_of(self.block_len()) {
            return None;
        }
        (elems / self.block_len()).checked_mul(self.block_bytes())
    }

    /// Bits per element, counting block headers (e.g. 4.5 for Q4_0).
    pub fn bits_per_element(self) -> f64 {
        self.block_bytes() as f64 * 8.0 / self.block_len() as f64
    }

    /// The lower-case name used by the CLI and reports (`f32`, `q4_0`, `q4_k`, `iq4_nl`).
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I32 => "i32",
            DType::Q4_0 => "q4_0",
            DType::Q4_1 => "q4_1",
            DType::Q5_0 => "q5_0",
            DType::Q5_1 => "q5_1",
            DType::Q8_0 => "q8_0",
            DType::Q2_K => "q2_k",
            DType::Q3_K => "q3_k",
            DType::Q4_K => "q4_k",
            DType::Q5_K => "q5_k",
            DType::Q6_K => "q6_k",
            DType::IQ4_NL => "iq4_nl",
            DType::IQ4_XS => "iq4_xs",
            DType::MXFP4 => "mxfp4",
            DType::NVFP4 => "nvfp4",
            DType::TQ1_0 => "tq1_0",
            DType::TQ2_0 => "tq2_0",
            DType::IQ2_XXS => "iq2_xxs",
            DType::IQ2_XS => "iq2_xs",
            DType::IQ2_S => "iq2_s",
            DType::IQ3_XXS => "iq3_xxs",
            DType::IQ3_S => "iq3_s",
            DType::IQ1_S => "iq1_s",
            DType::IQ1_M => "iq1_m",
        }
    }

    /// Parses a name as written by [`DType::name`], case-insensitively.
    pub fn from_name(name: &str) -> Option<DType> {
        let lower = name.to_ascii_lowercase();
        DType::ALL.into_iter().find(|d| d.name() == lower)
    }

    /// The type id ggml and GGUF use for this format.
    pub const fn ggml_type_id(self) -> u32 {
        match self {
            DType::F32 => 0,
            DType::F16 => 1,
            DType::Q4_0 => 2,
            DType::Q4_1 => 3,
            DType::Q5_0 => 6,
            DType::Q5_1 => 7,
            DType::Q8_0 => 8,
            DType::Q2_K => 10,
            DType::Q3_K => 11,
            DType::Q4_K => 12,
            DType::Q5_K => 13,
            DType::Q6_K => 14,
            DType::IQ2_XXS => 16,
            DType::IQ2_XS => 17,
            DType::IQ3_XXS => 18,
            DType::IQ1_S => 19,
            DType::IQ4_NL => 20,
            DType::IQ3_S => 21,
            DType::IQ2_S => 22,
            DType::IQ4_XS => 23,
            DType::I32 => 26,
            DType::IQ1_M => 29,
            DType::TQ1_0 => 34,
            DType::TQ2_0 => 35,
            DType::MXFP4 => 39,
            DType::NVFP4 => 40,
            DType::BF16 => 30,
        }
    }

    /// The dtype for a ggml/GGUF type id, if edgehal supports it.
    pub fn from_ggml_type_id(id: u32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.ggml_type_id() == id)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()), Some(d));
            assert_eq!(DType::from_ggml_type_id(d.ggml_type_id()), Some(d));
        }
        assert_eq!(DType::from_name("Q4_K"), Some(DType::Q4_K));
        assert_eq!(DType::from_name("q4_2"), None);
    }

    #[test]
    fn block_arithmetic() {
        assert_eq!(DType::Q4_0.bytes_for(64), Some(36));
        assert_eq!(DType::Q4_K.bytes_for(512), Some(288));
        assert_eq!(DType::Q4_K.bytes_for(300), None);
        assert_eq!(DType::F16.bytes_for(3), Some(6));
        assert!((DType::Q4_0.bits_per_element() - 4.5).abs() < 1e-12);
    }
}
