//! Weight formats the GPU kernels decode: one WGSL decoder part per format (`shaders/formats/`),
//! and optionally an encoder part (for casts to the format).
//!
//! Decoder interface (every `formats/<name>.wgsl`): it reads the module-scope
//! `w: array<u32>` that the including family file declares, and defines
//! ```wgsl
//! const W_BLOCK: u32;        // elements per block (32 or 256)
//! const W_BLOCK_BYTES: u32;  // bytes per block, as in GGUF
//! // Elements 8j .. 8j+7 of the block starting at byte `block_byte` of `w`, as f32.
//! fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2>;
//! ```
//! Integer decoder (optional; a format that has one gets a `matmul.<name>.dot4` module): the same
//! part also defines
//! ```wgsl
//! const W_I8_MIN: bool;  // whether w_scale8's min can be non-zero (the kernel then sums x)
//! // Elements 8j .. 8j+7 as signed 8-bit levels q, four per word (element 8j in the low byte of
//! // .x, 8j+4 in the low byte of .y), for dot4I8Packed.
//! fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32>;
//! // (scale, min) of those elements: element value = scale * q - min.
//! fn w_scale8(block_byte: u32, j: u32) -> vec2<f32>;
//! ```
//! Encoder interface (`formats/<name>_encode.wgsl`): it reads the module-scope `x: array<f32>` and
//! defines `fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES>`: the block's bytes (one byte per
//! entry) for `x[x_base .. x_base + W_BLOCK]`.

mod codebook;
mod kquant;
mod legacy;

/// One weight format's WGSL parts.
#[derive(Copy, Clone, Debug)]
pub struct Format {
    /// The dtype name as `edgehal_kernels::DType::name` spells it (`q4_0`, `q4_k`, `iq4_nl`).
    pub name: &'static str,
    /// The decoder part.
    pub decode: &'static str,
    /// The encoder part, where the GPU can quantize to this format.
    pub encode: Option<&'static str>,
}

/// Every format with a GPU decoder.
pub fn all() -> Vec<Format> {
    let mut v = legacy::formats();
    v.extend(kquant::formats());
    v.extend(codebook::formats());
    v
}

impl Format {
    /// Whether the decoder part has the integer decoder (`w_decode8_i8`, `w_scale8`, `W_I8_MIN`).
    pub fn has_i8(&self) -> bool {
        self.decode.contains("fn w_decode8_i8(")
    }
}
